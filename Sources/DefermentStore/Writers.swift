import Foundation
import GRDB
import DefermentCore

/// Reads registry records (役政資料) inside a transaction, with prepared statements.
public final class PersonLookup {
    private let personStatement: RawStatement
    private let recordStatement: RawStatement?

    /// Prepares the look-ups. Deferment records are only consulted when any exist.
    public init(_ db: Database) throws {
        personStatement = try RawStatement(db, sql: """
            SELECT birth_date, name, county_code, education, service_status, deferment_start, deferment_end
            FROM person WHERE national_id = ?
            """)
        let anyRecord = try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM deferment_record)") ?? false
        recordStatement = anyRecord
            ? try RawStatement(db, sql: "SELECT start_date, end_date FROM deferment_record WHERE national_id = ? AND status = 'active'")
            : nil
    }

    /// The registry's record of a person, if any.
    public func person(_ nationalID: String) throws -> RegistryPerson? {
        personStatement.bind(1, nationalID)
        let found: RegistryPerson?? = try personStatement.fetchOne { row in
            guard let birth = row.text(0).flatMap(CivilDate.parse) else { return nil }
            var deferment: DefermentPeriod?
            if let start = row.text(5).flatMap(CivilDate.parse) {
                deferment = DefermentPeriod(start: start, end: row.text(6).flatMap(CivilDate.parse))
            }
            return RegistryPerson(nationalID: nationalID, birthDate: birth, name: row.text(1) ?? "", countyCode: row.text(2) ?? "",
                                  education: row.text(3) ?? "", serviceStatus: row.text(4) ?? "", deferment: deferment)
        }
        return found ?? nil
    }

    /// Deferment records the desk itself created for a person (建立之緩徵註記).
    public func recordedDeferments(_ nationalID: String) throws -> [DefermentPeriod] {
        guard let recordStatement else { return [] }
        recordStatement.bind(1, nationalID)
        var periods: [DefermentPeriod] = []
        try recordStatement.forEach { row in
            if let start = row.text(0).flatMap(CivilDate.parse) {
                periods.append(DefermentPeriod(start: start, end: row.text(1).flatMap(CivilDate.parse)))
            }
        }
        return periods
    }
}

/// Rows inserted ``batchSize`` to a statement: run once per row, SQLite opens and closes its
/// cursors and starts its program over for each one, which costs about as much as storing the
/// row. Call ``flush()`` after the last row.
final class BatchedInsert {
    /// Rows stored by one statement.
    static let batchSize = 32
    private let db: Database
    private let sql: (Int) -> String
    private let full: RawStatement
    private let parametersPerRow: Int
    private var values = TextBindings()
    private var waiting = 0
    private let storesEveryRow: Bool

    /// - Parameters:
    ///   - sql: the statement storing that many rows, `parametersPerRow` each.
    ///   - storesEveryRow: each statement must change exactly one row per row given, or storing
    ///     throws. For an `INSERT OR IGNORE` of rows known to be new: SQLite keeps no statement
    ///     journal for a statement that cannot abort half-way (copying every index page it
    ///     touches, in case), and the count still catches a row that was not stored.
    init(_ db: Database, parametersPerRow: Int, storesEveryRow: Bool = false, sql: @escaping (Int) -> String) throws {
        self.db = db
        self.sql = sql
        self.parametersPerRow = parametersPerRow
        self.storesEveryRow = storesEveryRow
        full = try RawStatement(db, sql: sql(Self.batchSize))
    }

    private func store(_ statement: RawStatement, rows: Int) throws {
        try statement.execute(texts: &values)
        if storesEveryRow && statement.changes != Int64(rows) {
            throw DatabaseError(resultCode: .SQLITE_CONSTRAINT, message: "\(rows) 列中只存入 \(statement.changes) 列（應為新列卻已存在）",
                                sql: statement.statement.sql)
        }
    }

