import Foundation

/// A county's decision on one roster row (審核結果).
public enum DecisionWord: String, Sendable, CaseIterable {
    /// 核准
    case approve = "核准"
    /// 未核准
    case refuse = "未核准"

    /// The decision a reviewer wrote, ignoring surrounding (also full-width) spaces; `nil` for
    /// any other word.
    public init?(text: String) {
        guard let word = DecisionWord(rawValue: text.trimmingSpaces()) else { return nil }
        self = word
    }

    /// The review state a final decision gives the row.
    public var state: ReviewState { self == .approve ? .approved : .refused }
}

/// The sign-off of a decision workbook (陳核／核定): who prepared it and who approved it when.
public struct SignOff: Sendable, Equatable {
    /// 承辦人
    public var reviewer: String
    /// 核定人
    public var approver: String
    /// 核定日期
    public var approvedOn: CivilDate?

    public init(reviewer: String, approver: String, approvedOn: CivilDate?) {
        self.reviewer = reviewer
        self.approver = approver
        self.approvedOn = approvedOn
    }

    /// Decisions are final only with both 核定人 and 核定日期; otherwise they are 陳核中.
    public var isFinal: Bool { !approver.isEmpty && approvedOn != nil }
}

/// What is wrong with one decided row (a row-level problem rejects that row, not the file).
public struct DecisionRowProblem: Sendable, Equatable, Error {
    /// The column the problem is in (審核結果 or 審核意見).
    public var column: String
    /// What is wrong, in zh-TW.
    public var message: String
}

/// The decision a row of a returned workbook carries, once checked.
public struct RowDecision: Sendable, Equatable {
    public var word: DecisionWord
    /// 審核意見, trimmed.
    public var comment: String

    public init(word: DecisionWord, comment: String) {
        self.word = word
        self.comment = comment
    }
}

/// The decision rules for a returned row, as pure functions (審核結果檢核).
public enum DecisionRules {
    /// Checks the two editable cells of a row. A row with neither filled is undecided (`nil`).
    /// 未核准 needs a comment; an unknown word is refused.
    public static func read(decision: String, comment: String) -> Result<RowDecision?, DecisionRowProblem> {
        let word = decision.trimmingSpaces()
        let note = comment.trimmingSpaces()
        if word.isEmpty {
            if note.isEmpty { return .success(nil) }
            return .failure(DecisionRowProblem(column: "審核結果", message: "已填審核意見但未選審核結果，請選「核准」或「未核准」"))
        }
        guard let w = DecisionWord(text: word) else {
            let shown = word.count > 10 ? String(word.prefix(10)) + "…" : word
            return .failure(DecisionRowProblem(column: "審核結果", message: "「\(shown)」不是可用的審核結果，請從清單選「核准」或「未核准」"))
        }
        if w == .refuse && note.isEmpty {
            return .failure(DecisionRowProblem(column: "審核意見", message: "未核准須填寫審核意見（說明不予核准的理由）"))
        }
        return .success(RowDecision(word: w, comment: note))
    }

    /// What a row holds now: its final state and comment, and a decision awaiting sign-off.
    public struct Current: Sendable, Equatable {
        public var state: ReviewState
        public var comment: String
        public var draft: RowDecision?
        public init(state: ReviewState, comment: String, draft: RowDecision?) {
            self.state = state
            self.comment = comment
            self.draft = draft
        }
    }

    /// What recording a decision does to a row.
    public enum Change: Sendable, Equatable {
        /// Already recorded exactly so.
        case unchanged
        /// Recorded as 陳核中: the county sees it, the school does not yet.
        case awaitingSignOff
        /// Final: the row's state becomes the decision's (from `previous`).
        case final(previous: ReviewState)
    }

    /// How a decision changes a row, given whether the workbook was signed off.
    public static func change(_ current: Current, to decision: RowDecision, final: Bool) -> Change {
        let sameAsFinal = current.state == decision.word.state && current.comment == decision.comment
        if final {
            return sameAsFinal && current.draft == nil ? .unchanged : .final(previous: current.state)
        }
        if current.draft == decision || (current.draft == nil && sameAsFinal) { return .unchanged }
        return .awaitingSignOff
    }

    /// What a final decision does to the deferment records (建立或更新緩徵註記).
    public enum RecordEffect: Sendable, Equatable {
        case none
        /// An approved application: create (or restore) the row's record.
        case create
        /// An approval withdrawn: void the record the row created.
        case void
        /// An approved leaving row: end the open record at the leaving date.
        case end
        /// A leaving approval withdrawn: give back the end date the record had.
        case reopen
    }

    /// The effect on deferment records of a row's final state changing.
    public static func recordEffect(roster: RosterKind, from old: ReviewState, to new: ReviewState) -> RecordEffect {
        guard old != new else { return .none }
        switch (roster, old == .approved, new == .approved) {
        case (.application, false, true): return .create
        case (.application, true, false): return .void
        case (.leaving, false, true): return .end
        case (.leaving, true, false): return .reopen
        default: return .none
        }
    }
}
