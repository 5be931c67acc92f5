import Testing
@testable import DefermentCore

/// The row outcomes of manual items 2, 3 and 12, one row per case.
struct RosterRulesTests {
    static let rules = DefermentRules(
        ageLimits: [DefermentRules.regularKind: 33, DefermentRules.experimentalKind: 24],
        rosterKindByStatus: ["在學": .application, "轉科": .application, "轉學": .application, "復學": .application,
                             "休學": .leaving, "退學": .leaving],
        serviceStatusBlocks: ["未經徵兵處理": false, "待徵": false, "現役": true, "免役": true, "禁役": true,
                              "後備軍人": true, "替代役備役": true],
        educationIsSameOrHigher: ["國中以下": false, "高中肄業": false, "高中畢業": true, "專科肄業": true,
                                  "專科畢業": true, "大學肄業": true, "大學畢業": true, "碩士以上": true])

    static let id = "A123456789"
    /// The day of processing the cases are read on.
    static let today = CivilDate(year: 2026, month: 12, day: 4)!

    static func row(_ changes: [RosterColumn: String] = [:]) -> RosterRow {
        var values: [RosterColumn: String] = [
            .nationalID: id, .birthDate: "0951023", .name: "王小明", .schoolCode: "110000", .schoolName: "國立範例高級中學",
            .program: "普通科", .grade: "1", .start: "1151015", .end: "1180630", .status: "在學", .experimental: "否",
        ]
        for (k, v) in changes { values[k] = v }
        return RosterRow(sourceRow: 2, values: values)
    }

