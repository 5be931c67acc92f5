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

/// Writes registry records from an extract: a row replaces everything the registry said of
/// that person, including the deferment columns (empty means none on record).
public final class PersonWriter {
    private let statement: RawStatement
    private let fileID: Int64?

    public init(_ db: Database, fileID: Int64?) throws {
        self.fileID = fileID
        statement = try RawStatement(db, sql: """
            INSERT INTO person(national_id, birth_date, name, county_code, education, service_status, deferment_start, deferment_end, file_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(national_id) DO UPDATE SET birth_date = excluded.birth_date, name = excluded.name,
              county_code = excluded.county_code, education = excluded.education, service_status = excluded.service_status,
              deferment_start = excluded.deferment_start, deferment_end = excluded.deferment_end, file_id = excluded.file_id
            """)
    }

    private var texts = TextBindings()

    public func save(_ p: RegistryPerson) throws {
        texts.add(1, p.nationalID)
        texts.add(2, p.birthDate.iso)
        texts.add(3, p.name)
        texts.add(4, p.countyCode)
        texts.add(5, p.education)
        texts.add(6, p.serviceStatus)
        texts.add(7, p.deferment?.start.iso)
        texts.add(8, p.deferment?.end?.iso)
        statement.bind(9, fileID)
        try statement.execute(texts: &texts)
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
        for f in [p.nationalID, p.name, birthDate, p.program, p.grade, p.status, start, end, p.experimental ? "1" : "0"] { h.add(f) }
        contentHash = h.value
    }
}

/// 64-bit FNV-1a, for detecting a resent row whose values changed.
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf29ce484222325
    mutating func add(_ s: String) {
        var h = value
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        value = (h ^ 0x1F) &* 0x100000001b3
    }
    var hex: String {
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
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
    public let rowHash: String

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
        h.add(String(stored.contentHash)); h.add(assessment.countyCode ?? ""); h.add(reasonText ?? ""); h.add(checksText)
        rowHash = h.hex
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

/// Stores roster rows with one prepared statement. The key is (school, upload date, roster,
/// national ID), so a row sent again for the same school and upload date is not recorded twice.
public final class RosterRowWriter {
    private let statement: RawStatement
    private let db: Database
    private let fileID: Int64
    /// The highest row id so far: a new row always gets a higher one, an update none.
    private var highestRowID: Int64
    private var texts = TextBindings()
    /// The last upload date and its stored form (a file has one or a few).
    private var lastDate = (CivilDate(year: 1900, month: 1, day: 1)!, "1900-01-01")

    public init(_ db: Database, fileID: Int64) throws {
        self.db = db
        self.fileID = fileID
        highestRowID = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(id), 0) FROM roster_row") ?? 0
        statement = try RawStatement(db, sql: """
            INSERT INTO roster_row(file_id, source_row, upload_date, school_code, roster_kind, row_key, national_id, name,
              birth_date, program, grade, enrolment_status, start_date, end_date, experimental, county_code,
              review_state, reason, checks, row_hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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

    /// Stores one row.
    public func write(_ r: RecordedRosterRow) throws -> RosterRowWrite {
        let p = r.parsed
        let st = r.stored
        let before = db.totalChangesCount
        let s = statement
        if r.uploadDate != lastDate.0 { lastDate = (r.uploadDate, r.uploadDate.iso) }
        s.bind(1, fileID)
        s.bind(2, Int64(r.sourceRow))
        s.bind(15, Int64(p.experimental ? 1 : 0))
        texts.add(3, lastDate.1)
        texts.add(4, p.schoolCode)
        texts.add(5, r.rosterKind.rawValue)
        texts.add(6, st.key)
        texts.add(7, p.nationalID)
        texts.add(8, p.name)
        texts.add(9, st.birthDate)
        texts.add(10, p.program)
        texts.add(11, p.grade)
        texts.add(12, p.status)
        texts.add(13, st.start)
        texts.add(14, st.end)
        texts.add(16, r.assessment.countyCode)
        texts.add(17, r.assessment.state.rawValue)
        texts.add(18, r.reasonText)
        texts.add(19, r.checksText)
        texts.add(20, r.rowHash)
        try s.execute(texts: &texts)
        guard db.totalChangesCount != before else { return .duplicate }
        guard db.lastInsertedRowID > highestRowID else { return .replaced }
        highestRowID = db.lastInsertedRowID
        return .inserted
    }
}
