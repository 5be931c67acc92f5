import Testing
@testable import DefermentCore

/// 保存期限: when a kind of personal data is past its retention, one row per case.
struct RetentionRulesTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let ended: String
        let today: String
        let years: Int
        let due: Bool
        var testDescription: String { name }
    }

    static let yearCases: [Case] = [
        Case(name: "上傳日期後滿 5 年當日仍保存", ended: "2021-12-15", today: "2026-12-15", years: 5, due: false),
        Case(name: "上傳日期後逾 5 年（次日）刪除", ended: "2021-12-15", today: "2026-12-16", years: 5, due: true),
        Case(name: "未滿 5 年保存", ended: "2022-01-15", today: "2026-12-04", years: 5, due: false),
        Case(name: "2 月 29 日起算，平年以 2 月 28 日為期滿日", ended: "2024-02-29", today: "2029-02-28", years: 5, due: false),
        Case(name: "2 月 29 日起算，期滿次日刪除", ended: "2024-02-29", today: "2029-03-01", years: 5, due: true),
        Case(name: "保存 0 年：次日即刪除", ended: "2026-12-03", today: "2026-12-04", years: 0, due: true),
    ]

    @Test(arguments: yearCases)
    func pastARetentionInYears(_ c: Case) {
        #expect(RetentionPolicy.isPast(CivilDate.parse(c.ended)!, years: c.years, today: CivilDate.parse(c.today)!) == c.due)
    }

    static let dayCases: [Case] = [
        Case(name: "收件後 365 天當日仍保存", ended: "2025-12-04", today: "2026-12-04", years: 365, due: false),
        Case(name: "收件後逾 365 天刪除", ended: "2025-12-03", today: "2026-12-04", years: 365, due: true),
        Case(name: "退件 90 天內保存", ended: "2026-10-01", today: "2026-12-04", years: 90, due: false),
    ]

    @Test(arguments: dayCases)
    func pastARetentionInDays(_ c: Case) {
        #expect(RetentionPolicy.isPast(CivilDate.parse(c.ended)!, days: c.years, today: CivilDate.parse(c.today)!) == c.due)
    }

    @Test func anOpenDefermentRecordIsNeverDue() {
        let policy = RetentionPolicy()
        #expect(!policy.recordDue(end: nil, today: CivilDate.parse("2099-01-01")!))
        #expect(policy.recordDue(end: CivilDate.parse("2020-06-30"), today: CivilDate.parse("2026-12-04")!))
    }

    @Test func settingsOverrideTheDefaultsAndBadValuesKeepThem() {
        let p = RetentionPolicy(settings: ["retain_roster_years": " 3 ", "retain_mail_days": "-1", "retain_rejected_days": "三十"])
        #expect(p.rosterYears == 3)
        #expect(p.mailDays == RetentionPolicy().mailDays)
        #expect(p.rejectedDays == RetentionPolicy().rejectedDays)
    }
}
