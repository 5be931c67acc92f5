/// How long the desk keeps personal data (保存期限), per kind, counted from the day that ends the
/// purpose of keeping it (個人資料保護法: delete once the purpose has ended). Pure rules over dates;
/// the defaults and their reasons are in `seeds/settings.csv` and README.md.
public struct RetentionPolicy: Sendable, Equatable {
    /// Roster rows of an upload date: years after that date.
    public var rosterYears: Int
    /// Deferment records: years after the deferment ended.
    public var recordYears: Int
    /// Raw input files (rosters, registry extracts, account files): days after they arrived.
    public var rawInputDays: Int
    /// Returned decision workbooks: days after they arrived.
    public var returnedWorkbookDays: Int
    /// Refused files kept for their senders: days after they were refused.
    public var rejectedDays: Int
    /// Sent and failed e-mail: days after it was written.
    public var mailDays: Int

    public init(rosterYears: Int = 5, recordYears: Int = 5, rawInputDays: Int = 365, returnedWorkbookDays: Int = 365,
                rejectedDays: Int = 90, mailDays: Int = 180) {
        self.rosterYears = rosterYears
        self.recordYears = recordYears
        self.rawInputDays = rawInputDays
        self.returnedWorkbookDays = returnedWorkbookDays
        self.rejectedDays = rejectedDays
        self.mailDays = mailDays
    }

    /// The settings' names, as `seeds/settings.csv` spells them.
    public static var settingNames: [(WritableKeyPath<RetentionPolicy, Int>, String)] {
        [(\.rosterYears, "retain_roster_years"), (\.recordYears, "retain_record_years"), (\.rawInputDays, "retain_raw_input_days"),
         (\.returnedWorkbookDays, "retain_returned_workbook_days"), (\.rejectedDays, "retain_rejected_days"),
         (\.mailDays, "retain_mail_days")]
    }

    /// The policy of a settings table; a missing or unreadable value keeps its default.
    public init(settings: [String: String]) {
        self.init()
        for (path, name) in Self.settingNames {
            if let value = settings[name].flatMap({ Int($0.trimmingSpaces()) }), value >= 0 { self[keyPath: path] = value }
        }
    }

    /// Whether data whose purpose ended on `ended` is past a retention of `years` on `today`: it
    /// is kept through the same calendar day `years` later (29 February counts as 28 February in
    /// a year without one).
    public static func isPast(_ ended: CivilDate, years: Int, today: CivilDate) -> Bool {
        let year = ended.year + years
        let day = min(ended.day, CivilDate.daysIn(month: ended.month, year: year))
        guard let last = CivilDate(year: year, month: ended.month, day: day) else { return false }
        return today > last
    }

    /// Whether data whose purpose ended on `ended` is past a retention of `days` on `today`.
    public static func isPast(_ ended: CivilDate, days: Int, today: CivilDate) -> Bool {
        today.daysSinceEpoch - ended.daysSinceEpoch > days
    }

    /// Roster rows of `uploadDate` are due for deletion.
    public func rosterRowsDue(uploadDate: CivilDate, today: CivilDate) -> Bool {
        Self.isPast(uploadDate, years: rosterYears, today: today)
    }

    /// A deferment record that ended on `end` is due (an open record never is).
    public func recordDue(end: CivilDate?, today: CivilDate) -> Bool {
        end.map { Self.isPast($0, years: recordYears, today: today) } ?? false
    }
}
