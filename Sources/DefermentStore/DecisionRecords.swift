import Foundation
import GRDB
import DefermentCore

extension DeskStore {
    /// Schema for county decisions: decisions awaiting sign-off on the row, every change in
    /// `decision_history`, what the desk told each county about its files, and deferment
    /// records tied to the rows that created or ended them.
    static func migrateDecisions(_ db: Database) throws {
        try db.execute(sql: """
            -- A decision recorded without sign-off (陳核中): the county sees it, the school does not.
            ALTER TABLE roster_row ADD COLUMN draft_decision TEXT;
            ALTER TABLE roster_row ADD COLUMN draft_comment TEXT;
            -- A note for the county from applying a decision (e.g. no open record to end).
            ALTER TABLE roster_row ADD COLUMN decision_note TEXT;
            CREATE INDEX roster_row_draft ON roster_row(county_code, upload_date, school_code) WHERE draft_decision IS NOT NULL;
            -- Every decision change: what, who, when, from which file (審核歷程).
            CREATE TABLE decision_history(
              id INTEGER PRIMARY KEY, roster_row_id INTEGER NOT NULL, file_id INTEGER NOT NULL,
              decision TEXT NOT NULL, comment TEXT NOT NULL, final INTEGER NOT NULL,
              reviewer TEXT NOT NULL, approver TEXT NOT NULL, approved_on TEXT, recorded_at TEXT NOT NULL);
            CREATE INDEX decision_history_row ON decision_history(roster_row_id);
            -- What the desk reported to a county about each decision file it dropped (處理結果通知).
            CREATE TABLE county_notice(
              id INTEGER PRIMARY KEY, county_code TEXT NOT NULL, received_at TEXT NOT NULL, file_name TEXT NOT NULL,
              accepted INTEGER NOT NULL, summary TEXT NOT NULL, problems TEXT NOT NULL);
            CREATE INDEX county_notice_county ON county_notice(county_code, id);
            -- Deferment records (緩徵註記) created or ended by final decisions.
            ALTER TABLE deferment_record ADD COLUMN roster_row_id INTEGER;
            ALTER TABLE deferment_record ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
            ALTER TABLE deferment_record ADD COLUMN ended_by_row_id INTEGER;
            ALTER TABLE deferment_record ADD COLUMN ended_from TEXT;
            ALTER TABLE deferment_record ADD COLUMN updated_at TEXT;
            CREATE INDEX deferment_record_row ON deferment_record(roster_row_id);
            CREATE INDEX deferment_record_ended_by ON deferment_record(ended_by_row_id);
            """)
    }
}

/// A row of a county's decision workbook (審核名冊列): what the county reviews and decides.
public struct DecisionSheetRow: Sendable {
    /// The row's id in the database (序號): how a returned workbook names its rows.
    public var id: Int64
    public var rosterKind: RosterKind
    public var schoolCode: String
    public var schoolName: String
    public var nationalID: String
    public var name: String
    public var birthDate: String
    public var program: String
    public var grade: String
    public var status: String
    public var start: String
    public var end: String
    /// 系統檢核: check results and any note from an earlier decision.
    public var checks: String
    public var state: ReviewState
    public var comment: String
    public var draft: RowDecision?

    /// The decision the workbook shows: a decision awaiting sign-off, else the final one.
    public var shownDecision: (word: String, comment: String) {
        if let d = draft { return (d.word.rawValue, d.comment) }
        switch state {
        case .approved, .refused: return (state.rawValue, comment)
        default: return ("", "")
        }
    }

