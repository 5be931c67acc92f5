import Foundation
import GRDB
import DefermentCore
import DefermentFiles
import DefermentStore

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
                switch RegistryRules.check(cell, rules: rules, counties: counties) {
                case .failure(let p):
                    try problem(RegistryRowProblem(row: row.number, column: p.column.rawValue, message: p.message))
                case .success(var checked):
                    try checked.countyCode.withUTF8 { county in
                        try person(PersonRead(nationalID: checked.nationalID, key: RegistrySnapshot.pack(checked.nationalID),
                                              birthDate: checked.birthDate, deferment: checked.deferment, name: cell(.name),
                                              countyCode: county, education: cell(.education), serviceStatus: cell(.serviceStatus)))
                    }
                }
            })
        } catch let e as TableFileError {
            throw FileRejection(e)
        }
        let required = RegistryColumn.allCases.filter(\.isRequired)
        _ = try HeaderMap.checked(header, required: required,
            noHeader: FileRejection(problem: "找不到標題列：檔案前 10 列中沒有役政資料欄位名稱。",
                                    fix: "請確認標題列含有：\(required.map(\.rawValue).joined(separator: "、"))。"),
            missing: { _, absent in
                FileRejection(problem: "標題列缺少必要欄位：\(absent.map(\.rawValue).joined(separator: "、"))。",
                              fix: "請補上這些欄位後重新提供役政資料檔。")
            })
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
