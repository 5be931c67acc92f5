import Testing
@testable import DefermentCore

/// The county's side (manual items 4–5): reading a decided row, 陳核 versus 核定, and what a
/// final decision does to the deferment records. One row per case.
struct DecisionRulesTests {
    struct ReadCase: CustomTestStringConvertible, Sendable {
        let name: String
        let decision: String
        let comment: String
        let expected: RowDecision?
        var problemColumn: String? = nil
        var testDescription: String { name }
    }

    static let readCases: [ReadCase] = [
        ReadCase(name: "未填審核結果：維持待審核", decision: "", comment: "", expected: nil),
        ReadCase(name: "核准，不需審核意見", decision: "核准", comment: "", expected: RowDecision(word: .approve, comment: "")),
        ReadCase(name: "核准，前後空白（含全形空白）不影響", decision: "\u{3000}核准 ", comment: " 已查核 ", expected: RowDecision(word: .approve, comment: "已查核")),
        ReadCase(name: "未核准附審核意見", decision: "未核准", comment: "逾就學年齡限制", expected: RowDecision(word: .refuse, comment: "逾就學年齡限制")),
        ReadCase(name: "未核准未填審核意見：該列退回", decision: "未核准", comment: "  ", expected: nil, problemColumn: "審核意見"),
        ReadCase(name: "不明的審核結果用語：該列退回", decision: "准", comment: "", expected: nil, problemColumn: "審核結果"),
        ReadCase(name: "只填審核意見未選審核結果：該列退回", decision: "", comment: "請補件", expected: nil, problemColumn: "審核結果"),
    ]

    @Test(arguments: readCases)
    func readingADecidedRow(_ c: ReadCase) {
        switch DecisionRules.read(decision: c.decision, comment: c.comment) {
        case .success(let d):
            #expect(c.problemColumn == nil, "expected a problem in \(c.problemColumn ?? "")")
            #expect(d == c.expected)
        case .failure(let p):
            #expect(p.column == c.problemColumn)
            #expect(!p.message.isEmpty)
        }
    }

    struct ChangeCase: CustomTestStringConvertible, Sendable {
        let name: String
        let current: DecisionRules.Current
        let decision: RowDecision
        let final: Bool
        let expected: DecisionRules.Change
        var testDescription: String { name }
    }

    static let approve = RowDecision(word: .approve, comment: "")
    static let refuse = RowDecision(word: .refuse, comment: "資料不符")
    static let pending = DecisionRules.Current(state: .pending, comment: "", draft: nil)

    static let changeCases: [ChangeCase] = [
        ChangeCase(name: "陳核：待審核列送核定，記為陳核中", current: pending, decision: approve, final: false, expected: .awaitingSignOff),
        ChangeCase(name: "核定：待審核列直接核定", current: pending, decision: approve, final: true, expected: .final(previous: .pending)),
        ChangeCase(name: "陳核中之列經核定", current: .init(state: .pending, comment: "", draft: approve), decision: approve, final: true, expected: .final(previous: .pending)),
        ChangeCase(name: "同一陳核內容再次上傳：不變", current: .init(state: .pending, comment: "", draft: refuse), decision: refuse, final: false, expected: .unchanged),
        ChangeCase(name: "已核定之結果再次上傳：不變", current: .init(state: .refused, comment: "資料不符", draft: nil), decision: refuse, final: true, expected: .unchanged),
        ChangeCase(name: "已核定之結果在未核定檔案中相同：不變", current: .init(state: .approved, comment: "", draft: nil), decision: approve, final: false, expected: .unchanged),
        ChangeCase(name: "已核准改為未核准（更正）", current: .init(state: .approved, comment: "", draft: nil), decision: refuse, final: true, expected: .final(previous: .approved)),
        ChangeCase(name: "已核准之列改判送陳核：學校仍見核准", current: .init(state: .approved, comment: "", draft: nil), decision: refuse, final: false, expected: .awaitingSignOff),
        ChangeCase(name: "僅審核意見更動亦為變更", current: .init(state: .refused, comment: "資料不符", draft: nil), decision: RowDecision(word: .refuse, comment: "請補學籍證明"), final: true, expected: .final(previous: .refused)),
    ]

    @Test(arguments: changeCases)
    func submissionAndSignOff(_ c: ChangeCase) {
        #expect(DecisionRules.change(c.current, to: c.decision, final: c.final) == c.expected)
    }

    @Test(arguments: [
        ("核准申請：建立緩徵註記", RosterKind.application, ReviewState.pending, ReviewState.approved, DecisionRules.RecordEffect.create),
        ("申請由核准改未核准：撤銷該註記", .application, .approved, .refused, .void),
        ("申請未核准：不建立", .application, .pending, .refused, .none),
        ("核准離校：於離校日終止緩徵註記", .leaving, .pending, .approved, .end),
        ("離校由核准改未核准：恢復原終止日", .leaving, .approved, .refused, .reopen),
        ("結果未變：不動註記", .application, .approved, .approved, .none),
    ])
    func defermentRecordEffects(_ c: (String, RosterKind, ReviewState, ReviewState, DecisionRules.RecordEffect)) {
        #expect(DecisionRules.recordEffect(roster: c.1, from: c.2, to: c.3) == c.4, "\(c.0)")
    }

    @Test(arguments: [
        ("承辦人、核定人、核定日期俱全：核定", "王", "李", true, true),
        ("缺核定人：陳核中", "王", "", true, false),
        ("缺核定日期：陳核中", "王", "李", false, false),
    ])
    func signOffIsFinalOnlyWithApproverAndDate(_ c: (String, String, String, Bool, Bool)) {
        let s = SignOff(reviewer: c.1, approver: c.2, approvedOn: c.3 ? CivilDate(year: 2026, month: 11, day: 30) : nil)
        #expect(s.isFinal == c.4, "\(c.0)")
    }
}