    /// The sheets' rows from a county's roster rows as pages read them (one read serves the
    /// county's roster page and its workbook): 申請緩徵名冊 before 離校學生名冊, then by school
    /// code, then in their order in the school's file. 系統檢核 carries any note from an earlier
    /// decision; a school not in the list is shown by its code.
    public static func sheets(of rows: [ReportRow], schoolNames: [String: String]) -> [DecisionSheetRow] {
        // Sorted by integer keys: a county has a few hundred schools but tens of thousands of
        // rows, so each school code is ranked once instead of compared at every step.
        let schoolRank = Dictionary(uniqueKeysWithValues: Set(rows.lazy.map(\.schoolCode)).sorted().enumerated().map { ($1, $0) })
        let keys = rows.map { r in (r.kind == .application ? 0 : 1, schoolRank[r.schoolCode]!, r.sourceRow, r.id) }
        return rows.indices.sorted { keys[$0] < keys[$1] }.map { i in
            let r = rows[i]
            var checks = r.checks
            if let note = r.decisionNote, !note.isEmpty { checks = checks.isEmpty ? note : checks + "；" + note }
            return DecisionSheetRow(
                id: r.id, rosterKind: r.kind, schoolCode: r.schoolCode,
                schoolName: schoolNames[r.schoolCode] ?? r.schoolCode, nationalID: r.nationalID, name: r.name, birthDate: r.birthDate,
                program: r.program, grade: r.grade, status: r.status, start: r.start, end: r.end, checks: checks,
                state: r.state ?? .pending, comment: r.comment,
                draft: r.draftDecision.flatMap(DecisionWord.init(rawValue:)).map { RowDecision(word: $0, comment: r.draftComment ?? "") })
        }
    }

    public init(id: Int64, rosterKind: RosterKind, schoolCode: String, schoolName: String, nationalID: String, name: String,
                birthDate: String, program: String, grade: String, status: String, start: String, end: String, checks: String,
                state: ReviewState, comment: String, draft: RowDecision?) {
        self.id = id; self.rosterKind = rosterKind; self.schoolCode = schoolCode; self.schoolName = schoolName
        self.nationalID = nationalID; self.name = name; self.birthDate = birthDate; self.program = program; self.grade = grade
        self.status = status; self.start = start; self.end = end; self.checks = checks; self.state = state; self.comment = comment
        self.draft = draft
    }

    /// 目前狀態 as the county sees it.
    public var countyState: String { draft != nil ? "陳核中" : state.rawValue }
}

/// A roster row as a returned workbook is checked against it.
public struct DecidableRow: Sendable {
    public var id: Int64
    public var countyCode: String?
    public var uploadDate: String
    public var schoolCode: String
    public var rosterKind: RosterKind
    public var nationalID: String
    public var name: String
    public var birthDate: String
    public var start: String
    public var end: String
    public var current: DecisionRules.Current
    /// The row's latest final decision: the file that recorded it and its 核定日期.
    public var lastFinal: (fileID: Int64, day: CivilDate?, recordedAt: String)?
}

/// One entry of a row's decision history (審核歷程).
public struct DecisionHistoryEntry: Sendable {
    public var rosterRowID: Int64
    public var decision: String
    public var comment: String
    public var final: Bool
    public var approver: String
    public var approvedOn: String?
    public var recordedAt: String

    /// One line: a final decision by its 核定日期 and 核定人, a submission by the day it arrived;
    /// dates as 民國, as clerks write them.
    public var line: String {
        func roc(_ text: String) -> String { CivilDate.parse(String(text.prefix(10)))?.roc ?? String(text.prefix(10)) }
        let what = decision + (comment.isEmpty ? "" : "（\(comment)）")
        if final { return "核定 \(roc(approvedOn ?? recordedAt)) \(what)" + (approver.isEmpty ? "" : "・核定人 \(approver)") }
        return "陳核 \(roc(recordedAt)) 陳核中：\(what)"
    }
}

/// What a county was told about a decision file (處理結果通知), without personal data.
public struct CountyNotice: Sendable {
    public var receivedAt: String
    /// The file as public pages name it: its digest's first characters, never its name (a
    /// name may hold personal data).
    public var fileReference: String
    public var accepted: Bool
    public var summary: String
    public var problems: [String]
}

extension DeskStore {
    /// The decision awaiting sign-off stored in a row's `draft_decision` and `draft_comment`
    /// columns, at these positions of a fetched row.
    static func storedDraft(_ row: Row, word: Int, comment: Int) -> RowDecision? {
        let text: String? = row[word]
        return text.flatMap(DecisionWord.init(rawValue:)).map { RowDecision(word: $0, comment: row[comment] ?? "") }
    }

    /// The rows of a county's decision workbook for one upload date, by roster and school (in
    /// code order), each school's rows in their order in its file (``DecisionSheetRow/sheets(of:schoolNames:)``).
    public static func decisionSheetRows(_ db: Database, county: String, uploadDate: String) throws -> [DecisionSheetRow] {
        let names = try Dictionary(Row.fetchAll(db, sql: "SELECT code, name FROM school").map { ($0[0] as String, $0[1] as String) }) {
            a, _ in a
        }
        return DecisionSheetRow.sheets(of: try countyRosterRows(db, county: county, uploadDate: uploadDate), schoolNames: names)
    }

