import Foundation
import GRDB
import Testing
@testable import DefermentStore
import DefermentCore

/// The order of a decision workbook's rows (審核名冊): 申請緩徵名冊 before 離校學生名冊, then by
/// school code, then in the order of the school's file.
struct DecisionSheetOrderTests {
    /// Report rows as the county query reads them: (roster kind, school code, row in the file, id).
    func rows(_ specs: [(String, String, Int, Int64)]) throws -> [ReportRow] {
        try DatabaseQueue().read { db in
            try specs.map { kind, school, sourceRow, id in
                let fixed = ReportRow.Fixed(countyNames: ["63000": "臺北市"])
                return try #require(try RawStatement(db, sql: """
                    SELECT '2026-11-15', ?, '63000', ?, 'A123456789', '王小明', '2008-03-01', '普通科', '1', '在學', '2026-08-01',
                           '2027-07-31', '待審核', '', '', '', ?, ?, NULL, NULL, NULL
                    """, arguments: [school, kind, String(sourceRow), String(id)]).fetchOne { ReportRow($0, fixed: fixed) })
            }
        }
    }

    @Test func rowsGoByRosterThenSchoolThenFileOrder() throws {
        let given = try rows([
            ("離校", "110001", 2, 7), ("申請緩徵", "110002", 1, 1), ("申請緩徵", "110001", 3, 2), ("離校", "010001", 5, 9),
            ("申請緩徵", "110001", 1, 3), ("申請緩徵", "110001", 1, 4), ("申請緩徵", "A10001", 1, 5), ("離校", "110001", 1, 8),
        ])
        let sorted = DecisionSheetRow.sheets(of: given, schoolNames: ["110001": "甲校"])
        #expect(sorted.map(\.id) == [3, 4, 2, 1, 5, 9, 8, 7])
        #expect(sorted.map(\.rosterKind) == [.application, .application, .application, .application, .application, .leaving, .leaving, .leaving])
        #expect(sorted.first?.schoolName == "甲校" && sorted[3].schoolName == "110002")
    }
}