    /// Adds a row: `fill` adds its values as parameters `base + 1 ...` (the row's own numbers
    /// offset by `base`). Stores the batch it completes; returns whether it did.
    @discardableResult
    func add(_ fill: (_ base: Int32, _ values: inout TextBindings) -> Void) throws -> Bool {
        fill(Int32(waiting * parametersPerRow), &values)
        waiting += 1
        guard waiting == Self.batchSize else { return false }
        try store(full, rows: waiting)
        waiting = 0
        return true
    }

    /// Stores the rows waiting for a full batch; returns whether there were any.
    @discardableResult
    func flush() throws -> Bool {
        guard waiting > 0 else { return false }
        try store(try RawStatement(db, sql: sql(waiting)), rows: waiting)
        waiting = 0
        return true
    }
}

/// Writes registry records from an extract: a row replaces everything the registry said of
/// that person, including the deferment columns (empty means none on record). People are
/// stored in batches (``BatchedInsert``): call ``finish()`` after the last ``save(_:)``.
public final class PersonWriter {
    private let batch: BatchedInsert

    public init(_ db: Database, fileID: Int64?) throws {
        // The ledger id is the same for everyone, so it is written into the statement (a
        // number the desk assigned, never text from a file).
        let file = fileID.map(String.init) ?? "NULL"
        let columns = PersonWriter.columns
        let person = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ", \(file))"
        batch = try BatchedInsert(db, parametersPerRow: columns.count) { people in
            """
            INSERT INTO person(\(columns.joined(separator: ", ")), file_id)
            VALUES \(Array(repeating: person, count: people).joined(separator: ", "))
            ON CONFLICT(national_id) DO UPDATE SET birth_date = excluded.birth_date, name = excluded.name,
              county_code = excluded.county_code, education = excluded.education, service_status = excluded.service_status,
              deferment_start = excluded.deferment_start, deferment_end = excluded.deferment_end, file_id = excluded.file_id
            """
        }
    }

    /// Stores a person (with the batch it completes), given as the values stored packed at
    /// `offset` of `packed` (``PackedRosterRows/put(_:_:)-(String?,_)``'s layout), in ``columns``
    /// order (NULL for the deferment dates of a person with none on record). The person's
    /// bytes are copied in one piece. A person named twice ends as the later call says, within
    /// a batch as across batches.
    public func save(packed: UnsafeBufferPointer<UInt8>, from offset: Int) throws {
        try batch.add { base, values in values.add(packed: packed, from: offset, parameters: Self.parameters, base: base) }
    }

    /// Each column's statement parameter, in ``columns`` order.
    private static let parameters = columns.indices.map { Int32($0 + 1) }

    /// The columns ``save(_:)`` is given, in order: national ID, birth date and deferment dates
    /// as `yyyy-mm-dd`, the county's five-digit code.
    public static let columns = ["national_id", "birth_date", "name", "county_code", "education", "service_status",
                                 "deferment_start", "deferment_end"]

    /// Stores the people of the last, partial batch.
    public func finish() throws {
        try batch.flush()
    }
}

/// The stored form of a roster row's own values, prepared off the database thread.
public struct StoredRosterFields: Sendable {
    public var key: String
    public var birthDate: String
    public var start: String
    public var end: String

    public init(_ p: ParsedRosterRow) {
        key = p.nationalID.isEmpty ? "row:\(p.sourceRow)" : p.nationalID
        birthDate = p.birthDateStored
        start = p.startStored
        end = p.endStored
    }
}

/// 64-bit FNV-1a over fields (each followed by a separator), for detecting a resent row whose
/// values changed and for telling rows' keys apart in intake.
public struct FNV1a: Sendable {
    /// The hash so far.
    public private(set) var value: UInt64 = 0xcbf29ce484222325

    public init() {}

    /// Adds a field: its UTF-8 bytes.
    public mutating func add(_ s: String) {
        // Over the contiguous bytes when the string has them (native strings do): the UTF-8
        // view's iterator costs more per byte than the hash itself.
        let done: Void? = s.utf8.withContiguousStorageIfAvailable { add(bytes: $0) }
        if done == nil { add(bytes: Array(s.utf8)) }
    }