    /// The upload dates with rows assigned to each county (newest first), purged dates left out.
    public static func decisionDates(_ db: Database) throws -> [String: [String]] {
        var result: [String: [String]] = [:]
        for row in try Row.fetchAll(db, sql: """
            SELECT DISTINCT county_code, upload_date FROM roster_counts
            WHERE county_code <> '' AND upload_date NOT IN (SELECT upload_date FROM purged_month) ORDER BY upload_date DESC
            """) {
            result[row[0], default: []].append(row[1])
        }
        return result
    }

    /// Undecided rows awaiting sign-off (陳核中) by county, upload date and school (a correction
    /// of a decided row awaiting sign-off is counted under its current decision).
    public static func awaitingSignOffCounts(_ db: Database) throws -> [String: [String: [String: Int]]] {
        var result: [String: [String: [String: Int]]] = [:]
        for row in try Row.fetchAll(db, sql: """
            SELECT county_code, upload_date, school_code, COUNT(*) FROM roster_row INDEXED BY roster_row_draft
            WHERE draft_decision IS NOT NULL AND review_state = '待審核' GROUP BY county_code, upload_date, school_code
            """) {
            result[row[0], default: [:]][row[1], default: [:]][row[2]] = row[3]
        }
        return result
    }

    /// A row as a returned workbook is checked against it, by id.
    public static func decidableRow(_ db: Database, id: Int64) throws -> DecidableRow? {
        try Row.fetchOne(db, sql: """
            SELECT r.id, r.county_code, r.upload_date, r.school_code, r.roster_kind, r.national_id, r.name, r.birth_date, r.start_date,
                   r.end_date, r.review_state, r.comment, r.draft_decision, r.draft_comment, h.file_id, h.approved_on, h.recorded_at
            FROM roster_row r
            LEFT JOIN decision_history h ON h.id = (SELECT MAX(id) FROM decision_history WHERE roster_row_id = r.id AND final = 1)
            WHERE r.id = ?
            """, arguments: [id]).map { row in
            let finalFile: Int64? = row[14]
            return DecidableRow(
                id: row[0], countyCode: row[1], uploadDate: row[2], schoolCode: row[3],
                rosterKind: RosterKind(rawValue: row[4]) ?? .application, nationalID: row[5], name: row[6], birthDate: row[7],
                start: row[8], end: row[9],
                current: DecisionRules.Current(state: ReviewState(rawValue: row[10]) ?? .pending, comment: row[11],
                                               draft: storedDraft(row, word: 12, comment: 13)),
                lastFinal: finalFile.map { ($0, (row[15] as String?).flatMap(CivilDate.parse), row[16] ?? "") })
        }
    }

    /// Records a decision awaiting sign-off (陳核中) and its history entry.
    public static func recordDraft(_ db: Database, row: DecidableRow, decision: RowDecision, signOff: SignOff, fileID: Int64) throws {
        try db.execute(sql: "UPDATE roster_row SET draft_decision = ?, draft_comment = ? WHERE id = ?",
                       arguments: [decision.word.rawValue, decision.comment, row.id])
        try addHistory(db, row: row.id, decision: decision, final: false, signOff: signOff, fileID: fileID)
    }