    static func person(birth: String = "2006-10-23", education: String = "高中肄業", service: String = "未經徵兵處理",
                       deferment: DefermentPeriod? = nil) -> RegistryPerson {
        RegistryPerson(nationalID: id, birthDate: CivilDate.parse(birth)!, name: "王小明", countyCode: "66000",
                       education: education, serviceStatus: service, deferment: deferment)
    }

    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let row: RosterRow
        let person: RegistryPerson?
        var recorded: [DefermentPeriod] = []
        let state: ReviewState
        var reason: NotAssignedReason? = nil
        var checks: [CheckResult] = []
        var kind: RosterKind? = .application
        var testDescription: String { name }
    }

    static func d(_ s: String) -> CivilDate { CivilDate.parse(s)! }

    static let cases: [Case] = [
        Case(name: "在學 with clean registry record: 待審核, assigned to the household county", row: row(), person: person(), state: .pending),
        Case(name: "身分證字號格式錯誤 (check digit)", row: row([.nationalID: "A123456788"]), person: person(), state: .notAssigned, reason: .idFormat),
        Case(name: "身分證字號格式錯誤 (shape)", row: row([.nationalID: "AE23456789"]), person: person(), state: .notAssigned, reason: .idFormat),
        Case(name: "外來人口統一證號: format error with a note", row: row([.nationalID: "A800000014"]), person: nil, state: .notAssigned, reason: .idFormat, checks: [.residentCertificate]),
        Case(name: "身分證字號與出生日期不符 (registry has another birth date)", row: row(), person: person(birth: "2006-10-24"), state: .notAssigned, reason: .birthDateMismatch),
        Case(name: "查無役政資料", row: row(), person: nil, state: .notAssigned, reason: .notInRegistry),
        Case(name: "欄位錯誤：身分證字號 (empty)", row: row([.nationalID: ""]), person: person(), state: .notAssigned, reason: .fieldError("身分證字號")),
        Case(name: "欄位錯誤：出生年月日 (unreadable)", row: row([.birthDate: "95/13/45"]), person: person(), state: .notAssigned, reason: .fieldError("出生年月日")),
        Case(name: "欄位錯誤：姓名 (missing)", row: row([.name: " "]), person: person(), state: .notAssigned, reason: .fieldError("姓名")),
        Case(name: "欄位錯誤：學校代碼 (missing)", row: row([.schoolCode: ""]), person: person(), state: .notAssigned, reason: .fieldError("學校代碼")),
        Case(name: "欄位錯誤：學校代碼 (..: a path, not a school)", row: row([.schoolCode: ".."]), person: person(), state: .notAssigned, reason: .fieldError("學校代碼")),
        Case(name: "欄位錯誤：學校代碼 (../../../../../x)", row: row([.schoolCode: "../../../../../x"]), person: person(), state: .notAssigned, reason: .fieldError("學校代碼")),
        Case(name: "欄位錯誤：學校代碼 (a school name from shifted columns)", row: row([.schoolCode: "國立範例高級中學"]), person: person(), state: .notAssigned, reason: .fieldError("學校代碼")),
        Case(name: "欄位錯誤：學校代碼 (5 characters)", row: row([.schoolCode: "11000"]), person: person(), state: .notAssigned, reason: .fieldError("學校代碼")),
        Case(name: "欄位錯誤：學校代碼 (7 characters)", row: row([.schoolCode: "1100000"]), person: person(), state: .notAssigned, reason: .fieldError("學校代碼")),
        Case(name: "欄位錯誤：學校代碼 (a full-width digit)", row: row([.schoolCode: "11000１"]), person: person(), state: .notAssigned, reason: .fieldError("學校代碼")),
        Case(name: "學校代碼 of 6 ASCII letters and digits is read", row: row([.schoolCode: "A1b2C3"]), person: person(), state: .pending),
        Case(name: "欄位錯誤：出生年月日 (after the day of processing)", row: row([.birthDate: "2026-12-05", .grade: "3", .end: "1160630"]), person: person(birth: "2026-12-05"), state: .notAssigned, reason: .fieldError("出生年月日")),
        Case(name: "出生年月日 on the day of processing is a date, not an error", row: row([.birthDate: "2026-12-04", .grade: "3", .end: "1160630"]), person: person(birth: "2026-12-04"), state: .pending),
        Case(name: "欄位錯誤：學籍狀態 (unknown 畢業)", row: row([.status: "畢業"]), person: person(), state: .notAssigned, reason: .fieldError("學籍狀態"), kind: nil),
        Case(name: "欄位錯誤：緩徵起始日期 (application without start)", row: row([.start: ""]), person: person(), state: .notAssigned, reason: .fieldError("緩徵起始日期")),
        Case(name: "欄位錯誤：緩徵終止日期 (unreadable)", row: row([.end: "明年"]), person: person(), state: .notAssigned, reason: .fieldError("緩徵終止日期")),
        Case(name: "欄位錯誤：是否為非學校型態實驗教育學生 (neither 是 nor 否)", row: row([.experimental: "不確定"]), person: person(), state: .notAssigned, reason: .fieldError("是否為非學校型態實驗教育學生")),
        Case(name: "休學 goes to the leaving roster (離校學生名冊)", row: row([.status: "休學", .start: "", .end: "1151101"]), person: person(), state: .pending, kind: .leaving),
        Case(name: "退學 goes to the leaving roster", row: row([.status: "退學", .end: "1151101", .start: "1141015"]), person: person(), state: .pending, kind: .leaving),
        Case(name: "轉科 goes to the application roster", row: row([.status: "轉科"]), person: person(), state: .pending),
        Case(name: "轉學 goes to the application roster", row: row([.status: "轉學"]), person: person(), state: .pending),
        Case(name: "復學 goes to the application roster", row: row([.status: "復學"]), person: person(), state: .pending),
        Case(name: "就讀同等級或低於原等級學校 (already 高中畢業)", row: row(), person: person(education: "高中畢業"), state: .pending, checks: [.sameOrLowerLevel]),
        Case(name: "就讀同等級或低於原等級學校 (大學肄業)", row: row(), person: person(education: "大學肄業"), state: .pending, checks: [.sameOrLowerLevel]),
        Case(name: "國中以下 is a higher level now: no flag", row: row(), person: person(education: "國中以下"), state: .pending),
        Case(name: "已有未結束之在學緩徵註記 (registry, open-ended)", row: row(), person: person(deferment: DefermentPeriod(start: d("2025-09-01"), end: nil)), state: .pending, checks: [.openDeferment]),
        Case(name: "已有未結束之在學緩徵註記 (desk record overlapping)", row: row(), person: person(), recorded: [DefermentPeriod(start: d("2025-09-01"), end: d("2027-06-30"))], state: .pending, checks: [.openDeferment]),
        Case(name: "a registry deferment a signed leaving row ended (desk record, same start) counts as ended", row: row(), person: person(deferment: DefermentPeriod(start: d("2025-09-01"), end: nil)), recorded: [DefermentPeriod(start: d("2025-09-01"), end: d("2026-01-31"))], state: .pending),
        Case(name: "a registry deferment ended after the new start still overlaps", row: row(), person: person(deferment: DefermentPeriod(start: d("2025-09-01"), end: nil)), recorded: [DefermentPeriod(start: d("2025-09-01"), end: d("2026-11-30"))], state: .pending, checks: [.openDeferment]),
        Case(name: "an ended deferment before the period is no flag", row: row(), person: person(deferment: DefermentPeriod(start: d("2024-09-01"), end: d("2025-06-30"))), state: .pending),
        Case(name: "役別不符：現役", row: row(), person: person(service: "現役"), state: .pending, checks: [.serviceStatus("現役")]),
        Case(name: "役別不符：免役", row: row(), person: person(service: "免役"), state: .pending, checks: [.serviceStatus("免役")]),
        Case(name: "役別不符：禁役", row: row(), person: person(service: "禁役"), state: .pending, checks: [.serviceStatus("禁役")]),
        Case(name: "役別不符：後備軍人", row: row(), person: person(service: "後備軍人"), state: .pending, checks: [.serviceStatus("後備軍人")]),
        Case(name: "役別不符：替代役備役", row: row(), person: person(service: "替代役備役"), state: .pending, checks: [.serviceStatus("替代役備役")]),
        Case(name: "待徵 does not block", row: row(), person: person(service: "待徵"), state: .pending),
        Case(name: "female ID number is flagged", row: row([.nationalID: "A223456781"]), person: person(), state: .pending, checks: [.femaleID]),
        Case(name: "grade 1 end not 30 June of the grade-12 year", row: row([.end: "1170630"]), person: person(), state: .pending, checks: [.endNotGrade12June30(expected: d("2029-06-30"))]),
        Case(name: "grade 2 end on 30 June of the grade-12 year", row: row([.grade: "2", .end: "1170630"]), person: person(), state: .pending),
        Case(name: "grade 3 end is not checked against 30 June", row: row([.grade: "3", .end: "1160731"]), person: person(), state: .pending),
        Case(name: "start after end", row: row([.grade: "3", .start: "1151101", .end: "1151001"]), person: person(), state: .pending, checks: [.startAfterEnd]),
        Case(name: "checks are not run on leaving rows", row: row([.status: "退學", .end: "1151101"]), person: person(service: "現役"), state: .pending, kind: .leaving),
    ]

    @Test(arguments: cases)
    func outcome(_ c: Case) {
        let parsed = RosterRules.parse(c.row, rules: Self.rules, today: Self.today)
        let a = RosterRules.assess(parsed, person: c.person, recordedDeferments: c.recorded, rules: Self.rules)
        #expect(a.state == c.state)
        #expect(a.reason == c.reason)
        #expect(a.checks == c.checks)
        #expect(parsed.rosterKind == c.kind)
        #expect(a.countyCode == (c.state == .pending ? "66000" : nil))
    }

    /// 逾就學年齡限制: calendar-year reckoning (year of start minus birth year).
    static let ages: [(String, String, Bool, Bool)] = [
        ("regular, 33 by calendar year: at the limit", "1993-12-31", false, false),
        ("regular, 34 by calendar year: over", "1992-01-01", false, true),
        ("regular, born on 31 Dec 1992 is still 34 by calendar year", "1992-12-31", false, true),
        ("非學校型態實驗教育, 24: at the limit", "2002-12-31", true, false),
        ("非學校型態實驗教育, 25: over", "2001-01-01", true, true),
        ("非學校型態實驗教育, 23: under", "2003-06-01", true, false),
        ("regular, 25: under (the 24 limit is only for experimental education)", "2001-01-01", false, false),
    ]

    @Test(arguments: ages)
    func ageLimit(_ c: (String, String, Bool, Bool)) {
        let birth = CivilDate.parse(c.1)!
        let row = Self.row([.birthDate: birth.iso, .experimental: c.2 ? "是" : "否", .grade: "3", .end: "1160630"])
        let parsed = RosterRules.parse(row, rules: Self.rules, today: Self.today)
        let a = RosterRules.assess(parsed, person: Self.person(birth: c.1), recordedDeferments: [], rules: Self.rules)
        let over = a.checks.contains { if case .overAgeLimit = $0 { return true }; return false }
        #expect(over == c.3, "\(c.0)")
        #expect(a.state == .pending)
    }

    @Test func summaryJoinsReasonAndChecksWithFullWidthSemicolon() {
        let a = RowAssessment(state: .pending, reason: nil, countyCode: "63000", checks: [.sameOrLowerLevel, .serviceStatus("免役")])
        #expect(a.summary == "就讀同等級或低於原等級學校；役別不符：免役")
    }

    @Test func expectedEndFollowsTheSchoolYear() {
        #expect(RosterRules.expectedEnd(grade: 1, start: Self.d("2026-10-15")).iso == "2029-06-30")
        #expect(RosterRules.expectedEnd(grade: 2, start: Self.d("2026-10-15")).iso == "2028-06-30")
        #expect(RosterRules.expectedEnd(grade: 1, start: Self.d("2027-03-15")).iso == "2029-06-30")
    }

    /// docs/rules.md's county-code normalisation, one row per form a file may write.
    @Test(arguments: [
        ("官方代碼", "63000", "63000"),
        ("直轄市二碼代碼補三個零", "63", "63000"),
        ("省略開頭的零（四碼）補回", "9020", "09020"),
        ("前後空白去除", " 09020 ", "09020"),
        ("開頭為零的五碼", "09020", "09020"),
        ("縣市名稱「台」視同「臺」", "台北市", "63000"),
        ("縣市名稱", "臺北市", "63000"),
        ("另一縣市代碼", "10017", "10017"),
        ("不在代碼表中", "99999", nil),
        ("四碼但補零後不是代碼", "0902", nil),
        ("三碼不補", "630", nil),
        ("一碼不補", "6", nil),
        ("六碼", "090200", nil),
        ("空白", "", nil),
    ] as [(String, String, String?)])
    func countyCodesAreNormalised(_ rule: String, _ raw: String, _ expected: String?) {
        let dir = CountyDirectory([
            County(code: "63000", name: "臺北市", office: "", phone: "", address: "", email: "", isExample: true),
            County(code: "09020", name: "金門縣", office: "", phone: "", address: "", email: "", isExample: true),
            County(code: "10017", name: "基隆市", office: "", phone: "", address: "", email: "", isExample: true),
        ])
        #expect(dir.normalise(raw) == expected, "\(rule)")
    }

    @Test func headersAreMatchedLoosely() {
        #expect(RosterColumn.matching(header: "\u{FEFF}身分證字號") == .nationalID)
        #expect(RosterColumn.matching(header: " 身份證字號 ") == .nationalID)
        #expect(RosterColumn.matching(header: "*出生年月日") == .birthDate)
        #expect(RosterColumn.matching(header: "非學校型態實驗教育") == .experimental)
        #expect(RosterColumn.matching(header: "備註") == nil)
    }
}