    /// Adds a field given as its UTF-8 bytes, as ``add(_:)`` adds the string of those bytes.
    public mutating func add(bytes: UnsafeBufferPointer<UInt8>) {
        var h = value
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        value = (h ^ 0x1F) &* 0x100000001b3
    }

    private mutating func add(bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { add(bytes: $0) }
    }

    /// Adds a number as its decimal digits, as `add(String(n))` would, without making the text.
    public mutating func add(decimal n: UInt64) {
        // The digits from the last, by a constant divisor (a multiplication, where dividing
        // by a running power of ten cost a hardware division per digit, twice).
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var rest = n, i = 20
            repeat {
                i -= 1
                digits[i] = 0x30 + UInt8(truncatingIfNeeded: rest % 10)
                rest /= 10
            } while rest > 0
            add(bytes: UnsafeBufferPointer(rebasing: digits[i...]))
        }
    }
}

/// A roster row with its outcome (名冊資料列), as `deferment check` reports it; stored through
/// ``PackedRosterRows`` (``RosterRowWriter/write(_:isNew:)``).
///
/// A class: a reference moves where copying the values would retain each of their strings.
public final class RecordedRosterRow: Sendable {
    public let sourceRow: Int
    public let uploadDate: CivilDate
    public let parsed: ParsedRosterRow
    public let stored: StoredRosterFields
    public let rosterKind: RosterKind
    public let assessment: RowAssessment

    public init(sourceRow: Int, uploadDate: CivilDate, parsed: ParsedRosterRow, stored: StoredRosterFields? = nil,
                rosterKind: RosterKind, assessment: RowAssessment) {
        self.sourceRow = sourceRow
        self.uploadDate = uploadDate
        self.parsed = parsed
        let stored = stored ?? StoredRosterFields(parsed)
        self.stored = stored
        self.rosterKind = rosterKind
        self.assessment = assessment
    }
}

/// Roster rows as the values they are stored with (打包之名冊資料列): each row's texts one after
/// another in one buffer, made where the rows are decided (on the reading thread for a large
/// file), so that the writing thread binds bytes instead of making them from a row's strings.
///
/// The one place where a decided row becomes its stored values: ``RosterRowWriter`` stores
/// only rows packed here. Handed between threads as one reference for up to a thousand rows.
public final class PackedRosterRows: @unchecked Sendable {
    /// A row's texts, in this order after the row's start; ``RosterRowWriter`` binds all but the
    /// last (the school's name, kept for a school the desk does not know yet).
    public enum Value: Int, CaseIterable, Sendable {
        case uploadDate, schoolCode, rosterKind, rowKey, nationalID, name, birthDate, program, grade, status,
             start, end, countyCode, reviewState, reason, checks, schoolName

        /// The statement parameter it is bound to (0 for none): see ``RosterRowWriter``'s columns.
        var parameter: Int32 {
            switch self {
            case .uploadDate: return 3
            case .schoolCode: return 4
            case .rosterKind: return 5
            case .rowKey: return 6
            case .nationalID: return 7
            case .name: return 8
            case .birthDate: return 9
            case .program: return 10
            case .grade: return 11
            case .status: return 12
            case .start: return 13
            case .end: return 14
            case .countyCode: return 16
            case .reviewState: return 17
            case .reason: return 18
            case .checks: return 19
            case .schoolName: return 0
            }
        }
    }

    /// Where a row's values start in the buffer, and the values that are not texts.
    struct Row {
        var offset: Int
        var sourceRow: Int64
        var experimental: Bool
        var startsPair: Bool
        var keyFirstSeen: Bool
        /// ``rowHash(_:)``, once ``makeHashes()`` has made it.
        var rowHash: UInt64?
    }

    /// The rows' values: each its length as four bytes (little-endian; `UInt32.max` for NULL),
    /// then its bytes. Written through a pointer, not appended to an array: appending cost a
    /// generic call and a `memmove` per value and per length, about a tenth of the reading
    /// thread's time.
    private var storage: UnsafeMutableRawPointer
    private var capacity: Int
    private var used = 0
    private(set) var rows: [Row] = []