    /// Records a final decision, its history entry and its effect on deferment records.
    /// Returns a note for the county when the effect could not be carried out (a leaving row
    /// with no open record to end).
    public static func recordFinal(_ db: Database, row: DecidableRow, decision: RowDecision, previous: ReviewState,
                                   signOff: SignOff, fileID: Int64) throws -> String? {
        let effect = DecisionRules.recordEffect(roster: row.rosterKind, from: previous, to: decision.word.state)
        var note: String?
        switch effect {
        case .none: break
        case .create:
            let existing = try Int64.fetchOne(db, sql: "SELECT id FROM deferment_record WHERE roster_row_id = ? AND source = 'decision'",
                                              arguments: [row.id])
            if let existing {
                try db.execute(sql: """
                    UPDATE deferment_record SET status = 'active', start_date = ?, end_date = ?, updated_at = datetime('now') WHERE id = ?
                    """,
                               arguments: [row.start, row.end.isEmpty ? nil : row.end, existing])
            } else {
                try db.execute(sql: """
                    INSERT INTO deferment_record(national_id, school_code, start_date, end_date, source, roster_row_id, status, updated_at)
                    VALUES (?, ?, ?, ?, 'decision', ?, 'active', datetime('now'))
                    """, arguments: [row.nationalID, row.schoolCode, row.start, row.end.isEmpty ? nil : row.end, row.id])
            }
        case .void:
            try db.execute(sql: """
                UPDATE deferment_record SET status = 'voided', updated_at = datetime('now') WHERE roster_row_id = ? AND source = 'decision'
                """,
                           arguments: [row.id])
        case .end:
            note = try endOpenRecord(db, row: row)
        case .reopen:
            try db.execute(sql: """
                UPDATE deferment_record SET end_date = ended_from, ended_from = NULL, ended_by_row_id = NULL, updated_at = datetime('now')
                WHERE ended_by_row_id = ? AND source <> 'registry'
                """,
                           arguments: [row.id])
            try db.execute(sql: """
                UPDATE deferment_record SET status = 'voided', updated_at = datetime('now')
                WHERE ended_by_row_id = ? AND source = 'registry'
                """,
                           arguments: [row.id])
        }
        try db.execute(sql: """
            UPDATE roster_row SET review_state = ?, comment = ?, draft_decision = NULL, draft_comment = NULL, decision_note = ? WHERE id = ?
            """,
                       arguments: [decision.word.state.rawValue, decision.comment, note, row.id])
        try addHistory(db, row: row.id, decision: decision, final: true, signOff: signOff, fileID: fileID)
        return note
    }

    /// Ends the open deferment of a student who left school at the leaving date (the row's
    /// 緩徵終止日期). A record the desk created is ended; an open deferment known only from the
    /// registry gets a record that ends it. Returns a note when there is none to end.
    static func endOpenRecord(_ db: Database, row: DecidableRow) throws -> String? {
        let leaving = row.end
        guard CivilDate.parse(leaving) != nil else { return "離校日期（緩徵終止日期）無法辨識，未能終止緩徵註記" }
        let open = try Int64.fetchAll(db, sql: """
            SELECT id FROM deferment_record WHERE national_id = ? AND status = 'active' AND start_date <= ?
              AND (end_date IS NULL OR end_date = '' OR end_date > ?)
            """, arguments: [row.nationalID, leaving, leaving])
        if !open.isEmpty {
            for id in open {
                try db.execute(sql: """
                    UPDATE deferment_record SET ended_from = COALESCE(end_date, ''), end_date = ?, ended_by_row_id = ?,
                    updated_at = datetime('now') WHERE id = ?
                    """,
                               arguments: [leaving, row.id, id])
            }
            return nil
        }
        if let p = try Row.fetchOne(db, sql: "SELECT deferment_start, deferment_end FROM person WHERE national_id = ?",
                                    arguments: [row.nationalID]),
           let start: String = p[0], !start.isEmpty, start <= leaving {
            let end: String? = p[1]
            if end == nil || end!.isEmpty || end! > leaving {
                try db.execute(sql: """
                    INSERT INTO deferment_record(national_id, school_code, start_date, end_date, source, roster_row_id, status,
                      ended_by_row_id, ended_from, updated_at)
                    VALUES (?, ?, ?, ?, 'registry', ?, 'active', ?, ?, datetime('now'))
                    """, arguments: [row.nationalID, row.schoolCode, start, leaving, row.id, row.id, end ?? ""])
                return nil
            }
        }
        return "查無未結束之緩徵註記可終止，請確認此生是否曾核准在學緩徵"
    }

    static func addHistory(_ db: Database, row: Int64, decision: RowDecision, final: Bool, signOff: SignOff, fileID: Int64) throws {
        try db.execute(sql: """
            INSERT INTO decision_history(roster_row_id, file_id, decision, comment, final, reviewer, approver, approved_on, recorded_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, datetime('now', 'localtime'))
            """, arguments: [row, fileID, decision.word.rawValue, decision.comment, final, signOff.reviewer, signOff.approver,
                             signOff.approvedOn?.iso])
    }

