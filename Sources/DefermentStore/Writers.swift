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
        recordStatement = anyRecord ? try RawStatement(db, sql: "SELECT start_date, end_date FROM deferment_record WHERE national_id = ? AND status = 'active'") : nil
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

    /// Stores a person (with the batch it completes), given as the UTF-8 bytes of the values
    /// stored: `value(i)` is column `i` of ``columns`` (`nil`: NULL, for the deferment dates
    /// of a person with none on record). A person named twice ends as the later call says,
    /// within a batch as across batches.
    public func save(_ value: (Int) -> UnsafeBufferPointer<UInt8>?) throws {
        try batch.add { base, values in
            for i in 0..<Self.columns.count { values.add(base + Int32(i + 1), bytes: value(i)) }
        }
    }

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
    /// FNV-1a over the row's own values; the outcome is mixed in when it is stored.
    public var contentHash: UInt64

    public init(_ p: ParsedRosterRow) {
        key = p.nationalID.isEmpty ? "row:\(p.sourceRow)" : p.nationalID
        birthDate = p.birthDateStored
        start = p.startStored
        end = p.endStored
        var h = FNV1a()
        h.add(p.nationalID); h.add(p.name); h.add(birthDate); h.add(p.program); h.add(p.grade)
        h.add(p.status); h.add(start); h.add(end); h.add(p.experimental ? "1" : "0")
        contentHash = h.value
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
        var h = value
        // Over the contiguous bytes when the string has them (native strings do): the UTF-8
        // view's iterator costs more per byte than the hash itself. The loop is written out in
        // both branches: a nested function capturing `h` measured 25% slower.
        let done: Void? = s.utf8.withContiguousStorageIfAvailable { bytes in
            for b in bytes { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        }
        if done == nil {
            for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        }
        value = (h ^ 0x1F) &* 0x100000001b3
    }

    /// Adds a number as its decimal digits, as `add(String(n))` would, without making the text.
    public mutating func add(decimal n: UInt64) {
        var divisor: UInt64 = 1
        while n / divisor >= 10 { divisor *= 10 }
        var h = value
        var rest = n
        while true {
            h = (h ^ (0x30 + rest / divisor)) &* 0x100000001b3
            rest %= divisor
            if divisor == 1 { break }
            divisor /= 10
        }
        value = (h ^ 0x1F) &* 0x100000001b3
    }
}

/// A roster row with its outcome, ready to be stored (名冊資料列).
///
/// A class: a million of these pass from the reading thread to the writing one, and moving a
/// reference costs one retain where copying the values would retain each of their strings.
public final class RecordedRosterRow: Sendable {
    public let sourceRow: Int
    public let uploadDate: CivilDate
    public let parsed: ParsedRosterRow
    public let stored: StoredRosterFields
    public let rosterKind: RosterKind
    public let assessment: RowAssessment
    /// The stored forms of the outcome: the check results joined by ；, the reason, and the
    /// hash of the row's values and outcome. Made where the row is decided (on the reading
    /// thread for a large file), so the writing thread only binds them.
    public let checksText: String
    public let reasonText: String?
    /// The hash of the row's values and outcome; stored as 16 lowercase hex digits, written
    /// straight into the statement's values rather than made into a `String` per row.
    public let rowHash: UInt64
    /// FNV-1a of the row's unique key (school, upload date, roster, ``StoredRosterFields/key``),
    /// made with the row so that the writing thread only tests it (intake's filter of keys seen).
    public let keyHash: UInt64

    public init(sourceRow: Int, uploadDate: CivilDate, parsed: ParsedRosterRow, stored: StoredRosterFields? = nil,
                rosterKind: RosterKind, assessment: RowAssessment) {
        self.sourceRow = sourceRow
        self.uploadDate = uploadDate
        self.parsed = parsed
        let stored = stored ?? StoredRosterFields(parsed)
        self.stored = stored
        self.rosterKind = rosterKind
        self.assessment = assessment
        checksText = assessment.checks.isEmpty ? "" : assessment.checks.map(\.text).joined(separator: "；")
        reasonText = assessment.reason?.text
        var h = FNV1a()
        h.add(decimal: stored.contentHash); h.add(assessment.countyCode ?? ""); h.add(reasonText ?? ""); h.add(checksText)
        rowHash = h.value
        var k = FNV1a()
        k.add(parsed.schoolCode); k.add(decimal: UInt64(truncatingIfNeeded: uploadDate.daysSinceEpoch))
        k.add(decimal: rosterKind == .leaving ? 1 : 0); k.add(stored.key)
        keyHash = k.value
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
    /// The last upload date and its stored form (a file has one or a few).
    private var lastDate = (CivilDate(year: 1900, month: 1, day: 1)!, "1900-01-01")

    public init(_ db: Database, fileID: Int64) throws {
        self.fileID = fileID
        highestRowID = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(id), 0) FROM roster_row") ?? 0
        batch = try BatchedInsert(db, parametersPerRow: 20, storesEveryRow: true) { rows in
            "INSERT OR IGNORE INTO roster_row(\(Self.columns)) VALUES \(Array(repeating: Self.placeholders, count: rows).joined(separator: ", "))"
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

    /// Adds a row's values as parameters `base + 1 ... base + 20`.
    private func add(_ r: RecordedRosterRow, base: Int32, to texts: inout TextBindings) {
        let p = r.parsed
        let st = r.stored
        if r.uploadDate != lastDate.0 { lastDate = (r.uploadDate, r.uploadDate.iso) }
        texts.add(base + 1, fileID)
        texts.add(base + 2, Int64(r.sourceRow))
        texts.add(base + 15, Int64(p.experimental ? 1 : 0))
        texts.add(base + 3, lastDate.1)
        texts.add(base + 4, p.schoolCode)
        texts.add(base + 5, r.rosterKind.rawValue)
        texts.add(base + 6, st.key)
        texts.add(base + 7, p.nationalID)
        texts.add(base + 8, p.name)
        texts.add(base + 9, st.birthDate)
        texts.add(base + 10, p.program)
        texts.add(base + 11, p.grade)
        texts.add(base + 12, p.status)
        texts.add(base + 13, st.start)
        texts.add(base + 14, st.end)
        texts.add(base + 16, r.assessment.countyCode)
        texts.add(base + 17, r.assessment.state.rawValue)
        texts.add(base + 18, r.reasonText)
        texts.add(base + 19, r.checksText)
        texts.add(base + 20, hex: r.rowHash)
    }

    /// Stores one row.
    /// - Parameter isNew: the caller knows no row with this key exists (see the type's
    ///   description); the row is then stored with its batch and counted as inserted.
    public func write(_ r: RecordedRosterRow, isNew: Bool = false) throws -> RosterRowWrite {
        if isNew {
            // Read as soon as a batch is stored: the connection's last id may be another table's
            // by the time of the next upsert.
            if try batch.add({ base, values in add(r, base: base, to: &values) }) { highestRowID = upsert.lastInsertedRowID }
            return .inserted
        }
        try finish()
        let s = upsert
        let before = s.totalChanges
        add(r, base: 0, to: &texts)
        try s.execute(texts: &texts)
        guard s.totalChanges != before else { return .duplicate }
        let rowID = s.lastInsertedRowID
        guard rowID > highestRowID else { return .replaced }
        highestRowID = rowID
        return .inserted
    }

    /// Stores the rows still waiting for a batch; call once after the last ``write(_:isNew:)``.
    public func finish() throws {
        // Batched rows were inserted, each with a higher id than the one before.
        if try batch.flush() { highestRowID = upsert.lastInsertedRowID }
    }
}
