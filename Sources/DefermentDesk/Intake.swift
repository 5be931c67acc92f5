import Foundation
import GRDB
import DefermentCore
import DefermentFiles
import DefermentStore

/// Why a whole file was refused (退件), worded for the person who sent it.
public struct FileRejection: Error, Sendable, Equatable {
    /// What is wrong, in zh-TW.
    public var problem: String
    /// What to do, in zh-TW.
    public var fix: String

    /// What is kept in `outbox/rejected/` instead of the file itself (an account request with
    /// its passwords masked).
    public var keptCopy: Data?

    public init(problem: String, fix: String) {
        self.problem = problem
        self.fix = fix
    }

    init(_ error: TableFileError) {
        self.init(problem: error.problem, fix: error.fix)
    }
}

/// Where a roster's upload date (上傳日期) came from.
public enum UploadDateSource: String, Sendable {
    case fileName = "檔名"
    case column = "上傳日期欄"
    case arrival = "收檔日"
}

/// Finds the upload date written in a file name as `YYYYMMDD` or `YYYY-MM-DD`: the first one
/// that is a real date from 1990 on, standing apart from other digits (a dash may join it to
/// them, as in `名冊2-20261015.csv` or `20261015-2.csv`).
public func uploadDate(inFileName name: String) -> CivilDate? {
    let chars = Array(name.utf8)
    var i = 0
    while i < chars.count {
        guard chars[i] >= 0x30 && chars[i] <= 0x39 else { i += 1; continue }
        var j = i
        while j < chars.count && ((chars[j] >= 0x30 && chars[j] <= 0x39) || chars[j] == 0x2D) { j += 1 }
        // The run's digit groups between dashes: one group of 8, or three of 4, 2 and 2.
        let groups = chars[i..<j].split(separator: 0x2D, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        for (k, g) in groups.enumerated() {
            var digits: String?
            if g.count == 8 {
                digits = g
            } else if g.count == 4, k + 2 < groups.count, groups[k + 1].count == 2, groups[k + 2].count == 2 {
                digits = g + groups[k + 1] + groups[k + 2]
            }
            if let digits, let y = Int(digits.prefix(4)), let m = Int(digits.dropFirst(4).prefix(2)), let d = Int(digits.suffix(2)),
               y >= 1990, let date = CivilDate(year: y, month: m, day: d) {
                return date
            }
        }
        i = j
    }
    return nil
}

private struct NoHeader: Error {}

/// Maps header cells to known columns.
struct HeaderMap<Column: Hashable> {
    let indexOf: [Column: Int]
    let headerRow: Int
    /// The same pairs as an array, for the per-row loop.
    let columns: [(Column, Int)]

    init(indexOf: [Column: Int], headerRow: Int) {
        self.indexOf = indexOf
        self.headerRow = headerRow
        columns = indexOf.map { ($0.key, $0.value) }
    }
}

/// Looks for the header among the first rows: the first row naming at least three known columns.
/// Calls `body` with each row after it; returns the header, or `nil` when the first ten rows
/// hold none.
func findHeader<Column: Hashable>(_ reader: TableReader, match: (String) -> Column?,
                                  body: (HeaderMap<Column>, TableRow) throws -> Void) throws -> HeaderMap<Column>? {
    var finder = HeaderFinder<Column>()
    do {
        try reader.forEachRow { row in
            if let header = finder.header { return try body(header, row) }
            try finder.look(at: row.cells, number: row.number, match: match)
        }
    } catch is NoHeader {
        return nil
    }
    return finder.header
}

/// ``findHeader(_:match:body:)`` for a reader of cells as bytes (``TableReader/forEachRowBytes(_:)``).
func findHeader<Column: Hashable>(_ reader: TableReader, match: (String) -> Column?,
                                  rowBytes body: (HeaderMap<Column>, TableRowBytes) throws -> Void) throws -> HeaderMap<Column>? {
    var finder = HeaderFinder<Column>()
    do {
        try reader.forEachRowBytes { row in
            if let header = finder.header { return try body(header, row) }
            try finder.look(at: (0..<row.count).map { String(decoding: row[$0], as: UTF8.self) }, number: row.number, match: match)
        }
    } catch is NoHeader {
        return nil
    }
    return finder.header
}

/// The search for a header row, one row at a time.
private struct HeaderFinder<Column: Hashable> {
    var header: HeaderMap<Column>?
    var looked = 0

    /// Takes a row as the header when it names at least three known columns; throws
    /// ``NoHeader`` after the tenth row without one.
    /// A header naming one column twice is refused (which of the two holds the data is a guess).
    mutating func look(at cells: [String], number: Int, match: (String) -> Column?) throws {
        looked += 1
        var map: [Column: Int] = [:]
        var repeated: (cell: String, first: Int, again: Int)?
        for (i, cell) in cells.enumerated() {
            guard let c = match(cell) else { continue }
            if let first = map[c] { if repeated == nil { repeated = (cell, first, i) } } else { map[c] = i }
        }
        if map.count >= 3 {
            if let r = repeated {
                throw FileRejection(problem: "第 \(number) 列的標題列有重複的欄位「\(ShownText.escaped(r.cell.trimmingSpaces()))」"
                                        + "（第 \(r.first + 1) 欄與第 \(r.again + 1) 欄），無法判斷應採用哪一欄。",
                                    fix: "請刪除或更名其中一欄，使每個欄位名稱只出現一次，再重新上傳。")
            }
            header = HeaderMap(indexOf: map, headerRow: number)
        } else if looked >= 10 { throw NoHeader() }
    }
}

/// What a roster file did (名冊處理結果), without personal data.
public struct RosterFileSummary: Sendable {
    public var rows = 0
    private var stateCounts = [Int](repeating: 0, count: ReviewState.allCases.count)
    /// Rows by review state.
    public var byState: [ReviewState: Int] {
        Dictionary(uniqueKeysWithValues: ReviewState.allCases.enumerated().map { ($1, stateCounts[$0]) })
    }
    public var byCounty: [String: Int] = [:]
    public var byReason: [String: Int] = [:]
    public var duplicates = 0
    public var replaced = 0
    public var newSchools: [String] = []
    public var uploadDates: Set<CivilDate> = []
    public var uploadDateSource: UploadDateSource = .arrival
    /// (school code, upload date) pairs the file wrote.
    public var touched: Set<[String]> = []
    /// Counties given a new or changed row (their decision workbooks change).
    public var changedCounties: Set<String> = []

    /// Adds the per-pair tallies of a file's rows.
    mutating func add(_ tallies: [[String]: [OutcomeKey: OutcomeCount]]) {
        for (pair, tally) in tallies {
            touched.insert(pair)
            if let date = CivilDate.parse(pair[1]) { uploadDates.insert(date) }
            for (key, count) in tally {
                rows += count.all
                duplicates += count.duplicates
                replaced += count.replaced
                switch key.state {
                case .notAssigned: stateCounts[0] += count.all
                case .pending: stateCounts[1] += count.all
                case .approved: stateCounts[2] += count.all
                case .refused: stateCounts[3] += count.all
                }
                if let c = key.county {
                    byCounty[c, default: 0] += count.all
                    if count.inserted > 0 || count.replaced > 0 { changedCounties.insert(c) }
                }
                if let r = key.reason { byReason[r.text, default: 0] += count.all }
            }
        }
    }

    /// One line for logs and the ledger: counts only.
    public func line(counties: CountyDirectory) -> String {
        var parts = ["\(rows) 列"]
        for s in ReviewState.allCases { if let n = byState[s], n > 0 { parts.append("\(s.rawValue) \(n)") } }
        if duplicates > 0 { parts.append("重複未再記錄 \(duplicates)") }
        if replaced > 0 { parts.append("更新 \(replaced)") }
        if !newSchools.isEmpty {
            let shown = newSchools.prefix(10).joined(separator: "、")
            parts.append("新增學校 \(shown)" + (newSchools.count > 10 ? " 等 \(newSchools.count) 所" : ""))
        }
        return parts.joined(separator: "，")
    }
}

/// Rows on their way from the reading thread to the writing one, up to a thousand at a time,
/// in the order they are stored.
enum IntakeItem: Sendable {
    /// Read and checked; the writing thread decides them with the registry. Each with whether
    /// its school or upload date differs from the row before it (see ``PackedRosterRows``) and
    /// whether its key certainly comes up for the first time in the file (``SeenRowKeys``).
    case read([(row: RosterIntake.ReadRow, startsPair: Bool, keyFirstSeen: Bool)])
    /// Decided on the reading thread, against the registry in memory, and packed as stored.
    case packed(PackedRosterRows)
}

/// The keys a file's rows were stored under so far, to tell a row whose key comes up for the
/// first time in the file (school, upload date, roster, national ID).
///
/// A Bloom filter over a 64-bit hash of each key (``RosterIntake/indexOrder(_:arrivalDay:)``
/// makes them): about ten bits a row, so a national roster's filter stays in the processor's
/// cache where a set of a million hashes would not. It never misses a key it was given; it may
/// now and then take a new key for one seen before (about two rows in a hundred at the expected
/// size, more past it), which only sends that row the slower way.
///
/// Blocked: a key's three bits lie in one 64-byte block, so a row costs one cache miss rather
/// than three (the three probes were about 5% of the reading thread's time).
///
/// Kept by the reading thread, in the order rows are handed over (the order they are stored),
/// so that one filter sees every row of the file however it is handed over; the storing thread
/// only reads the answer (``PackedRosterRows/keyFirstSeen(_:)``).
final class SeenRowKeys {
    private let words: UnsafeMutablePointer<UInt64>
    private let blockMask: UInt64

    /// A filter sized for about `expectedRows` rows.
    init(expectedRows: Int) {
        var blocks = 128
        while blocks * 512 < max(expectedRows, 1) * 10 { blocks *= 2 }
        words = .allocate(capacity: blocks * 8)
        words.initialize(repeating: 0, count: blocks * 8)
        blockMask = UInt64(blocks - 1)
    }

    /// A filter for the rows of a file of `size` bytes: a roster row takes at least about 60
    /// bytes of CSV, or 15 of XLSX.
    convenience init(fileSize size: Int, url: URL) {
        self.init(expectedRows: size / (url.pathExtension.lowercased() == "xlsx" ? 15 : 60))
    }

    deinit { words.deallocate() }

    /// Mixes `value` into the hash `h` (a multiplication and a shift: the parts hashed are
    /// fixed-size numbers, where a byte-wise hash cost a multiplication per byte).
    static func mix(_ h: UInt64, _ value: UInt64) -> UInt64 {
        let x = (h ^ value) &* 0x9E37_79B9_7F4A_7C15
        return x ^ x >> 29
    }

    /// Records a row's key, given as its hash; true when it was certainly not seen before.
    func insert(_ keyHash: UInt64) -> Bool {
        // Spread over all 64 bits; the block from the top bits, three bits of its 512 from the
        // bottom 27.
        let h = Self.mix(keyHash, 0x5851_F42D_4C95_7F2D)
        let block = Int((h >> 32) & blockMask) * 8
        var new = false
        for probe in 0..<3 {
            let bit = (h >> UInt64(9 * probe)) & 511
            let word = block + Int(bit >> 6), flag: UInt64 = 1 << (bit & 63)
            if words[word] & flag == 0 { new = true; words[word] |= flag }
        }
        return new
    }
}

/// Hands the registry snapshot, read on the transaction's thread, to the reading thread.
final class SnapshotHandOver: @unchecked Sendable {
    private let lock = NSLock()
    private var snapshot: RegistrySnapshot?

    /// Loads the snapshot.
    func load(_ make: () throws -> RegistrySnapshot) throws {
        let made = try make()
        lock.withLock { snapshot = made }
    }

    /// The snapshot once loaded, without waiting for it.
    var ready: RegistrySnapshot? { lock.withLock { snapshot } }
}

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
        case let (x?, y?): return sameBytes(x, y)
        default: return false
        }
    }

    /// Whether two texts have the same UTF-8 bytes (as they are hashed), compared in place: a
    /// comparison through the UTF-8 views went a byte at a time through an iterator.
    private static func sameBytes(_ x: String, _ y: String) -> Bool {
        guard x.utf8.count == y.utf8.count else { return false }
        guard !x.isEmpty else { return true }
        let compared: Bool?? = x.utf8.withContiguousStorageIfAvailable { a in
            y.utf8.withContiguousStorageIfAvailable { b in memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 }
        }
        return (compared ?? nil) ?? x.utf8.elementsEqual(y.utf8)
    }

    func hash(into hasher: inout Hasher) {
        if var county {
            county.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
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

/// Reads a roster and decides each row (名冊檢核): the same code serves `run` and `check`.
public struct RosterIntake {
    public var reference: ReferenceData
    /// The day of processing (a birth date after it is an error).
    public var today: CivilDate

    public init(reference: ReferenceData, today: CivilDate = Desk.day(of: Date())) {
        self.reference = reference
        self.today = today
    }

    /// A roster row read and checked without the registry, with the upload date it carries.
    ///
    /// A structure of references (the parsed row is an object): rows are sorted by index, not
    /// moved, and a class of its own cost an allocation and a release per row (in the same 8
    /// rounds of `bench/intake_ab.sh` against an earlier build, intake wall 0.986 as a structure,
    /// 1.030 as a class).
    public struct ReadRow: Sendable {
        public let raw: RosterRow
        public let parsed: ParsedRosterRow
        public let stored: StoredRosterFields
        public let uploadDate: CivilDate?

        init(raw: RosterRow, parsed: ParsedRosterRow, stored: StoredRosterFields, uploadDate: CivilDate?) {
            self.raw = raw
            self.parsed = parsed
            self.stored = stored
            self.uploadDate = uploadDate
        }

        /// Whether deciding the row needs the registry's record of the person: not when the
        /// row is refused before that (a malformed ID, a missing field).
        var asksRegistry: Bool { parsed.preRegistryReason == nil }

        /// The roster the row is listed in: a row whose status is unreadable is listed with the
        /// application roster.
        var rosterKind: RosterKind { parsed.rosterKind ?? .application }

        /// What the row is sorted and stored by: its school, upload date (`arrivalDay` when the
        /// row has none), roster and key.
        func storageKey(arrivalDay: CivilDate) -> (school: String, date: CivilDate, kind: RosterKind, key: String) {
            (parsed.schoolCode, uploadDate ?? arrivalDay, rosterKind, stored.key)
        }
    }

    /// Reads a roster file and runs the checks that need no registry, calling `body` for each
    /// row. Throws ``FileRejection`` for a file that cannot be read at all.
    /// - Parameter opened: called with the file's reader before the first row.
    func read(url: URL, originalName: String, opened: (TableReader) -> Void = { _ in },
              body: (ReadRow) throws -> Void) throws -> (format: String, source: UploadDateSource) {
        let reader: TableReader
        do { reader = try TableFile.open(url) } catch let e as TableFileError { throw FileRejection(e) }
        opened(reader)
        let nameDate = uploadDate(inFileName: originalName)
        var source: UploadDateSource = nameDate != nil ? .fileName : .arrival
        let rules = reference.rules, today = self.today
        let header: HeaderMap<RosterColumn>?
        /// Takes the header's columns of a row of `count` cells (`cell(i)`: cell `i`'s text) and
        /// runs the checks that need no registry.
        func emit(_ header: HeaderMap<RosterColumn>, number: Int, count: Int, undecodable: Set<Int>, cell: (Int) -> String) throws {
            var raw = RosterRow(sourceRow: number)
            for (column, index) in header.columns where index < count {
                raw[column] = cell(index)
                if !undecodable.isEmpty && undecodable.contains(index) { raw.markUndecodable(column) }
            }
            var date = nameDate
            if date == nil, let d = CivilDate.parse(raw.text(.uploadDate)) { date = d; source = .column }
            let parsed = RosterRules.parse(raw, rules: rules, today: today)
            try body(ReadRow(raw: raw, parsed: parsed, stored: StoredRosterFields(parsed), uploadDate: date))
        }
        do {
            if reader.handsOverBytes {
                // A UTF-8 CSV: a `String` is made of the roster's own columns only, straight
                // from the bytes read (not of every cell first, in an array per row).
                header = try findHeader(reader, match: RosterColumn.matching(header:), rowBytes: { header, row in
                    try emit(header, number: row.number, count: row.count, undecodable: row.undecodable) { String(decoding: row[$0], as: UTF8.self) }
                })
            } else {
                header = try findHeader(reader, match: RosterColumn.matching(header:)) { header, row in
                    try emit(header, number: row.number, count: row.cells.count, undecodable: row.undecodable) { row.cells[$0] }
                }
            }
        } catch let e as TableFileError {
            throw FileRejection(e)
        }
        guard let header else {
            throw FileRejection(problem: "找不到標題列：檔案前 10 列中沒有一列含有名冊欄位名稱（如「身分證字號」「出生年月日」「姓名」）。",
                                fix: "請使用名冊範本的標題列（\(RosterColumn.templateOrder.map(\.rawValue).joined(separator: "、"))）後重新上傳。")
        }
        let missing = RosterColumn.templateOrder.filter { $0.isRequired && header.indexOf[$0] == nil }
        if !missing.isEmpty {
            throw FileRejection(problem: "第 \(header.headerRow) 列的標題列缺少必要欄位：\(missing.map(\.rawValue).joined(separator: "、"))。",
                                fix: "請在標題列加上這些欄位（欄名須與名冊範本相同）並填入資料後重新上傳。")
        }
        return (reader.formatDescription, source)
    }

    /// A row's outcome, with the registry.
    func assessment(of row: ReadRow, lookup: RegistryLookup) throws -> RowAssessment {
        try assessment(of: row, person: row.asksRegistry ? lookup.person(row.parsed.nationalID) : nil, lookup: lookup)
    }

    /// A row's outcome, given the registry's record of the person (looked up when
    /// ``ReadRow/asksRegistry``).
    func assessment(of row: ReadRow, person: RegistryPerson?, lookup: RegistryLookup) throws -> RowAssessment {
        var recorded: [DefermentPeriod] = []
        if person != nil && row.parsed.rosterKind == .application {
            recorded = try lookup.recordedDeferments(row.parsed.nationalID)
        }
        return RosterRules.assess(row.parsed, person: person, recordedDeferments: recorded, rules: reference.rules)
    }

    /// Packs a decided row as it is stored and counts its outcome as inserted (``OutcomeCount/one``,
    /// corrected later if storing finds it stored already): the same step on the reading thread
    /// for a large file and on the storing thread for the rest.
    func pack(_ row: ReadRow, _ a: RowAssessment, startsPair: Bool, keyFirstSeen: Bool, arrivalDay: CivilDate,
              into packed: PackedRosterRows, tally: inout OutcomeTally) {
        let (school, date, kind, _) = row.storageKey(arrivalDay: arrivalDay)
        packed.append(parsed: row.parsed, stored: row.stored, uploadDate: date.iso, rosterKind: kind, assessment: a,
                      startsPair: startsPair, keyFirstSeen: keyFirstSeen)
        tally.add(.one, to: OutcomeKey(county: a.countyCode, kind: kind, state: a.state, reason: a.reason), school: school, date: date)
    }

    /// Completes a row's outcome with the registry.
    func decide(_ row: ReadRow, arrivalDay: CivilDate, lookup: RegistryLookup) throws -> RecordedRosterRow {
        let assessment = try assessment(of: row, lookup: lookup)
        return RecordedRosterRow(sourceRow: row.parsed.sourceRow, uploadDate: row.uploadDate ?? arrivalDay, parsed: row.parsed,
                                 stored: row.stored, rosterKind: row.rosterKind, assessment: assessment)
    }

    /// Streams a roster file, calling `body` with each row's outcome. Registry look-ups go
    /// through `lookup`; nothing is written. Reading and checking run on a second thread.
    public func assess(url: URL, originalName: String, arrivalDay: CivilDate, lookup: RegistryLookup,
                       body: (RecordedRosterRow, RosterRow) throws -> Void) throws -> (format: String, source: UploadDateSource) {
        var result: (format: String, source: UploadDateSource)?
        try PipelinedRows.run(produce: { emit in
            result = try self.read(url: url, originalName: originalName, body: emit)
        }, consume: { (row: ReadRow) in
            try body(try decide(row, arrivalDay: arrivalDay, lookup: lookup), row.raw)
        })
        return result!
    }

    /// How intake trades memory for speed on large files.
    public struct Tuning: Sendable {
        /// Files at least this many bytes read the registry into memory once
        /// (``RegistrySnapshot``) and are checked on the reading thread, instead of a look-up
        /// per row on the writing thread: about 15,000 rows, where one read of a national
        /// registry starts to cost less than the look-ups.
        public var snapshotThreshold = 2_000_000
        /// Rows sorted together before they are stored: see ``RosterIntake/indexOrdered(_:)``.
        /// 32,768 rows hold about 40 MB.
        public var sortChunk = 32_768

        public init() {}

        /// Whether a roster file is large enough to be checked against the registry in memory.
        public func readsRegistryIntoMemory(fileSize: Int) -> Bool { fileSize >= snapshotThreshold }
    }

    public var tuning = Tuning()

    /// How many rows to sort together next. Near the end of the file, chunks shrink to a quarter
    /// of the rows estimated to be left (down to 1,024): the writing thread stores the last chunk
    /// alone, after the reading thread is done, so a small last chunk is time saved (the rows of
    /// a national roster's last full chunk took about 0.2 s to store).
    static func nextChunkSize(_ sortChunk: Int, rowsRead: Int, fileSize: Int, bytesLeft: Int?) -> Int {
        guard let bytesLeft, rowsRead > 0, fileSize > bytesLeft else { return sortChunk }
        let bytesPerRow = max(1, (fileSize - bytesLeft) / rowsRead)
        let rowsLeft = bytesLeft / bytesPerRow
        return min(sortChunk, max(1_024, rowsLeft / 4))
    }

    /// The order of the roster's unique index (school, upload date, roster, national ID) for a
    /// chunk of rows, as their places in `rows`: storing them so walks the index forwards instead
    /// of jumping about it (in the sqlite3 shell, a million rows in no particular order take
    /// 6.7 s to insert, in sorted chunks 4.1 s). Rows with the same key keep their file order, so
    /// a resent row still replaces the earlier one. A row without an upload date of its own is
    /// stored under `arrivalDay`.
    ///
    /// Each row comes with a hash of its key for ``SeenRowKeys``, made from the sort key's parts.
    static func indexOrder(_ rows: [ReadRow], arrivalDay: CivilDate) -> [(index: Int, keyHash: UInt64)] {
        /// The first sixteen bytes of `s` as two numbers, big-endian (so that they order as the
        /// bytes do), zero-filled, and its length in bytes.
        func prefix(_ s: String) -> (UInt64, UInt64, Int) {
            func word(_ b: UnsafeBufferPointer<UInt8>, from start: Int) -> UInt64 {
                var v: UInt64 = 0
                for i in start..<(start + 8) { v = v << 8 | UInt64(i < b.count ? b[i] : 0) }
                return v
            }
            return s.utf8.withContiguousStorageIfAvailable { b in (word(b, from: 0), word(b, from: 8), b.count) }
                ?? Array(s.utf8).withUnsafeBufferPointer { b in (word(b, from: 0), word(b, from: 8), b.count) }
        }
        struct Key { var school: UInt64; var dateKind: Int64; var id: UInt64; var index: Int }
        var hashes = [UInt64](repeating: 0, count: rows.count)
        var keys = rows.indices.map { i -> Key in
            let k = rows[i].storageKey(arrivalDay: arrivalDay)
            let school = prefix(k.school), id = prefix(k.key)
            let key = Key(school: school.0, dateKind: Int64(k.date.daysSinceEpoch) * 2 + (k.kind == .leaving ? 1 : 0),
                          id: id.0, index: i)
            // Equal keys hash alike, which is all the filter needs; bytes past the sixteenth of
            // a school code or key (longer than any national ID) are left out, so such keys only
            // collide more.
            var h = SeenRowKeys.mix(school.0, school.1 ^ UInt64(school.2))
            h = SeenRowKeys.mix(h, UInt64(bitPattern: key.dateKind))
            h = SeenRowKeys.mix(h, id.0)
            hashes[i] = SeenRowKeys.mix(h, id.1 ^ UInt64(id.2))
            return key
        }
        keys.sort { a, b in
            if a.school != b.school { return a.school < b.school }
            if a.dateKind != b.dateKind { return a.dateKind < b.dateKind }
            if a.id != b.id { return a.id < b.id }
            let ra = rows[a.index].storageKey(arrivalDay: arrivalDay), rb = rows[b.index].storageKey(arrivalDay: arrivalDay)
            if ra.school != rb.school { return ra.school.utf8.lexicographicallyPrecedes(rb.school.utf8) }
            if ra.key != rb.key { return ra.key.utf8.lexicographicallyPrecedes(rb.key.utf8) }
            return a.index < b.index
        }
        return keys.map { ($0.index, hashes[$0.index]) }
    }

    /// A roster being read and checked on its own thread (名冊讀取), ready for
    /// ``apply(_:fileID:reading:progress:)``: started by ``startReading(url:originalName:arrivalDay:held:)``,
    /// possibly while the file before it is still being stored.
    public final class Reading: @unchecked Sendable {
        let url: URL
        let arrivalDay: CivilDate
        /// Whether the file is large enough to be checked against the registry in memory.
        let inMemory: Bool
        let size: Int
        let snapshot = SnapshotHandOver()
        fileprivate var pipeline: RowPipeline<IntakeItem>!
        /// Set by the reading thread when it is done; read after the pipeline is consumed. Its
        /// own object, so that the reading thread does not keep the reading (and its pipeline)
        /// alive: a reading dropped unconsumed stops its thread.
        fileprivate final class Outcome: @unchecked Sendable {
            var result: (format: String, source: UploadDateSource)?
            /// The rows the reading thread decided and packed, each counted as inserted.
            var tally = OutcomeTally()
        }
        fileprivate let outcome = Outcome()
        fileprivate var result: (format: String, source: UploadDateSource)? { outcome.result }

        fileprivate init(url: URL, arrivalDay: CivilDate, inMemory: Bool, size: Int) {
            self.url = url
            self.arrivalDay = arrivalDay
            self.inMemory = inMemory
            self.size = size
        }

        /// Lets a reading started held begin (the file before it has been read).
        public func release() { pipeline.release() }

        /// Gives a large file the registry in memory, as the extract applied just before it left
        /// it (once that extract has been read whole; a reading given the registry of an extract
        /// that then is not committed must be dropped); without it, ``RosterIntake/apply(_:fileID:reading:progress:)``
        /// reads it from the database. Rows read before it arrives are checked on the writing thread.
        public func provide(registry: RegistrySnapshot) {
            if inMemory { try? snapshot.load { registry } }
        }
    }

    /// Rows handed to the writing thread at a time.
    static let handOver = 1_024

    /// Starts reading a roster on its own thread: parsing, the checks that need no registry and
    /// sorting, and for a large file with the registry provided, the whole decision, packing
    /// each row as it will be stored (``PackedRosterRows``) and counting its outcome. Up to two
    /// sorted chunks wait for the writing thread.
    /// - Parameter held: the reading waits for ``Reading/release()`` (or for ``apply(_:fileID:reading:progress:)``
    ///   to begin) before it starts: a file read ahead begins once the file before it is read,
    ///   instead of competing with it.
    public func startReading(url: URL, originalName: String, arrivalDay: CivilDate, held: Bool = false) -> Reading {
        let size = fileSize(of: url)
        let reading = Reading(url: url, arrivalDay: arrivalDay, inMemory: tuning.readsRegistryIntoMemory(fileSize: size), size: size)
        let snapshot = reading.snapshot, inMemory = reading.inMemory, sortChunk = max(1, tuning.sortChunk), outcome = reading.outcome
        // Two sorted chunks of rows as read (64 hand-overs of 1,024 rows) may wait for the
        // writing thread: with room for less than one, each thread waits on the other at every
        // chunk; and while the writing thread reads the registry snapshot at the start of a
        // large file, the reading one goes on through the first two chunks (the writing thread
        // then decides them). Of rows decided and packed (smaller), six chunks may wait: a file
        // read ahead while the registry extract before it is still being stored gets that far
        // ahead instead of waiting, and the writing thread then does not wait for rows.
        let chunkHandOvers = max(1, sortChunk / Self.handOver)
        let readAhead = 2 * chunkHandOvers, capacity = 6 * chunkHandOvers
        reading.pipeline = RowPipeline.start(batchSize: 1, capacity: capacity, held: held) { (emit: (IntakeItem) throws -> Void, flow: PipelineFlow) in
            var chunk: [ReadRow] = []
            chunk.reserveCapacity(sortChunk)
            // The registry in memory once it is ready (asked of the hand-over, a lock, until
            // then), and the last row's pair.
            var registry: RegistrySnapshot?
            var lastPair: (school: String, date: CivilDate)?
            // Kept here and handed to the reading's outcome at the end: counting into the
            // object's property checked exclusive access at run time for every row.
            var tally = OutcomeTally()
            let seen = SeenRowKeys(fileSize: size, url: url)
            func flush() throws {
                let order = Self.indexOrder(chunk, arrivalDay: arrivalDay)
                // Decided and packed here once the registry is in memory; before that (or for a
                // small file), handed over as read, for the writing thread to decide. The whole
                // chunk's people are looked up at once (``RegistrySnapshot/people(_:)``).
                if inMemory && registry == nil { registry = snapshot.ready }
                let people = registry?.people(order.map { chunk[$0.index].asksRegistry ? chunk[$0.index].parsed.nationalID : "" }) ?? []
                var packed = PackedRosterRows(capacity: min(Self.handOver, order.count))
                var read: [(row: ReadRow, startsPair: Bool, keyFirstSeen: Bool)] = []
                for (n, (i, keyHash)) in order.enumerated() {
                    let row = chunk[i]
                    let (school, date, _, _) = row.storageKey(arrivalDay: arrivalDay)
                    let keyFirstSeen = seen.insert(keyHash)
                    let startsPair: Bool
                    if let lastPair, lastPair.school == school, lastPair.date == date { startsPair = false } else {
                        startsPair = true
                        lastPair = (school, date)
                    }
                    if let registry {
                        try pack(row, assessment(of: row, person: people[n], lookup: registry), startsPair: startsPair,
                                 keyFirstSeen: keyFirstSeen, arrivalDay: arrivalDay, into: packed, tally: &tally)
                        if packed.count == Self.handOver || n == order.count - 1 {
                            // The storing thread is behind (a chunk's hand-overs wait for it):
                            // this one, which would soon wait, hashes the rows for it.
                            if flow.backlog() >= chunkHandOvers { packed.makeHashes() }
                            try emit(.packed(packed))
                            packed = PackedRosterRows(capacity: min(Self.handOver, order.count - n - 1))
                        }
                    } else {
                        read.append((row, startsPair, keyFirstSeen))
                        if read.count == Self.handOver || n == order.count - 1 {
                            try flow.waitForRoom(readAhead)
                            try emit(.read(read))
                            read = []
                        }
                    }
                }
                chunk.removeAll(keepingCapacity: true)
            }
            var reader: TableReader?
            var chunkSize = sortChunk
            outcome.result = try self.read(url: url, originalName: originalName, opened: { reader = $0 }) { row in
                chunk.append(row)
                if chunk.count >= chunkSize {
                    try flush()
                    chunkSize = Self.nextChunkSize(sortChunk, rowsRead: row.parsed.sourceRow, fileSize: size, bytesLeft: reader?.bytesLeft)
                }
            }
            try flush()
            outcome.tally = tally
        }
        return reading
    }

    /// Applies a roster whose reading has started (``startReading(url:originalName:arrivalDay:held:)``)
    /// inside the caller's transaction: every row is recorded with its outcome.
    ///
    /// Reading, checking and sorting run on the reading's thread; registry look-ups and writes
    /// on the caller's (the transaction's). A large file checks its rows against the registry in
    /// memory: the one given to ``Reading/provide(registry:)`` (as the extract applied just
    /// before in the same run left it, see ``RegistryIntake/apply(_:fileID:url:snapshot:readingDone:progress:)``),
    /// or else read from the database while the first rows are parsed.
    public func apply(_ db: Database, fileID: Int64, reading: Reading, progress: (Int) throws -> Void) throws -> (RosterFileSummary, String) {
        var summary = RosterFileSummary()
        var knownSchools = try DeskStore.schoolCodes(db)
        var schoolToAdd: String?
        let writer = try RosterRowWriter(db, fileID: fileID)
        let snapshot = reading.snapshot
        // A large file: the registry is read into memory once, while the first rows are parsed,
        // and rows are checked against it on the reading thread. A small one: each row is
        // looked up on this thread.
        let lookup: PersonLookup? = reading.inMemory ? nil : try PersonLookup(db)
        var rows = 0
        var pair: (school: String, date: CivilDate)?
        // Outcomes of the rows decided here, and corrections to the reading thread's counts.
        var tally = OutcomeTally()
        /// Each pair seen so far, with whether it had no rows before this file: then a row
        /// whose key comes up for the first time in the file is new for sure, and when all of
        /// the pair's rows were new, its counts are the file's tally.
        var seenPairs: [[String]: Bool] = [:]
        var pairIsFresh = false
        try reading.pipeline.consume(prepare: {
            if lookup == nil && snapshot.ready == nil { try snapshot.load { try RegistrySnapshot(db) } }
        }) { item in
            let packed: PackedRosterRows
            switch item {
            case .packed(let p):
                packed = p
            case .read(let read):
                packed = PackedRosterRows(capacity: read.count)
                for (row, startsPair, keyFirstSeen) in read {
                    try pack(row, assessment(of: row, lookup: lookup ?? snapshot.ready!), startsPair: startsPair,
                             keyFirstSeen: keyFirstSeen, arrivalDay: reading.arrivalDay, into: packed, tally: &tally)
                }
            }
            for i in 0..<packed.count {
                if packed.startsPair(i) {
                    // Rows come sorted by school within each chunk: the school and pair checks
                    // run once per run of rows, not once per row.
                    let code = packed.text(i, .schoolCode) ?? "", day = packed.text(i, .uploadDate) ?? ""
                    guard let date = CivilDate.parse(day) else { preconditionFailure("packed upload date \(day)") }
                    pair = (code, date)
                    let key = [code, day]
                    if let fresh = seenPairs[key] {
                        pairIsFresh = fresh
                    } else {
                        pairIsFresh = try !DeskStore.hasRows(db, schoolCode: code, uploadDate: day)
                        seenPairs[key] = pairIsFresh
                    }
                    schoolToAdd = knownSchools.contains(code) ? nil : code
                }
                // A school first seen here is added by its first row given to a county: a row
                // that is 不分派 (an unreadable code among them) never creates a school.
                if let code = schoolToAdd, packed.text(i, .reviewState) != ReviewState.notAssigned.rawValue {
                    try DeskStore.addRosterSchool(db, code: code, name: packed.text(i, .schoolName) ?? "")
                    knownSchools.insert(code)
                    summary.newSchools.append(code)
                    schoolToAdd = nil
                }
                let written = try writer.write(packed, i, isNew: pairIsFresh && packed.keyFirstSeen(i))
                if let correction = OutcomeCount.correction(written), let pair {
                    tally.add(correction, to: outcomeKey(packed, i), school: pair.school, date: pair.date)
                }
                rows += 1
                if rows % 10_000 == 0 { try progress(rows) }
            }
        }
        try writer.finish()
        let tallies = tally.total(adding: reading.outcome.tally)
        summary.add(tallies)
        if summary.rows == 0 {
            throw FileRejection(problem: "檔案只有標題列，沒有任何學生資料。", fix: "請確認匯出範圍後重新上傳。")
        }
        summary.uploadDateSource = reading.result!.source
        // A pair with no rows before this file and only new rows in it: its counts are the tally.
        var fresh: [[String]: [DeskStore.RosterCountKey: Int]] = [:]
        for (key, t) in tallies where seenPairs[key] == true && t.values.allSatisfy({ $0.inserted == $0.all }) {
            var counts: [DeskStore.RosterCountKey: Int] = [:]
            for (k, c) in t {
                counts[DeskStore.RosterCountKey(county: k.county ?? "", kind: k.kind.rawValue, state: k.state.rawValue), default: 0] += c.all
            }
            fresh[key] = counts
        }
        try DeskStore.refreshCounts(db, pairs: summary.touched, version: fileID, workbookCounties: summary.changedCounties, fresh: fresh)
        return (summary, reading.result!.format)
    }

    /// The outcome row `i` of `packed` is counted under, read back from its stored values (for
    /// the few rows that storing did not insert).
    private func outcomeKey(_ packed: PackedRosterRows, _ i: Int) -> OutcomeKey {
        OutcomeKey(county: packed.text(i, .countyCode), kind: RosterKind(rawValue: packed.text(i, .rosterKind) ?? "") ?? .application,
                   state: ReviewState(rawValue: packed.text(i, .reviewState) ?? "") ?? .notAssigned,
                   reason: packed.text(i, .reason).flatMap(NotAssignedReason.init(text:)))
    }
}

/// A registry row that could not be used (役政資料錯誤), for the operator.
public struct RegistryRowProblem: Sendable {
    public var row: Int
    public var column: String
    public var message: String
}

/// Applies registry extracts (役政資料): each row replaces what the registry said of that person;
/// people the extract does not name keep their records.
public struct RegistryIntake {
    public var reference: ReferenceData

    public init(reference: ReferenceData) {
        self.reference = reference
    }

    /// People sorted together before they are stored. Sorting is stable, so when an extract
    /// names a person twice the later row still wins.
    public var sortChunk = 32_768

    /// A usable extract row, as read: valid only during the call that receives it.
    struct PersonRead {
        /// The national ID, normalised (a citizen's: ten characters).
        var nationalID: String
        /// ``RegistrySnapshot/pack(_:)`` of the ID.
        var key: UInt64?
        var birthDate: CivilDate
        var deferment: DefermentPeriod?
        /// The cells as they will be stored, trimmed: the name, education and service status as
        /// written, the county as its five-digit code.
        var name, countyCode, education, serviceStatus: UnsafeBufferPointer<UInt8>
    }

    /// Reads and validates an extract: calls `person` for each usable row and `problem` for each
    /// row that cannot be used (in file order). Cells are checked as bytes, without a `String`
    /// per cell (``TableReader/forEachRowBytes(_:)``).
    func read(url: URL, person: (PersonRead) throws -> Void, problem: (RegistryRowProblem) throws -> Void) throws -> String {
        let reader: TableReader
        do { reader = try TableFile.open(url) } catch let e as TableFileError { throw FileRejection(e) }
        let rules = reference.rules
        let counties = reference.counties
        let header: HeaderMap<RegistryColumn>?
        // Each column's cell index, by the column's place in `allCases`; resolved once from the
        // header instead of a dictionary look-up (hashing the column's Chinese name) per cell.
        var cellIndex: [Int]?
        do {
            header = try findHeader(reader, match: RegistryColumn.matching(header:), rowBytes: { header, row in
                let indexes = cellIndex ?? RegistryColumn.allCases.map { header.indexOf[$0] ?? -1 }
                cellIndex = indexes
                func cell(_ c: RegistryColumn) -> UnsafeBufferPointer<UInt8> { trimmedSpaces(row[indexes[c.ordinal]]) }
                // Short cells (IDs, dates, codes) as strings: fifteen bytes or less are held
                // inline, with no allocation.
                func text(_ c: RegistryColumn) -> String { String(decoding: cell(c), as: UTF8.self) }
                func reject(_ c: RegistryColumn, _ message: String) throws {
                    try problem(RegistryRowProblem(row: row.number, column: c.rawValue, message: message))
                }
                let id = NationalID.normalise(text(.nationalID))
                guard case .citizen = NationalID.classify(id) else { return try reject(.nationalID, "身分證字號格式錯誤") }
                guard let birth = CivilDate.parse(text(.birthDate)) else { return try reject(.birthDate, "日期無法辨識") }
                let name = cell(.name)
                guard !name.isEmpty else { return try reject(.name, "空白") }
                guard var county = counties.normalise(text(.countyCode)) else { return try reject(.countyCode, "不在縣市代碼表中") }
                let education = cell(.education)
                guard rules.educationIsSameOrHigher[utf8: education] != nil else { return try reject(.education, "不是已知的教育程度") }
                let service = cell(.serviceStatus)
                guard rules.serviceStatusBlocks[utf8: service] != nil else { return try reject(.serviceStatus, "不是已知的兵役狀態") }
                var deferment: DefermentPeriod?
                let startText = text(.defermentStart)
                let endText = text(.defermentEnd)
                if !startText.isEmpty {
                    guard let start = CivilDate.parse(startText) else { return try reject(.defermentStart, "日期無法辨識") }
                    var end: CivilDate?
                    if !endText.isEmpty {
                        guard let e = CivilDate.parse(endText) else { return try reject(.defermentEnd, "日期無法辨識") }
                        end = e
                    }
                    deferment = DefermentPeriod(start: start, end: end)
                }
                try county.withUTF8 { county in
                    try person(PersonRead(nationalID: id, key: RegistrySnapshot.pack(id), birthDate: birth, deferment: deferment,
                                          name: name, countyCode: county, education: education, serviceStatus: service))
                }
            })
        } catch let e as TableFileError {
            throw FileRejection(e)
        }
        guard let header else {
            throw FileRejection(problem: "找不到標題列：檔案前 10 列中沒有役政資料欄位名稱。",
                                fix: "請確認標題列含有：\(RegistryColumn.allCases.filter(\.isRequired).map(\.rawValue).joined(separator: "、"))。")
        }
        let missing = RegistryColumn.allCases.filter { $0.isRequired && header.indexOf[$0] == nil }
        if !missing.isEmpty {
            throw FileRejection(problem: "標題列缺少必要欄位：\(missing.map(\.rawValue).joined(separator: "、"))。",
                                fix: "請補上這些欄位後重新提供役政資料檔。")
        }
        return reader.formatDescription
    }

    /// A chunk of people read from an extract, packed for sorting and storing: each person's
    /// stored values one after another in one buffer (no `String` or object per person), and
    /// the people in ID order once ``sort()`` has run.
    ///
    /// Handed to the writing thread in slices of ``RegistryIntake/handOver`` people: one
    /// reference per slice, where an object per person cost an allocation and a reference count
    /// on each thread.
    final class PersonChunk: @unchecked Sendable {
        /// Each value: its length as four bytes (little-endian; `UInt32.max` for NULL), then its bytes.
        private var bytes: [UInt8] = []
        /// Each person's sort key (``RegistrySnapshot/pack(_:)``, `UInt64.max` when the ID
        /// does not pack) and where the person's values start in `bytes`.
        private var people: [(key: UInt64, offset: Int)] = []

        init(capacity: Int) {
            people.reserveCapacity(capacity)
            bytes.reserveCapacity(capacity * 80)
        }

        var count: Int { people.count }

        /// Adds a person's values, in ``PersonWriter/columns`` order.
        func append(_ p: PersonRead) {
            people.append((p.key ?? .max, bytes.count))
            // Built in a local array moved out and back (see ``PackedRosterRows``), with the
            // same layout and helpers.
            var b = bytes
            bytes = []
            defer { bytes = b }
            PackedRosterRows.put(p.nationalID, &b)
            PackedRosterRows.put(p.birthDate.iso, &b)
            PackedRosterRows.put(p.name, &b)
            PackedRosterRows.put(p.countyCode, &b)
            PackedRosterRows.put(p.education, &b)
            PackedRosterRows.put(p.serviceStatus, &b)
            PackedRosterRows.put(p.deferment?.start.iso, &b)
            PackedRosterRows.put(p.deferment?.end?.iso, &b)
        }

        /// Puts the people in ID order; a person named twice keeps the file's order, so the later
        /// row is stored last and wins.
        func sort() {
            people.sort { $0.key != $1.key ? $0.key < $1.key : $0.offset < $1.offset }
        }

        /// Calls `body` with the packed values and where person `i`'s start in them.
        func withValues(of i: Int, _ body: (_ packed: UnsafeBufferPointer<UInt8>, _ offset: Int) throws -> Void) rethrows {
            try bytes.withUnsafeBufferPointer { try body($0, people[i].offset) }
        }
    }

    /// People handed to the writing thread at a time.
    static let handOver = 1_024

    /// Applies an extract inside the caller's transaction; reading runs on a second thread.
    /// - Parameter snapshot: a registry snapshot to complete with the extract's people as they
    ///   are read (on the reading thread), so that rosters applied after this extract find the
    ///   registry in memory without reading it back; `nil` when no large roster is waiting. It
    ///   holds the whole extract once `readingDone(true)` is called, and matches the database
    ///   only once the caller's transaction commits.
    /// - Parameter readingDone: called on the reading thread once the whole file has been read
    ///   (`true`: `snapshot` now holds every person of the extract) or its reading failed
    ///   (`false`: `snapshot` is incomplete): the next file may start being read.
    public func apply(_ db: Database, fileID: Int64?, url: URL, snapshot: RegistrySnapshot? = nil,
                      readingDone: (@Sendable (_ complete: Bool) -> Void)? = nil,
                      progress: (Int) throws -> Void) throws -> (rows: Int, problems: [RegistryRowProblem], format: String) {
        let writer = try PersonWriter(db, fileID: fileID)
        // The person table and its ID index for a national registry (about 110 MB) fit in a 256 MB page
        // cache, so the sorted chunks update it in memory instead of spilling and re-reading
        // pages: a million-person extract is stored about a fifth faster.
        try db.execute(sql: "PRAGMA cache_size = -\(DeskStore.bulkCacheKiB)")
        defer { try? db.execute(sql: "PRAGMA cache_size = -\(DeskStore.cacheKiB)") }
        var rows = 0
        var problems: [RegistryRowProblem] = []
        var format = ""
        let sortChunk = max(1, sortChunk)
        // Room for two sorted chunks in flight (64 slices of 1,024 people, about 16 MB): with
        // less than one, the reading thread waits for the writing one to take half of a chunk
        // and the writing one then waits for the next chunk to be read and sorted.
        try PipelinedRows.run(batchSize: 1, capacity: 2 * max(1, sortChunk / Self.handOver), produce: { emit in
            var complete = false
            defer { readingDone?(complete) }
            // About 70 bytes a person in a CSV extract; reserved here, where the memory is
            // first touched, rather than on the writing thread.
            snapshot?.reserve(fileSize(of: url) / 64)
            // People are stored sorted by ID in chunks, so the inserts walk the table's key
            // forwards. Problems stay on this thread, in file order, for the report.
            var chunk = PersonChunk(capacity: sortChunk)
            func flush() throws {
                guard chunk.count > 0 else { return }
                chunk.sort()
                for start in stride(from: 0, to: chunk.count, by: Self.handOver) {
                    try emit((chunk, start..<min(start + Self.handOver, chunk.count)))
                }
                chunk = PersonChunk(capacity: sortChunk)
            }
            format = try self.read(url: url, person: { p in
                // On this thread, which has time to spare while the writing one stores people;
                // in file order, so a person named twice ends as the later row says, in the
                // snapshot as in the table.
                snapshot?.update(nationalID: p.nationalID, key: p.key, birthDate: p.birthDate, deferment: p.deferment,
                                 countyCode: p.countyCode, education: p.education, serviceStatus: p.serviceStatus)
                chunk.append(p)
                if chunk.count == sortChunk { try flush() }
            }, problem: { problems.append($0) })
            try flush()
            complete = true
        }, consume: { (slice: (chunk: PersonChunk, people: Range<Int>)) in
            for i in slice.people {
                try slice.chunk.withValues(of: i) { try writer.save(packed: $0, from: $1) }
                rows += 1
                if rows % 10_000 == 0 { try progress(rows) }
            }
        })
        try writer.finish()
        return (rows, problems, format)
    }
}