    /// Room for `capacity` rows.
    public init(capacity: Int) {
        rows.reserveCapacity(capacity)
        self.capacity = max(256, capacity * 256)
        storage = .allocate(byteCount: self.capacity, alignment: 8)
    }

    deinit { storage.deallocate() }

    /// The rows packed.
    public var count: Int { rows.count }

    /// Writes values at a place in the buffer.
    private struct Cursor {
        let base: UnsafeMutableRawPointer
        var at: Int

        mutating func put(length n: UInt32) {
            base.storeBytes(of: n.littleEndian, toByteOffset: at, as: UInt32.self)
            at += 4
        }

        mutating func put(_ bytes: UnsafeBufferPointer<UInt8>) {
            put(length: UInt32(bytes.count))
            if let from = bytes.baseAddress { Self.copy(UnsafeRawPointer(from), to: base + at, count: bytes.count) }
            at += bytes.count
        }

        /// Copies `n` bytes. Most values are a few bytes long: those are copied by two loads and
        /// stores that overlap as needed, where a `memmove` call cost more than the copy.
        @inline(__always)
        static func copy(_ from: UnsafeRawPointer, to: UnsafeMutableRawPointer, count n: Int) {
            switch n {
            case 0:
                return
            case 1...3:
                to.storeBytes(of: from.load(as: UInt8.self), as: UInt8.self)
                to.storeBytes(of: from.load(fromByteOffset: n / 2, as: UInt8.self), toByteOffset: n / 2, as: UInt8.self)
                to.storeBytes(of: from.load(fromByteOffset: n - 1, as: UInt8.self), toByteOffset: n - 1, as: UInt8.self)
            case 4...7:
                let head = from.loadUnaligned(as: UInt32.self), tail = from.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)
                to.storeBytes(of: head, as: UInt32.self)
                to.storeBytes(of: tail, toByteOffset: n - 4, as: UInt32.self)
            case 8...16:
                let head = from.loadUnaligned(as: UInt64.self), tail = from.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
                to.storeBytes(of: head, as: UInt64.self)
                to.storeBytes(of: tail, toByteOffset: n - 8, as: UInt64.self)
            default:
                to.copyMemory(from: from, byteCount: n)
            }
        }

