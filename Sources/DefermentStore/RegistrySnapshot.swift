import Foundation
import GRDB
import GRDBSQLite
import DefermentCore

/// Where roster intake finds what the registry (役政資料) and the desk's own deferment records
/// say of a student.
public protocol RegistryLookup {
    /// The registry's record of a person, if any.
    func person(_ nationalID: String) throws -> RegistryPerson?
    /// Open deferment records the desk itself created for a person (建立之緩徵註記).
    func recordedDeferments(_ nationalID: String) throws -> [DefermentPeriod]
}

extension PersonLookup: RegistryLookup {}

/// The registry held in memory for one large roster (役政資料快照): one sequential read of the
/// `person` table instead of an indexed look-up per row.
///
/// Each person takes 16 bytes plus an 8-byte key: national IDs are packed into a `UInt64`
/// (base 37 over `0-9A-Z`), dates are days since 1970, and county, education level and service
/// status are indexes into one table of the distinct values, in a table at most 70% full
/// (``PackedIDTable``): a million people take about 50 MB. The person's name is not kept: no
/// rule reads it. Once built (read from the database, then completed with ``update(_:)`` by the
/// thread applying an extract), it is only read, so any thread may read it.
public final class RegistrySnapshot: RegistryLookup, @unchecked Sendable {
    private struct Entry {
        var birth: Int32
        var start: Int32
        var end: Int32
        var county: UInt8
        var education: UInt8
        var service: UInt8
    }

    /// `Int32.min` marks a missing date.
    private static let none = Int32.min
    private var entries = PackedIDTable<Entry>()
    /// People whose ID does not pack (never produced by registry intake, kept for safety).
    private var unpacked: [String: Entry] = [:]
    private var values: [String] = []
    private var recorded: [String: [DefermentPeriod]] = [:]

    /// Number of people held.
    public var count: Int { entries.count + unpacked.count }

    /// The distinct county, education and service values, as bytes, by their index in `values`.
    private var valueBytes: [[UInt8]] = []

