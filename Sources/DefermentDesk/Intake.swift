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
    mutating func look(at cells: [String], number: Int, match: (String) -> Column?) throws {
        looked += 1
        var map: [Column: Int] = [:]
        for (i, cell) in cells.enumerated() {
            if let c = match(cell), map[c] == nil { map[c] = i }
        }
        if map.count >= 3 { header = HeaderMap(indexOf: map, headerRow: number) }
        else if looked >= 10 { throw NoHeader() }
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

/// A row on its way from the reading thread to the writing one, with its outcome when the
/// reading thread could already decide it.
///
/// An enum of two references: handing a row over allocates nothing. A decided row drops what
/// was read (its raw cells), so that memory is freed on the thread that allocated it.
enum IntakeItem: Sendable {
    /// Read and checked; the writing thread decides it with the registry.
    case read(RosterIntake.ReadRow)
    /// Decided on the reading thread, against the registry in memory.
    case decided(RecordedRosterRow)
}

extension IntakeItem {
    /// What a row is sorted by before it is stored (``RosterIntake/indexOrdered(_:arrivalDay:)``):
    /// its school, upload date (`arrivalDay` when the row has none), roster and key.
    func sortFields(arrivalDay: CivilDate) -> (school: String, day: Int, leaving: Bool, key: String) {
        switch self {
        case .read(let r):
            return (r.parsed.schoolCode, (r.uploadDate ?? arrivalDay).daysSinceEpoch, r.parsed.rosterKind == .leaving, r.stored.key)
        case .decided(let d):
            return (d.parsed.schoolCode, d.uploadDate.daysSinceEpoch, d.rosterKind == .leaving, d.stored.key)
        }
    }
}

/// The keys a file's rows were stored under so far, to tell a row whose key comes up for the
/// first time in the file (school, upload date, roster, national ID).
///
/// A Bloom filter over a 64-bit hash of each key (``RecordedRosterRow/keyHash``): about ten bits a
/// row, so a national roster's filter stays in the processor's cache where a set of a million
/// hashes would not. It never misses a key it
/// was given; it may now and then take a new key for one seen before (about one row in a
/// hundred at the expected size, more past it), which only sends that row the slower way.
struct SeenRowKeys {
    private var bits: [UInt64]
    private let mask: UInt64

    /// A filter sized for about `expectedRows` rows.
    init(expectedRows: Int) {
        var words = 1024
        while words * 64 < max(expectedRows, 1) * 10 { words *= 2 }
        bits = Array(repeating: 0, count: words)
        mask = UInt64(words * 64 - 1)
    }

    /// Records a row's key; true when it was certainly not seen before.
    mutating func insert(_ row: RecordedRosterRow) -> Bool {
        // Spread over all 64 bits, then three probes from two halves (double hashing).
        let h = row.keyHash &* 0x9E3779B97F4A7C15
        let a = h >> 32 ^ h, b = (h << 17 | h >> 47) | 1
        var new = false
        for i: UInt64 in 0..<3 {
            let bit = (a &+ i &* b) & mask
            let word = Int(bit >> 6), flag: UInt64 = 1 << (bit & 63)
            if bits[word] & flag == 0 { new = true; bits[word] |= flag }
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
/// Counted once per row on the writing thread, so it is hashed and compared on the county
/// code's bytes: `String`'s own hashing normalises Unicode first, which showed up in profiles
/// (county codes are the desk's own ASCII codes).
struct OutcomeKey: Hashable {
    var county: String?
    var kind: RosterKind
    var state: ReviewState
    var reason: NotAssignedReason?

    static func == (a: OutcomeKey, b: OutcomeKey) -> Bool {
        guard a.kind == b.kind, a.state == b.state, a.reason == b.reason else { return false }
        switch (a.county, b.county) {
        case (nil, nil): return true
        case let (x?, y?): return x.utf8.elementsEqual(y.utf8)
        default: return false
        }
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

    mutating func add(_ write: RosterRowWrite) {
        all += 1
        switch write {
        case .inserted: inserted += 1
        case .replaced: replaced += 1
        case .duplicate: duplicates += 1
        }
    }
}

/// Reads a roster and decides each row (名冊檢核): the same code serves `run` and `check`.
public struct RosterIntake {
    public var reference: ReferenceData

    public init(reference: ReferenceData) {
        self.reference = reference
    }

    /// A roster row read and checked without the registry, with the upload date it carries.
    ///
    /// A class: rows are buffered, sorted and handed between threads, and a reference moves
    /// where a copy would retain each of the row's strings.
    public final class ReadRow: Sendable {
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
        let rules = reference.rules
        let header: HeaderMap<RosterColumn>?
        do {
            header = try findHeader(reader, match: RosterColumn.matching(header:)) { header, row in
                var raw = RosterRow(sourceRow: row.number)
                for (column, index) in header.columns where index < row.cells.count {
                    raw[column] = row.cells[index]
                    if !row.undecodable.isEmpty && row.undecodable.contains(index) { raw.markUndecodable(column) }
                }
                var date = nameDate
                if date == nil, let d = CivilDate.parse(raw.text(.uploadDate)) { date = d; source = .column }
                let parsed = RosterRules.parse(raw, rules: rules)
                try body(ReadRow(raw: raw, parsed: parsed, stored: StoredRosterFields(parsed), uploadDate: date))
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

    /// Completes a row's outcome with the registry.
    func decide(_ row: ReadRow, arrivalDay: CivilDate, lookup: RegistryLookup) throws -> RecordedRosterRow {
        let parsed = row.parsed
        var person: RegistryPerson?
        var recorded: [DefermentPeriod] = []
        if parsed.preRegistryReason == nil {
            person = try lookup.person(parsed.nationalID)
            if person != nil && parsed.rosterKind == .application {
                recorded = try lookup.recordedDeferments(parsed.nationalID)
            }
        }
        let assessment = RosterRules.assess(parsed, person: person, recordedDeferments: recorded, rules: reference.rules)
        // A row whose status is unreadable is listed with the application roster.
        return RecordedRosterRow(sourceRow: parsed.sourceRow, uploadDate: row.uploadDate ?? arrivalDay, parsed: parsed,
                                 stored: row.stored, rosterKind: parsed.rosterKind ?? .application, assessment: assessment)
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

    /// Puts a chunk of rows in the order of the roster's unique index (school, upload date,
    /// roster, national ID), so storing them walks the index forwards instead of jumping about
    /// it (in the sqlite3 shell, a million rows in no particular order take 6.7 s to insert,
    /// in sorted chunks 4.1 s). Rows with the same key keep their file order, so a resent row
    /// still replaces the earlier one. A row without an upload date of its own is stored under
    /// `arrivalDay`, decided or not.
    static func indexOrdered(_ rows: [IntakeItem], arrivalDay: CivilDate) -> [IntakeItem] {
        func prefix(_ s: String) -> UInt64 {
            var v: UInt64 = 0
            var n = 0
            for b in s.utf8 { v = v << 8 | UInt64(b); n += 1; if n == 8 { break } }
            return n == 8 ? v : v << (8 * UInt64(8 - n))
        }
        struct Key { var school: UInt64; var dateKind: Int64; var id: UInt64; var index: Int }
        var keys = rows.indices.map { i -> Key in
            let k = rows[i].sortFields(arrivalDay: arrivalDay)
            return Key(school: prefix(k.school), dateKind: Int64(k.day) * 2 + (k.leaving ? 1 : 0), id: prefix(k.key), index: i)
        }
        keys.sort { a, b in
            if a.school != b.school { return a.school < b.school }
            if a.dateKind != b.dateKind { return a.dateKind < b.dateKind }
            if a.id != b.id { return a.id < b.id }
            let ra = rows[a.index].sortFields(arrivalDay: arrivalDay), rb = rows[b.index].sortFields(arrivalDay: arrivalDay)
            if ra.school != rb.school { return ra.school.utf8.lexicographicallyPrecedes(rb.school.utf8) }
            if ra.key != rb.key { return ra.key.utf8.lexicographicallyPrecedes(rb.key.utf8) }
            return a.index < b.index
        }
        return keys.map { rows[$0.index] }
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
        /// it, once that extract is committed; without it, ``RosterIntake/apply(_:fileID:reading:progress:)``
        /// reads it from the database. Rows read before it arrives are checked on the writing thread.
        public func provide(registry: RegistrySnapshot) {
            if inMemory { try? snapshot.load { registry } }
        }
    }

    /// Starts reading a roster on its own thread: parsing, the checks that need no registry and
    /// sorting, and for a large file with the registry provided, the whole decision. Up to 64
    /// batches of 1,024 rows (about 40 MB, two sorted chunks) wait for the writing thread.
    /// - Parameter held: the reading waits for ``Reading/release()`` (or for ``apply(_:fileID:reading:progress:)``
    ///   to begin) before it starts: a file read ahead begins once the file before it is read,
    ///   instead of competing with it.
    public func startReading(url: URL, originalName: String, arrivalDay: CivilDate, held: Bool = false) -> Reading {
        let size = fileSize(of: url)
        let reading = Reading(url: url, arrivalDay: arrivalDay, inMemory: tuning.readsRegistryIntoMemory(fileSize: size), size: size)
        let snapshot = reading.snapshot, inMemory = reading.inMemory, sortChunk = tuning.sortChunk, outcome = reading.outcome
        // Up to 64 batches of 1,024 rows in flight (about 40 MB), two sorted chunks: with room
        // for less than one, each thread waits on the other at every chunk; and while the
        // writing thread reads the registry snapshot at the start of a large file, the reading
        // one goes on through the first two chunks (the writing thread then decides them).
        reading.pipeline = RowPipeline.start(capacity: 64, held: held) { (emit: (IntakeItem) throws -> Void) in
            var chunk: [IntakeItem] = []
            chunk.reserveCapacity(sortChunk)
            func flush() throws {
                let ordered = Self.indexOrdered(chunk, arrivalDay: arrivalDay)
                chunk.removeAll(keepingCapacity: true)
                for item in ordered { try emit(item) }
            }
            var reader: TableReader?
            var chunkSize = sortChunk
            outcome.result = try self.read(url: url, originalName: originalName, opened: { reader = $0 }) { row in
                // A large file's rows are decided against the registry in memory here, as they
                // are read, while the row is still in the processor's cache. A small file's,
                // or the first rows of a large one while the snapshot is still being read, are
                // decided by the writing thread.
                if inMemory, let registry = snapshot.ready {
                    chunk.append(.decided(try decide(row, arrivalDay: arrivalDay, lookup: registry)))
                } else {
                    chunk.append(.read(row))
                }
                if chunk.count >= chunkSize {
                    try flush()
                    chunkSize = Self.nextChunkSize(sortChunk, rowsRead: row.parsed.sourceRow, fileSize: size, bytesLeft: reader?.bytesLeft)
                }
            }
            try flush()
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
        let writer = try RosterRowWriter(db, fileID: fileID)
        let size = reading.size
        let snapshot = reading.snapshot
        // A large file: the registry is read into memory once, while the first rows are parsed,
        // and rows are checked against it on the reading thread. A small one: each row is
        // looked up on this thread.
        let lookup: PersonLookup? = reading.inMemory ? nil : try PersonLookup(db)
        var rows = 0
        var pair: (school: String, date: CivilDate)?
        var tally: [OutcomeKey: OutcomeCount] = [:]
        var tallies: [[String]: [OutcomeKey: OutcomeCount]] = [:]
        /// Each pair seen so far, with whether it had no rows before this file: then a row
        /// whose key comes up for the first time in the file is new for sure, and when all of
        /// the pair's rows were new, its counts are the file's tally.
        var seenPairs: [[String]: Bool] = [:]
        var pairIsFresh = false
        // The keys of rows in fresh pairs, taken on this thread (the reading one is the busier
        // on a large file). A roster row takes at least about 60 bytes of CSV, or 15 of XLSX.
        var seen = SeenRowKeys(expectedRows: size / (reading.url.pathExtension.lowercased() == "xlsx" ? 15 : 60))
        /// Adds the current pair's tally to the file's.
        func stashTally() {
            if let pair { tallies[[pair.school, pair.date.iso], default: [:]].merge(tally, uniquingKeysWith: +) }
        }
        try reading.pipeline.consume(prepare: {
            if lookup == nil && snapshot.ready == nil { try snapshot.load { try RegistrySnapshot(db) } }
        }) { item in
            let row: RecordedRosterRow
            switch item {
            case .decided(let decided): row = decided
            case .read(let read): row = try decide(read, arrivalDay: reading.arrivalDay, lookup: lookup ?? snapshot.ready!)
            }
            let code = row.parsed.schoolCode
            if code != pair?.school || row.uploadDate != pair?.date {
                // Rows come sorted by school within each chunk: the school and pair checks
                // run once per run of rows, not once per row.
                stashTally()
                pair = (code, row.uploadDate)
                let key = [code, row.uploadDate.iso]
                tally = tallies.removeValue(forKey: key) ?? [:]
                if let fresh = seenPairs[key] {
                    pairIsFresh = fresh
                } else {
                    pairIsFresh = try !DeskStore.hasRows(db, schoolCode: code, uploadDate: key[1])
                    seenPairs[key] = pairIsFresh
                }
                if !code.isEmpty && !knownSchools.contains(code) {
                    try DeskStore.addRosterSchool(db, code: code, name: row.parsed.schoolName)
                    knownSchools.insert(code)
                    summary.newSchools.append(code)
                }
            }
            let written = try writer.write(row, isNew: pairIsFresh && seen.insert(row))
            tally[OutcomeKey(county: row.assessment.countyCode, kind: row.rosterKind, state: row.assessment.state,
                             reason: row.assessment.reason), default: OutcomeCount()].add(written)
            rows += 1
            if rows % 10_000 == 0 { try progress(rows) }
        }
        try writer.finish()
        stashTally()
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
            func add(_ value: UnsafeBufferPointer<UInt8>?) {
                // A cell is at most a few megabytes (the readers' caps), so its length always fits.
                let n = value.map { UInt32($0.count) } ?? .max
                withUnsafeBytes(of: n.littleEndian) { bytes.append(contentsOf: $0) }
                if let value { bytes.append(contentsOf: value) }
            }
            func add(_ text: String?) {
                guard var text else { return add(nil as UnsafeBufferPointer<UInt8>?) }
                text.withUTF8 { add($0) }
            }
            add(p.nationalID)
            add(p.birthDate.iso)
            add(p.name)
            add(p.countyCode)
            add(p.education)
            add(p.serviceStatus)
            add(p.deferment?.start.iso)
            add(p.deferment?.end?.iso)
        }

        /// Puts the people in ID order; a person named twice keeps the file's order, so the later
        /// row is stored last and wins.
        func sort() {
            people.sort { $0.key != $1.key ? $0.key < $1.key : $0.offset < $1.offset }
        }

        /// Calls `body` with person `i`'s values: `value(c)` for column `c` (`nil`: NULL).
        func withValues(of i: Int, _ body: ((Int) -> UnsafeBufferPointer<UInt8>?) throws -> Void) rethrows {
            try bytes.withUnsafeBufferPointer { b in
                // Each value's place, found in one pass: (start, length), length -1 for NULL.
                try withUnsafeTemporaryAllocation(of: (Int, Int).self, capacity: PersonWriter.columns.count) { places in
                    var at = people[i].offset
                    for c in places.indices {
                        let n = UInt32(littleEndian: UnsafeRawPointer(b.baseAddress! + at).loadUnaligned(as: UInt32.self))
                        places[c] = n == .max ? (at + 4, -1) : (at + 4, Int(n))
                        at += 4 + (n == .max ? 0 : Int(n))
                    }
                    try body { column in
                        let (start, n) = places[column]
                        return n < 0 ? nil : UnsafeBufferPointer(start: b.baseAddress! + start, count: n)
                    }
                }
            }
        }
    }

    /// People handed to the writing thread at a time.
    static let handOver = 1_024

    /// Applies an extract inside the caller's transaction; reading runs on a second thread.
    /// - Parameter snapshot: a registry snapshot to complete with the extract's people as they
    ///   are read (on the reading thread), so that rosters applied after this extract find the
    ///   registry in memory without reading it back; `nil` when no large roster is waiting. It
    ///   is only valid once the caller's transaction commits.
    /// - Parameter readingDone: called on the reading thread once the whole file has been read
    ///   (or its reading failed): the next file may start being read.
    public func apply(_ db: Database, fileID: Int64?, url: URL, snapshot: RegistrySnapshot? = nil,
                      readingDone: (@Sendable () -> Void)? = nil,
                      progress: (Int) throws -> Void) throws -> (rows: Int, problems: [RegistryRowProblem], format: String) {
        let writer = try PersonWriter(db, fileID: fileID)
        // The keyed person table of a national registry (about 90 MB) fits in a 256 MB page
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
            defer { readingDone?() }
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
        }, consume: { (slice: (chunk: PersonChunk, people: Range<Int>)) in
            for i in slice.people {
                try slice.chunk.withValues(of: i) { try writer.save($0) }
                rows += 1
                if rows % 10_000 == 0 { try progress(rows) }
            }
        })
        try writer.finish()
        return (rows, problems, format)
    }
}
