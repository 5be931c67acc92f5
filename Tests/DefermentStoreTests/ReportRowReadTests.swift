import Foundation
import GRDB
import Testing
@testable import DefermentStore

/// Rows as pages, reports and workbooks read them: every query gives every field of a row, the
/// columns its condition fixes (upload date, school, county) and the county's name included.
struct ReportRowReadTests {
    /// (id, upload date, school, county or nil, review state, comment, draft decision)
    let rows: [(Int64, String, String, String?, String, String, String?)] = [
        (1, "2026-10-15", "110001", "63000", "核准", "", nil),
        (2, "2026-11-15", "110001", "63000", "待審核", "", "未核准"),
        (3, "2026-11-15", "110001", "64000", "未核准", "戶籍不符", nil),
        (4, "2026-11-15", "110001", nil, "不分派", "", nil),
        (5, "2026-11-15", "110001", "99999", "待審核", "", nil),   // a county the table does not list
        (6, "2026-11-15", "120002", "63000", "待審核", "", nil),
    ]
    let countyNames = ["63000": "臺北市", "64000": "高雄市"]

    func store() throws -> DeskStore {
        let store = try DeskStore(path: nil)
        try store.queue.write { db in
            for (code, name) in countyNames {
                try db.execute(sql: "INSERT INTO county VALUES (?, ?, '', '', '', '', 0)", arguments: [code, name])
            }
            try db.execute(sql: "INSERT INTO input_file VALUES (1, 'x', 'roster', 'r.csv', 'a', '2026-11-15', NULL, NULL, 'csv', 6, '')")
            for (id, date, school, county, state, comment, draft) in rows {
                try db.execute(sql: """
                    INSERT INTO roster_row (id, file_id, source_row, upload_date, school_code, roster_kind, row_key, national_id,
                      name, birth_date, program, grade, enrolment_status, start_date, end_date, experimental, county_code,
                      review_state, reason, checks, comment, row_hash, draft_decision, draft_comment, decision_note)
                    VALUES (?, 1, ?, ?, ?, '申請緩徵', ?, 'A12345678' || ?, '王小明', '2008-03-01', '資訊科', '2', '在學',
                      '2026-08-01', '2027-07-31', 0, ?, ?, NULL, '', ?, '', ?, ?, NULL)
                    """, arguments: [id, id, date, school, "k\(id)", id % 10, county, state, comment, draft, draft.map { _ in "請補件" }])
            }
        }
        return store
    }

    /// What a row should read as, every field in one line.
    func expected(_ id: Int64) -> String {
        let (_, date, school, county, state, comment, draft) = rows.first { $0.0 == id }!
        return [date, school, county ?? "", countyNames[county ?? ""] ?? "", "申請緩徵", "A12345678\(id % 10)", "王小明", "2008-03-01",
                "資訊科", "2", "在學", "2026-08-01", "2027-07-31", state, comment, "", "", "\(id)", "\(id)", draft ?? "-",
                draft.map { _ in "請補件" } ?? "-"].joined(separator: "|")
    }

    func line(_ r: ReportRow) -> String {
        [r.uploadDate, r.schoolCode, r.countyCode, r.countyName, r.rosterKind, r.nationalID, r.name, r.birthDate, r.program, r.grade,
         r.status, r.start, r.end, r.reviewState, r.comment, r.reason, r.checks, "\(r.sourceRow)", "\(r.id)", r.draftDecision ?? "-",
         r.draftComment ?? "-"].joined(separator: "|")
    }

    @Test func everyQueryReadsEveryField() throws {
        let store = try store()
        let reads: [(String, [Int64], (Database) throws -> [ReportRow])] = [
            ("a school's rows", [2, 3, 4, 5, 1], { try DeskStore.schoolRows($0, school: "110001") }),
            ("a school's roster", [2, 3, 4, 5], { try DeskStore.schoolRows($0, school: "110001", uploadDate: "2026-11-15") }),
            ("a county's roster", [2, 6], { try DeskStore.countyRosterRows($0, county: "63000", uploadDate: "2026-11-15") }),
            ("a county unknown to the table", [5], { try DeskStore.countyRosterRows($0, county: "99999", uploadDate: "2026-11-15") }),
            ("the operator's county report", [2, 6, 1], { db in
                var read: [ReportRow] = []
                try DeskStore.forEachReportRow(db, county: "63000", school: nil) { read.append($0) }
                return read
            }),
            ("the operator's school report", [2, 3, 4, 5, 1], { db in
                var read: [ReportRow] = []
                try DeskStore.forEachReportRow(db, county: nil, school: "110001") { read.append($0) }
                return read
            }),
        ]
        for (what, ids, read) in reads {
            let got = try store.queue.read(read)
            #expect(got.map(line) == ids.map(expected), "\(what)")
        }
    }
}