        mutating func put(_ text: String?) {
            guard let text else { return put(length: .max) }
            // Read in place: `withUTF8` needs a mutable copy, a retain of a long string.
            if text.utf8.withContiguousStorageIfAvailable({ put($0) }) == nil {
                let bytes = Array(text.utf8)
                bytes.withUnsafeBufferPointer { put($0) }
            }
        }
    }

    /// Packs a decided row.
    /// - Parameter startsPair: its school or upload date differs from the row handed over
    ///   before it.
    /// - Parameter keyFirstSeen: no row before it in the file had its key (school, upload date,
    ///   roster, ``StoredRosterFields/key``), for certain; `false` when that is not known.
    public func append(parsed p: ParsedRosterRow, stored st: StoredRosterFields, uploadDate: String, rosterKind: RosterKind,
                       assessment a: RowAssessment, startsPair: Bool, keyFirstSeen: Bool) {
        let reason = a.reason?.text
        let checks = a.checks.isEmpty ? "" : a.checks.map(\.text).joined(separator: "；")
        // Room for the row first, so that the values are then written without a check each.
        // Summed one by one: an array of the texts would cost an allocation per row.
        var size = 4 * Value.allCases.count
        size += uploadDate.utf8.count + p.schoolCode.utf8.count + rosterKind.rawValue.utf8.count + st.key.utf8.count
        size += p.nationalID.utf8.count + p.name.utf8.count + st.birthDate.utf8.count + p.program.utf8.count
        size += p.grade.utf8.count + p.status.utf8.count + st.start.utf8.count + st.end.utf8.count
        size += (a.countyCode?.utf8.count ?? 0) + a.state.rawValue.utf8.count + (reason?.utf8.count ?? 0)
        size += checks.utf8.count + p.schoolName.utf8.count
        reserve(used + size)
        rows.append(Row(offset: used, sourceRow: Int64(p.sourceRow), experimental: p.experimental, startsPair: startsPair,
                        keyFirstSeen: keyFirstSeen))
        var c = Cursor(base: storage, at: used)
        c.put(uploadDate); c.put(p.schoolCode); c.put(rosterKind.rawValue); c.put(st.key); c.put(p.nationalID); c.put(p.name)
        c.put(st.birthDate); c.put(p.program); c.put(p.grade); c.put(p.status); c.put(st.start); c.put(st.end)
        c.put(a.countyCode); c.put(a.state.rawValue); c.put(reason); c.put(checks)
        c.put(p.schoolName)
        // The room reserved is exactly what was written: a value added to one list and not to
        // the other would write past the buffer.
        precondition(c.at == used + size, "packed row size")
        used = c.at
    }

    /// Makes room for `bytes` bytes in all.
    private func reserve(_ bytes: Int) {
        guard bytes > capacity else { return }
        var grown = capacity * 2
        while grown < bytes { grown *= 2 }
        let moved = UnsafeMutableRawPointer.allocate(byteCount: grown, alignment: 8)
        moved.copyMemory(from: storage, byteCount: used)
        storage.deallocate()
        storage = moved
        capacity = grown
    }

    /// Calls `body` with the packed bytes.
    func withBytes<T>(_ body: (UnsafeBufferPointer<UInt8>) throws -> T) rethrows -> T {
        try body(UnsafeBufferPointer(start: storage.assumingMemoryBound(to: UInt8.self), count: used))
    }

    /// Appends a value as ``PackedRosterRows`` lays it out: its length as four bytes
    /// (little-endian; `UInt32.max` for NULL), then its bytes. For other packed buffers.
    @inlinable public static func put(_ value: UnsafeBufferPointer<UInt8>?, _ b: inout [UInt8]) {
        // A cell is at most a few megabytes (the readers' caps), so its length always fits.
        let n = value.map { UInt32($0.count) } ?? .max
        withUnsafeBytes(of: n.littleEndian) { b.append(contentsOf: $0) }
        if let value { b.append(contentsOf: value) }
    }

    /// Appends a text value (`nil`: NULL), as ``put(_:_:)-(UnsafeBufferPointer<UInt8>?,_)`` does.
    @inlinable public static func put(_ text: String?, _ b: inout [UInt8]) {
        guard var text else { return put(nil as UnsafeBufferPointer<UInt8>?, &b) }
        text.withUTF8 { put($0, &b) }
    }

    /// Packs a row made by ``RecordedRosterRow``.
    public func append(_ r: RecordedRosterRow, startsPair: Bool, keyFirstSeen: Bool) {
        append(parsed: r.parsed, stored: r.stored, uploadDate: r.uploadDate.iso, rosterKind: r.rosterKind,
               assessment: r.assessment, startsPair: startsPair, keyFirstSeen: keyFirstSeen)
    }

    /// Empties the buffer, keeping its room.
    func removeAll() {
        used = 0
        rows.removeAll(keepingCapacity: true)
    }

    /// Makes every row's ``rowHash(_:)`` now, on the thread that packed them, when the storing
    /// thread falls behind.
    public func makeHashes() {
        for i in rows.indices where rows[i].rowHash == nil { rows[i].rowHash = makeRowHash(i) }
    }

    /// The hash of row `i`'s values and outcome, as ``makeHashes()`` made it or made now: see
    /// ``makeRowHash(_:)``.
    public func rowHash(_ i: Int) -> UInt64 { rows[i].rowHash ?? makeRowHash(i) }

    /// Whether row `i`'s school or upload date differs from the row before it.
    public func startsPair(_ i: Int) -> Bool { rows[i].startsPair }

    /// Whether, for certain, no row before row `i` in its file had its key (as packed).
    public func keyFirstSeen(_ i: Int) -> Bool { rows[i].keyFirstSeen }

    /// The hash of row `i`'s values and outcome (stored as 16 lowercase hex digits): FNV-1a of
    /// the row's own values (national ID to end date, then 1 or 0 for experimental education)
    /// as decimal digits, then of the county, reason and check results (NULL as empty). Made
    /// from the packed bytes, by the storing thread or, when it is behind, by the packing one
    /// (``makeHashes()``); the same as stored by earlier files, so a resent row is still
    /// recognised.
    private func makeRowHash(_ i: Int) -> UInt64 {
        withBytes { b in
            var content = FNV1a(), row = FNV1a()
            let experimental = rows[i].experimental
            _ = Self.walk(b, from: rows[i].offset) { v, start, n in
                let bytes = UnsafeBufferPointer(rebasing: b[start..<(start + max(n, 0))])
                switch Value(rawValue: v)! {
                case .nationalID, .name, .birthDate, .program, .grade, .status, .start, .end:
                    content.add(bytes: bytes)
                case .countyCode:
                    content.add(experimental ? "1" : "0")
                    row.add(decimal: content.value)
                    row.add(bytes: bytes)
                case .reason, .checks:
                    row.add(bytes: bytes)
                default:
                    break
                }
            }
            return row.value
        }
    }

    /// Value `v` of row `i` as text (`nil`: NULL). For the few values read once per school or
    /// on the slow path; storing binds the bytes.
    public func text(_ i: Int, _ v: Value) -> String? {
        withBytes { b in
            var found: String?
            _ = Self.walk(b, from: rows[i].offset) { k, start, n in
                if k == v.rawValue && n >= 0 { found = String(decoding: UnsafeBufferPointer(rebasing: b[start..<(start + n)]),
                                                              as: UTF8.self) }
            }
            return found
        }
    }

    /// The parameter each value is bound to, by ``Value`` order (0: not bound).
    static let parameters = Value.allCases.map(\.parameter)

    /// Walks the values of the row starting at `offset` of `b`, in ``Value`` order: calls `body`
    /// with each value's place in that order, its start and its length (-1 for NULL). Returns
    /// the offset just after the row.
    static func walk(_ b: UnsafeBufferPointer<UInt8>, from offset: Int, _ body: (Int, Int, Int) -> Void) -> Int {
        walk(b, from: offset, values: Value.allCases.count, body)
    }

    /// ``walk(_:from:_:)`` over `values` values packed in this layout (a registry chunk's people).
    static func walk(_ b: UnsafeBufferPointer<UInt8>, from offset: Int, values: Int, _ body: (Int, Int, Int) -> Void) -> Int {
        var at = offset
        for v in 0..<values {
            let n = UInt32(littleEndian: UnsafeRawPointer(b.baseAddress! + at).loadUnaligned(as: UInt32.self))
            let length = n == .max ? -1 : Int(n)
            body(v, at + 4, length)
            at += 4 + max(length, 0)
        }
        return at
    }
}