/// Cells are trimmed of the spaces spreadsheets and exports leave: ASCII and full-width spaces,
/// tabs, line breaks, BOMs and no-break spaces, at either end only.
struct TrimmingTests {
    static let cases: [(String, String, String)] = [
        ("plain ASCII is kept", "A123456789", "A123456789"),
        ("plain CJK is kept", "商業經營科", "商業經營科"),
        ("empty stays empty", "", ""),
        ("only spaces become empty", "  \t ", ""),
        ("ASCII spaces at both ends", "  王小明 ", "王小明"),
        ("a full-width space (全形空白) at the end", "王小明\u{3000}", "王小明"),
        ("a full-width space at the start", "\u{3000}王小明", "王小明"),
        ("a BOM at the start", "\u{FEFF}A123456789", "A123456789"),
        ("a BOM at the end", "王小明\u{FEFF}", "王小明"),
        ("a no-break space at the end", "普通科\u{A0}", "普通科"),
        ("a line break at the end", "在學\r\n", "在學"),
        ("inner spaces are kept", "歐陽 小明", "歐陽 小明"),
        ("a CJK end that only looks like a space's last byte", "三", "三"),
    ]

    @Test(arguments: cases)
    func trims(_ c: (String, String, String)) {
        #expect(c.1.trimmingSpaces() == c.2, "\(c.0)")
    }
}
