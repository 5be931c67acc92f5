import Foundation
import GRDB
import Testing
@testable import DefermentStore

/// Rows sorted in memory come in the very order SQLite's `ORDER BY` gives them.
struct RowOrderTests {
    /// Rows of many schools, students and both rosters, with ties broken only by `id`; `odd`
    /// adds texts that cannot be packed (small letters, Chinese, longer than 12).
    func table(odd: Bool) throws -> DatabaseQueue {
        let db = try DatabaseQueue()
        try db.write { db in
            try db.execute(sql: "CREATE TABLE r(id INTEGER PRIMARY KEY, school_code TEXT, national_id TEXT, roster_kind TEXT, source_row INTEGER)")
            var schools = ["110001", "010002", "A10003", "1100010", "11000", ""]
            var ids = ["A123456789", "A12345678", "B223456789", "A1234567890", "Z999999999", "", "0", "A123456789"]
            if odd {
                schools += ["a10004", "臺北01", "110001 "]
                // The same letter composed and decomposed: different bytes, so different texts to SQLite.
                ids += ["a123456789", "王123", "A1234567890123", "A-23456789", "\u{e9}1", "e\u{301}1"]
            }
            var seed: UInt64 = 7
            func next(_ n: Int) -> Int { seed = seed &* 6364136223846793005 &+ 1442695040888963407; return Int(seed >> 33) % n }
            for id in 1...600 {
                try db.execute(sql: "INSERT INTO r VALUES (?, ?, ?, ?, ?)", arguments: [
                    (id * 7919) % 100_003, schools[next(schools.count)], ids[next(ids.count)], ["申請緩徵", "離校"][next(2)], next(5)])
            }
        }
        return db
    }

    func rows(_ db: Database, orderBy: String?) throws -> [ReportRow] {
        try Row.fetchAll(db, sql: """
            SELECT '2026-11-15', roster_kind, national_id, '', '', school_code, '', '', '', '', '', '', '', '待審核', '', '', '',
                   source_row, id, NULL, NULL, NULL FROM r \(orderBy.map { "ORDER BY " + $0 } ?? "ORDER BY random()")
            """).map { ReportRow($0) }
    }

    @Test(arguments: [false, true])
    func aCountysRosterIsInSQLitesOrder(odd: Bool) throws {
        try table(odd: odd).read { db in
            let sql = try rows(db, orderBy: "school_code, national_id, roster_kind DESC, source_row, id").map(\.id)
            #expect(RowOrder.countyRoster(try rows(db, orderBy: nil)).map(\.id) == sql)
        }
    }

    @Test(arguments: [false, true])
    func aSchoolsRosterIsInSQLitesOrder(odd: Bool) throws {
        try table(odd: odd).read { db in
            let sql = try rows(db, orderBy: "roster_kind DESC, source_row, id").map(\.id)
            #expect(RowOrder.schoolRoster(try rows(db, orderBy: nil)).map(\.id) == sql)
        }
    }

    /// Packed texts keep byte order, a shorter text first.
    @Test func packedCodesKeepTheirOrder() {
        let texts = ["", "0", "00", "09", "1", "9", "A", "A0", "A123456789", "A12345678Z", "B", "Z", "ZZZZZZZZZZZZ"]
        let packed = texts.map { RowOrder.pack($0)! }
        #expect(packed == packed.sorted() && Set(packed).count == texts.count)
        #expect(RowOrder.pack("a1") == nil && RowOrder.pack("ZZZZZZZZZZZZZ") == nil && RowOrder.pack("王") == nil)
    }
}