/// What storing a roster row did.
public enum RosterRowWrite: Sendable {
    /// A new row.
    case inserted
    /// The same student was already in this school's roster of this upload date with other
    /// values, still undecided: the new values replace the old.
    case replaced
    /// Already recorded exactly so (or already decided): nothing changed.
    case duplicate
}

/// Stores roster rows. The key is (school, upload date, roster, national ID), so a row sent
/// again for the same school and upload date is not recorded twice.
///
/// A row the caller knows to be new (its school and upload date had no rows before this file,
/// and its key comes up for the first time in the file) is stored with others in batches
/// (``BatchedInsert``); any other row is stored at once by an upsert that tells what it did,
/// after the waiting rows. Call ``finish()`` after the last row.
public final class RosterRowWriter {
    private static let columns = """
        file_id, source_row, upload_date, school_code, roster_kind, row_key, national_id, name,
          birth_date, program, grade, enrolment_status, start_date, end_date, experimental, county_code,
          review_state, reason, checks, row_hash
        """
    private static let placeholders = "(" + Array(repeating: "?", count: 20).joined(separator: ", ") + ")"

    private let upsert: RawStatement
    private let batch: BatchedInsert
    private let fileID: Int64
    /// The highest row id so far: a new row always gets a higher one, an update none.
    private var highestRowID: Int64
    private var texts = TextBindings()
    /// Where ``write(_:isNew:)`` packs a row.
    private let scratch = PackedRosterRows(capacity: 1)

