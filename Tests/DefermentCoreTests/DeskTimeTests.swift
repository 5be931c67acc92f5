import Foundation
import Testing
@testable import DefermentCore

/// One zone and one form for every time a person reads.
struct DeskTimeTests {
    @Test(arguments: [
        ("2026-12-04 23:22:31", "2026-12-05 07:22:31"),   // SQLite's datetime('now'), past midnight in Taipei
        ("2026-12-04T23:22:36Z", "2026-12-05 07:22:36"),  // ISO 8601
        ("2026-12-31 16:00:00", "2027-01-01 00:00:00"),   // the year turns
        ("2026-02-28 20:00:00", "2026-03-01 04:00:00"),
        ("", ""), ("不是時間", "不是時間"),
    ])
    func utcIsShownInTaipeiTime(_ c: (String, String)) {
        #expect(DeskTime.taipei(fromUTC: c.0) == c.1)
    }

    /// The stored forms read as the moment they name (a report's date is the moment its roster
    /// last changed); other text names none.
    @Test func utcReadsAsAMoment() {
        let moment = Date(timeIntervalSince1970: 1_796_426_551)   // 2026-12-04 23:22:31 UTC
        #expect(DeskTime.moment(fromUTC: "2026-12-04 23:22:31") == moment)
        #expect(DeskTime.moment(fromUTC: "2026-12-04T23:22:31Z") == moment)
        #expect(DeskTime.moment(fromUTC: "1970-01-01 00:00:00") == Date(timeIntervalSince1970: 0))
        #expect(DeskTime.moment(fromUTC: "") == nil && DeskTime.moment(fromUTC: "不是時間") == nil)
    }
}