    /// The index of a value in `values`, adding it when new. A handful of distinct values: found
    /// by comparing bytes, without hashing a `String`.
    private func intern(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt8 {
        for (i, v) in valueBytes.enumerated() where v.count == bytes.count {
            if bytes.isEmpty || v.withUnsafeBufferPointer({ memcmp($0.baseAddress!, bytes.baseAddress!,
                                                                   bytes.count) }) == 0 { return UInt8(i) }
        }
        // More than 255 distinct values cannot come from validated intake; share the last slot.
        guard valueBytes.count < 255 else { return 254 }
        valueBytes.append(Array(bytes))
        values.append(String(decoding: bytes, as: UTF8.self))
        return UInt8(valueBytes.count - 1)
    }

    private func intern(_ text: String) -> UInt8 {
        var text = text
        return text.withUTF8 { intern($0) }
    }

    /// Reads the whole `person` table and the open deferment records.
    public init(_ db: Database) throws {
        let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM person") ?? 0
        entries.reserve(total)
        let statement = try RawStatement(db, sql: """
            SELECT national_id, birth_date, county_code, education, service_status, deferment_start, deferment_end FROM person
            """)
        try statement.forEach { row in
            guard let birth = row.days(1) else { return }
            let entry = Entry(birth: birth, start: row.days(5) ?? Self.none, end: row.days(6) ?? Self.none,
                              county: intern(row.bytes(2)), education: intern(row.bytes(3)), service: intern(row.bytes(4)))
            let id = row.text(0) ?? ""
            if let key = Self.pack(id) { entries.set(key, entry) } else { unpacked[id] = entry }
        }
        let records = try RawStatement(db, sql: "SELECT national_id, start_date, end_date FROM deferment_record WHERE status = 'active'")
        try records.forEach { row in
            guard let id = row.text(0), let start = row.text(1).flatMap(CivilDate.parse) else { return }
            recorded[id, default: []].append(DefermentPeriod(start: start, end: row.text(2).flatMap(CivilDate.parse)))
        }
    }

    /// Makes room for `count` more people (an extract about to be applied with ``update(_:)``).
    public func reserve(_ count: Int) {
        entries.reserve(entries.count + count)
    }

    /// Records what a registry extract says of a person, as storing it in the `person` table
    /// does: it replaces everything the registry said of that person, deferment columns included.
    ///
    /// For the one thread that applies the extract, before the snapshot is shared: this is how a
    /// snapshot follows an extract applied in the same run, instead of being read back from the
    /// database for the rosters after it.
    public func update(_ p: RegistryPerson) {
        var county = p.countyCode, education = p.education, service = p.serviceStatus
        county.withUTF8 { county in
            education.withUTF8 { education in
                service.withUTF8 { service in
                    update(nationalID: p.nationalID, key: Self.pack(p.nationalID), birthDate: p.birthDate, deferment: p.deferment,
                           countyCode: county, education: education, serviceStatus: service)
                }
            }
        }
    }

    /// ``update(_:)`` as registry intake reads a person: the ID already packed (`key`,
    /// ``pack(_:)`` of `nationalID`), the county, education and service status as UTF-8 bytes.
    public func update(nationalID: String, key: UInt64?, birthDate: CivilDate, deferment: DefermentPeriod?,
                       countyCode: UnsafeBufferPointer<UInt8>, education: UnsafeBufferPointer<UInt8>,
                       serviceStatus: UnsafeBufferPointer<UInt8>) {
        let entry = Entry(birth: Int32(birthDate.daysSinceEpoch),
                          start: deferment.map { Int32($0.start.daysSinceEpoch) } ?? Self.none,
                          end: deferment?.end.map { Int32($0.daysSinceEpoch) } ?? Self.none,
                          county: intern(countyCode), education: intern(education), service: intern(serviceStatus))
        if let key { entries.set(key, entry) } else { unpacked[nationalID] = entry }
    }

    /// Packs an ID of 1 to 12 characters from `0-9A-Z` into a number (never 0), or `nil`. IDs of the
    /// same length keep their order.
    public static func pack(_ id: String) -> UInt64? {
        var value: UInt64 = 0
        var n = 0
        for b in id.utf8 {
            n += 1
            guard n <= 12 else { return nil }
            let digit: UInt64
            switch b {
            case 0x30...0x39: digit = UInt64(b - 0x30) + 1
            case 0x41...0x5A: digit = UInt64(b - 0x41) + 11
            default: return nil
            }
            value = value * 37 + digit
        }
        return n > 0 ? value : nil
    }

    public func person(_ nationalID: String) -> RegistryPerson? {
        person(nationalID, entry(nationalID))
    }

    /// The registry's records of many people, in order (`nil` for an empty ID or one not on
    /// record). The table is probed for all of them before any record is made: the probes do
    /// not depend on each other, so the processor waits for the memory of several at once
    /// (a national registry's table is far larger than its caches) instead of one at a time.
    public func people(_ nationalIDs: [String]) -> [RegistryPerson?] {
        let keys = nationalIDs.map { $0.isEmpty ? nil : Self.pack($0) }
        var found = [Entry?](repeating: nil, count: nationalIDs.count)
        for (i, key) in keys.enumerated() {
            if let key { found[i] = entries.get(key) }
        }
        return nationalIDs.indices.map { i in
            if keys[i] == nil && !nationalIDs[i].isEmpty { found[i] = unpacked[nationalIDs[i]] }
            return person(nationalIDs[i], found[i])
        }
    }

    private func entry(_ nationalID: String) -> Entry? {
        if let key = Self.pack(nationalID) { return entries.get(key) }
        return unpacked[nationalID]
    }

    private func person(_ nationalID: String, _ found: Entry?) -> RegistryPerson? {
        guard let e = found else { return nil }
        var deferment: DefermentPeriod?
        if e.start != Self.none {
            deferment = DefermentPeriod(start: CivilDate(daysSinceEpoch: Int(e.start)),
                                        end: e.end == Self.none ? nil : CivilDate(daysSinceEpoch: Int(e.end)))
        }
        return RegistryPerson(nationalID: nationalID, birthDate: CivilDate(daysSinceEpoch: Int(e.birth)), name: "",
                              countyCode: values[Int(e.county)], education: values[Int(e.education)],
                              serviceStatus: values[Int(e.service)], deferment: deferment)
    }

    public func recordedDeferments(_ nationalID: String) -> [DefermentPeriod] {
        // Most registries hold none: no hashing of the ID then.
        recorded.isEmpty ? [] : recorded[nationalID] ?? []
    }
}

/// A hash table from packed national IDs (``RegistrySnapshot/pack(_:)``, never 0 for an ID of at
/// least one character) to values: open addressing with linear probing and Fibonacci hashing.
///
/// A `Dictionary` hashes each `UInt64` key with a seeded SipHash; for a million look-ups and
/// updates per file, one multiplication spreads these keys as well (they are IDs, chosen by no
/// adversary) at a fraction of the cost. Key 0 is refused (marks an empty slot).
struct PackedIDTable<Value> {
    /// Each slot's key (0: empty) with its value beside it, so that a look-up touches one place
    /// in memory instead of one in an array of keys and another in an array of values (a
    /// national registry's table is far larger than the processor's caches).
    private var slots: [(key: UInt64, value: Value?)] = []
    private var shift: UInt64 = 64
    private(set) var count = 0