    public init(_ db: Database, fileID: Int64) throws {
        self.fileID = fileID
        highestRowID = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(id), 0) FROM roster_row") ?? 0
        batch = try BatchedInsert(db, parametersPerRow: 20, storesEveryRow: true) { rows in
            "INSERT OR IGNORE INTO roster_row(\(Self.columns)) VALUES "
                + Array(repeating: Self.placeholders, count: rows).joined(separator: ", ")
        }
        upsert = try RawStatement(db, sql: """
            INSERT INTO roster_row(\(Self.columns))
            VALUES \(Self.placeholders)
            ON CONFLICT(school_code, upload_date, roster_kind, row_key) DO UPDATE SET
              file_id = excluded.file_id, source_row = excluded.source_row, national_id = excluded.national_id,
              name = excluded.name, birth_date = excluded.birth_date, program = excluded.program, grade = excluded.grade,
              enrolment_status = excluded.enrolment_status, start_date = excluded.start_date, end_date = excluded.end_date,
              experimental = excluded.experimental, county_code = excluded.county_code, review_state = excluded.review_state,
              reason = excluded.reason, checks = excluded.checks, row_hash = excluded.row_hash,
              draft_decision = NULL, draft_comment = NULL, decision_note = NULL
            WHERE roster_row.row_hash <> excluded.row_hash AND roster_row.review_state IN ('不分派', '待審核')
            """)
    }

    /// Adds row `i` of `packed` as parameters `base + 1 ... base + 20`.
    private func add(_ packed: PackedRosterRows, _ i: Int, base: Int32, to texts: inout TextBindings) {
        let row = packed.rows[i]
        texts.add(base + 1, fileID)
        texts.add(base + 2, row.sourceRow)
        texts.add(base + 15, Int64(row.experimental ? 1 : 0))
        texts.add(base + 20, hex: packed.rowHash(i))
        packed.withBytes { texts.add(packed: $0, from: row.offset, parameters: PackedRosterRows.parameters, base: base) }
    }

    /// Stores row `i` of `packed`.
    /// - Parameter isNew: the caller knows no row with this key exists (see the type's
    ///   description); the row is then stored with its batch and counted as inserted.
    public func write(_ packed: PackedRosterRows, _ i: Int, isNew: Bool = false) throws -> RosterRowWrite {
        if isNew {
            // Read as soon as a batch is stored: the connection's last id may be another table's
            // by the time of the next upsert.
            if try batch.add({ base, values in add(packed, i, base: base, to: &values) }) { highestRowID = upsert.lastInsertedRowID }
            return .inserted
        }
        try finish()
        let s = upsert
        let before = s.totalChanges
        add(packed, i, base: 0, to: &texts)
        try s.execute(texts: &texts)
        guard s.totalChanges != before else { return .duplicate }
        let rowID = s.lastInsertedRowID
        guard rowID > highestRowID else { return .replaced }
        highestRowID = rowID
        return .inserted
    }

    /// Stores one row (packed on the way: see ``write(_:_:isNew:)``).
    public func write(_ r: RecordedRosterRow, isNew: Bool = false) throws -> RosterRowWrite {
        scratch.removeAll()
        scratch.append(r, startsPair: false, keyFirstSeen: false)
        return try write(scratch, 0, isNew: isNew)
    }

    /// Stores the rows still waiting for a batch; call once after the last ``write(_:_:isNew:)``.
    public func finish() throws {
        // Batched rows were inserted, each with a higher id than the one before.
        if try batch.flush() { highestRowID = upsert.lastInsertedRowID }
    }
}