    /// Decision history of a school's rows (final entries only unless `includeDrafts`), by row id.
    public static func decisionHistory(_ db: Database, school: String, includeDrafts: Bool) throws -> [Int64: [DecisionHistoryEntry]] {
        try decisionHistory(db, where: "r.school_code = ?", [school], includeDrafts: includeDrafts)
    }

    /// The final decisions on the rows of one school's roster of an upload date, by row id.
    public static func decisionHistory(_ db: Database, school: String, uploadDate: String) throws -> [Int64: [DecisionHistoryEntry]] {
        try decisionHistory(db, where: "r.school_code = ? AND r.upload_date = ?", [school, uploadDate], includeDrafts: false)
    }

    /// The decision history of the rows of one county's roster of an upload date.
    public static func decisionHistory(_ db: Database, county: String, uploadDate: String) throws -> [Int64: [DecisionHistoryEntry]] {
        try decisionHistory(db, where: "r.county_code = ? AND r.upload_date = ?", [county, uploadDate], includeDrafts: true)
    }

    private static func decisionHistory(_ db: Database, where condition: String, _ arguments: StatementArguments,
                                        includeDrafts: Bool) throws -> [Int64: [DecisionHistoryEntry]] {
        var result: [Int64: [DecisionHistoryEntry]] = [:]
        let rows = try Row.fetchAll(db, sql: """
            SELECT h.roster_row_id, h.decision, h.comment, h.final, h.approver, h.approved_on, h.recorded_at
            FROM decision_history h JOIN roster_row r ON r.id = h.roster_row_id
            WHERE \(condition) \(includeDrafts ? "" : "AND h.final = 1") ORDER BY h.id
            """, arguments: arguments)
        for row in rows {
            let e = DecisionHistoryEntry(rosterRowID: row[0], decision: row[1], comment: row[2], final: row[3], approver: row[4],
                                         approvedOn: row[5], recordedAt: row[6])
            result[e.rosterRowID, default: []].append(e)
        }
        return result
    }

    /// Records what a county was told about a decision file.
    public static func addCountyNotice(_ db: Database, county: String, fileName: String, fileDigest: String, accepted: Bool,
                                       summary: String, problems: [String]) throws {
        try db.execute(sql: """
            INSERT INTO county_notice(county_code, received_at, file_name, file_digest, accepted, summary, problems)
            VALUES (?, datetime('now', 'localtime'), ?, ?, ?, ?, ?)
            """, arguments: [county, fileName, fileDigest, accepted, summary, problems.joined(separator: "\n")])
    }

    /// The latest notices of every county, newest first (at most `limit` each).
    public static func countyNotices(_ db: Database, limit: Int = 20) throws -> [String: [CountyNotice]] {
        var result: [String: [CountyNotice]] = [:]
        for row in try Row.fetchAll(db, sql: """
            SELECT county_code, received_at, file_digest, accepted, summary, problems FROM county_notice ORDER BY id DESC
            """) {
            let county: String = row[0]
            if result[county, default: []].count >= limit { continue }
            let problems: String = row[5]
            let digest: String? = row[2]
            result[county, default: []].append(CountyNotice(receivedAt: row[1], fileReference: digest.map { "檔案 " + $0.prefix(8) } ?? "檔案",
                                                            accepted: row[3], summary: row[4],
                                                            problems: problems.isEmpty ? [] : problems.components(separatedBy: "\n")))
        }
        return result
    }

    /// Streams every deferment record for the export to the military-service system.
    public static func forEachDefermentRecord(_ db: Database, _ body: ([String]) throws -> Void) throws {
        let cursor = try Row.fetchCursor(db, sql: """
            SELECT d.national_id, COALESCE(d.school_code, ''), d.start_date, COALESCE(d.end_date, ''), d.status, d.source,
                   COALESCE(r.upload_date, ''), COALESCE(e.upload_date, ''), COALESCE(d.updated_at, '')
            FROM deferment_record d LEFT JOIN roster_row r ON r.id = d.roster_row_id LEFT JOIN roster_row e ON e.id = d.ended_by_row_id
            ORDER BY d.id
            """)
        while let row = try cursor.next() {
            let status: String = row[4], source: String = row[5]
            try body([row[0], row[1], row[2], row[3], status == "active" ? "有效" : "已撤銷",
                      source == "registry" ? "役政資料所載緩徵，因離校終止" : (source == "decision" ? "核准在學緩徵" : source),
                      row[6], row[7], row[8]])
        }
    }
}