    init() {}

    /// Makes room for `n` entries without growing.
    mutating func reserve(_ n: Int) {
        var size = 16
        while size * 7 / 10 < n { size *= 2 }
        if size > slots.count { rehash(slots: size) }
    }

    private func slot(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E3779B97F4A7C15) >> shift) }

    /// The value stored under `key`, if any.
    func get(_ key: UInt64) -> Value? {
        guard !slots.isEmpty, key != 0 else { return nil }
        return slots.withUnsafeBufferPointer { s in
            let mask = s.count - 1
            var i = slot(key)
            while true {
                let k = s[i].key
                if k == key { return s[i].value }
                if k == 0 { return nil }
                i = (i + 1) & mask
            }
        }
    }

    /// Stores `value` under `key` (not 0), replacing any value stored before.
    mutating func set(_ key: UInt64, _ value: Value) {
        precondition(key != 0, "packed ID 0")
        if (count + 1) * 10 > slots.count * 7 { rehash(slots: max(16, slots.count * 2)) }
        let mask = slots.count - 1
        var i = slot(key)
        while true {
            let k = slots[i].key
            if k == key { slots[i].value = value; return }
            if k == 0 {
                slots[i] = (key, value)
                count += 1
                return
            }
            i = (i + 1) & mask
        }
    }

    private mutating func rehash(slots size: Int) {
        let old = slots
        slots = Array(repeating: (0, nil), count: size)
        shift = UInt64(64 - size.trailingZeroBitCount)
        count = 0
        for (k, v) in old where k != 0 { set(k, v!) }
    }
}

extension RawStatement.ColumnReader {
    /// A text column's bytes, valid until the statement steps again (empty for NULL).
    func bytes(_ i: Int32) -> UnsafeBufferPointer<UInt8> {
        guard let p = sqlite3_column_text(handle, i) else { return UnsafeBufferPointer(start: emptyByte, count: 0) }
        return UnsafeBufferPointer(start: p, count: Int(sqlite3_column_bytes(handle, i)))
    }

    /// A stored `yyyy-mm-dd` date as days since 1970, read from the column's bytes; `nil` when
    /// empty, NULL or not in that form.
    func days(_ i: Int32) -> Int32? {
        guard let p = sqlite3_column_text(handle, i), sqlite3_column_bytes(handle, i) == 10 else { return nil }
        func digits(_ from: Int, _ count: Int) -> Int? {
            var v = 0
            for k in from..<(from + count) {
                let c = p[k]
                guard c >= 0x30 && c <= 0x39 else { return nil }
                v = v * 10 + Int(c - 0x30)
            }
            return v
        }
        guard p[4] == 0x2D, p[7] == 0x2D, let y = digits(0, 4), let m = digits(5, 2), let d = digits(8, 2),
              let date = CivilDate(year: y, month: m, day: d) else { return nil }
        return Int32(date.daysSinceEpoch)
    }
}

/// A valid pointer for an empty column.
nonisolated(unsafe) private let emptyByte: UnsafeMutablePointer<UInt8> = {
    let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
    p.pointee = 0
    return p
}()

extension DeskStore {
    /// About how many people the registry holds (役政資料筆數): the highest row id of `person`,
    /// found without a scan (a purge leaves gaps, so it may count more).
    public static func peopleHeld(_ db: Database) throws -> Int {
        try Int.fetchOne(db, sql: "SELECT MAX(rowid) FROM person") ?? 0
    }
}
