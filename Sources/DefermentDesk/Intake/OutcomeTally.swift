import Foundation
import GRDB
import DefermentCore
import DefermentFiles
import DefermentStore

/// What a row's outcome is counted under.
///
/// Counted once per row, so it is hashed on the county code's bytes: `String`'s own hashing
/// normalises Unicode first, which showed up in profiles (county codes are the desk's own ASCII
/// codes).
struct OutcomeKey: Hashable {
    var county: String?
    var kind: RosterKind
    var state: ReviewState
    var reason: NotAssignedReason?

    static func == (a: OutcomeKey, b: OutcomeKey) -> Bool {
        guard a.kind == b.kind, a.state == b.state, a.reason == b.reason else { return false }
        switch (a.county, b.county) {
        case (nil, nil): return true
        case let (x?, y?): return ByteText.sameBytes(x, y)
        default: return false
        }
    }

    func hash(into hasher: inout Hasher) {
        if let county {
            ByteText(county).hash(into: &hasher)
        } else {
            hasher.combine(UInt8(0xFF))
        }
        // By case, not by the enums' Chinese raw values: a raw-value enum's own hashing hashes
        // its raw value, normalising Unicode as any String does.
        hasher.combine(kind == .application ? UInt8(0) : 1)
        switch state {
        case .notAssigned: hasher.combine(UInt8(0))
        case .pending: hasher.combine(UInt8(1))
        case .approved: hasher.combine(UInt8(2))
        case .refused: hasher.combine(UInt8(3))
        }
        switch reason {
        case nil: hasher.combine(UInt8(0))
        case .idFormat: hasher.combine(UInt8(1))
        case .birthDateMismatch: hasher.combine(UInt8(2))
        case .notInRegistry: hasher.combine(UInt8(3))
        case .fieldError(let column):   // rare: a text only for 欄位錯誤
            hasher.combine(UInt8(4))
            hasher.combine(column)
        }
    }
}

/// How many rows had one outcome, by what storing them did.
struct OutcomeCount {
    var all = 0
    var inserted = 0
    var replaced = 0
    var duplicates = 0

    static func + (a: OutcomeCount, b: OutcomeCount) -> OutcomeCount {
        OutcomeCount(all: a.all + b.all, inserted: a.inserted + b.inserted, replaced: a.replaced + b.replaced,
                     duplicates: a.duplicates + b.duplicates)
    }

    /// Adds `b` in place: a dictionary's entry is then looked up once, not once to read it and
    /// once to write it back.
    static func += (a: inout OutcomeCount, b: OutcomeCount) { a = a + b }

    /// One row, counted as inserted when it is packed: the writing thread corrects the count
    /// of a row that storing found stored already (``correction(_:)``).
    static let one = OutcomeCount(all: 1, inserted: 1)

    /// What turns ``one`` into the count of a row that storing did not insert.
    static func correction(_ write: RosterRowWrite) -> OutcomeCount? {
        switch write {
        case .inserted: return nil
        case .replaced: return OutcomeCount(inserted: -1, replaced: 1)
        case .duplicate: return OutcomeCount(inserted: -1, duplicates: 1)
        }
    }
}

/// Rows' outcomes counted by (school, upload date), fed in storing order: rows come sorted by
/// school within each chunk, so the pair's table is looked up once per run of rows.
struct OutcomeTally {
    private var pair: (school: String, date: CivilDate)?
    private var current: [OutcomeKey: OutcomeCount] = [:]
    private var byPair: [[String]: [OutcomeKey: OutcomeCount]] = [:]

    /// Adds `count` to outcome `key` of the pair (`school`, `date`).
    mutating func add(_ count: OutcomeCount, to key: OutcomeKey, school: String, date: CivilDate) {
        if let pair, pair.school == school, pair.date == date {} else {
            stash()
            pair = (school, date)
            current = byPair.removeValue(forKey: [school, date.iso]) ?? [:]
        }
        current[key, default: OutcomeCount()] += count
    }

    private mutating func stash() {
        if let pair { byPair[[pair.school, pair.date.iso], default: [:]].merge(current, uniquingKeysWith: +) }
        current = [:]
    }

    /// The counts by pair (school code, upload date as yyyy-mm-dd), with `other`'s added.
    mutating func total(adding other: OutcomeTally) -> [[String]: [OutcomeKey: OutcomeCount]] {
        stash()
        pair = nil
        var o = other
        o.stash()
        return byPair.merging(o.byPair) { $0.merging($1, uniquingKeysWith: +) }
    }
}
