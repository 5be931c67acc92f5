import Crypto
import Foundation
import GRDB
import DefermentCore
import DefermentFiles
import DefermentStore

/// Step: each school's pages (審核結果查詢): the results of every roster, and per upload date
/// the details (明細, sealed) and the reports (產出報表, sealed).
extension SiteBuilder {

    /// Counts of one roster (名冊) for the results page.
    struct Tally {
        var total = 0, notAssigned = 0, pending = 0, approved = 0, refused = 0
        mutating func add(_ state: String, _ n: Int = 1) {
            total += n
            switch state {
            case ReviewState.notAssigned.rawValue: notAssigned += n
            case ReviewState.pending.rawValue: pending += n
            case ReviewState.approved.rawValue: approved += n
            case ReviewState.refused.rawValue: refused += n
            default: break
            }
        }
        var assigned: Int { total - notAssigned }
        var decided: Int { approved + refused }
        var percent: Int { assigned == 0 ? 0 : decided * 100 / assigned }
        var context: [String: Any] {
            ["total": total, "notAssigned": notAssigned, "pending": pending, "approved": approved, "refused": refused,
             "assigned": max(assigned, 1), "decided": decided, "percent": percent,
             // Nothing assigned has no progress: a dash, not 100% (nor 0%).
             "percentShown": assigned == 0 ? "—" : "\(percent)%"]
        }
    }

    /// A row of a details or history table, answering template names without a dictionary.
    /// A class, so a lookup reads one field instead of copying the row.
    final class RowFrame: MustacheFrame {
        let row: ReportRow
        let anchor: Int
        let first: Bool
        let count: Int
        /// The row's decision history (審核歷程), one entry per line.
        let history: [String]
        /// Shown to the county: decisions awaiting sign-off and notes are included.
        let forCounty: Bool

        init(row: ReportRow, anchor: Int, first: Bool = false, count: Int = 0, history: [String] = [], forCounty: Bool = false) {
            self.row = row
            self.anchor = anchor
            self.first = first
            self.count = count
            self.history = history
            self.forCounty = forCounty
        }

        var refused: Bool {
            forCounty && row.draftState != nil ? row.draftState == .refused : row.state == .refused
        }

        /// The names a row answers (each case is the template's name for it), read through a
        /// table indexed by the key's number: a lookup is one array read and a switch over
        /// constants, not a comparison with each name.
        enum Slot: String, CaseIterable {
            case none, rosterKind, nationalID, name, birthDate, program, grade, status, start, end, countyName, reviewState
            case comment, systemChecks, uploadDate, anchor, isRefused, stateClass, history, remedy, first, count
        }

        /// Never freed, and read without reference counting (both workers read it for every name
        /// of every row).
        nonisolated(unsafe) static let slots: UnsafeBufferPointer<Slot> = {
            let named = Slot.allCases.filter { $0 != .none }.map { (MustacheKey($0.rawValue), $0) }
            let table = UnsafeMutableBufferPointer<Slot>.allocate(capacity: (named.map(\.0.id).max() ?? 0) + 1)
            table.initialize(repeating: .none)
            for (key, slot) in named { table[key.id] = slot }
            return UnsafeBufferPointer(table)
        }()

        static func slot(_ key: MustacheKey) -> Slot {
            key.id < slots.count ? slots[key.id] : .none
        }

        func mustacheText(_ key: MustacheKey) -> String? { text(Self.slot(key)) }

        /// The row's flags, and its empty lists (history, remedy) as `false`, so that an empty
        /// one is not looked for in the frames around the row; a list with items is a value.
        func mustacheFlag(_ key: MustacheKey) -> Bool? {
            switch Self.slot(key) {
            case .isRefused: return refused
            case .first: return first
            case .history: return history.isEmpty ? false : nil
            case .remedy: return row.reason.isEmpty ? false : nil
            default: return nil
            }
        }

        private func text(_ slot: Slot) -> String? {
            if forCounty {
                switch slot {
                case .reviewState: return row.countyState
                case .comment: return row.draftDecision != nil ? (row.draftComment ?? "") : row.comment
                case .systemChecks:
                    guard let note = row.decisionNote, !note.isEmpty else { return row.systemChecks }
                    return row.systemChecks.isEmpty ? note : row.systemChecks + "；" + note
                default: break
                }
            }
            switch slot {
            case .rosterKind: return row.rosterKind
            case .nationalID: return row.nationalID
            case .name: return row.name
            case .birthDate: return CivilDate.shown(row.birthDate)
            case .program: return row.program
            case .grade: return row.grade
            case .status: return row.status
            case .start: return CivilDate.shown(row.start)
            case .end: return CivilDate.shown(row.end)
            case .countyName: return row.countyName
            case .reviewState: return row.reviewState
            case .comment: return row.comment
            case .systemChecks: return row.systemChecks
            case .uploadDate: return CivilDate.shown(row.uploadDate)
            case .stateClass: return refused ? "refused" : (row.state == .notAssigned ? "unassigned" : "")
            case .anchor: return String(anchor)
            case .count: return String(count)
            case .none, .isRefused, .history, .remedy, .first: return nil
            }
        }

        func mustacheValue(_ key: MustacheKey) -> Any? {
            let slot = Self.slot(key)
            switch slot {
            case .anchor: return anchor
            case .isRefused: return refused
            case .history: return history.isEmpty ? nil : history.map { ["line": $0] }
            case .remedy: return row.reason.isEmpty ? nil : NotAssignedReason(text: row.reason)?.remedy
            case .first: return first
            case .count: return count
            default: return text(slot)
            }
        }
    }

    /// A student on a county's roster page: their rows of that roster (`{{#entries}}`).
    struct StudentFrame: MustacheFrame {
        let entries: [MustacheFrame]
        static let entriesKey = MustacheKey("entries")
        func mustacheValue(_ key: MustacheKey) -> Any? { key == Self.entriesKey ? entries : nil }
        func mustacheList(_ key: MustacheKey) -> [MustacheFrame]? { key == Self.entriesKey ? entries : nil }
    }

    /// One school's roster of an upload date as a build renders it: its rows, their final
    /// decisions and when a file last changed it.
    struct RosterInput {
        let rows: [ReportRow]
        let history: [Int64: [DecisionHistoryEntry]]
        let changed: Date
    }

    /// One school's pages: the results (every roster with its counts, newest first; 審核結果查詢)
    /// on every build that renders the school, and the rosters in `rosters` (their details and
    /// reports; the other rosters are kept as published). `tallies` are the counts of every
    /// roster with rows, `purged` those of rosters whose rows were purged.
    func renderSchool(_ school: SchoolEntry, tallies: [String: Tally], purged: [String: Tally] = [:],
                      rosters inputs: [String: RosterInput]) throws -> Int {
        let base = "schools/\(school.code)/"
        var pages = 0
        var rosters: [[String: Any]] = []
        let dates = tallies.keys.sorted(by: >)
        for date in Set(tallies.keys).union(purged.keys).sorted(by: >) {
            let stem = Self.rosterStem(date)
            let current = tallies[date]
            var roster = (current ?? purged[date]!).context
            roster["uploadDate"] = CivilDate.shown(date)
            roster["anchor"] = stem
            roster["purged"] = current == nil
            guard current != nil else {
                roster["detailHref"] = false
                roster["percentShown"] = ""
                rosters.append(roster)
                continue
            }
            roster["detailHref"] = stem + ".html"
            let report = SchoolReport.paths(base: base, date: date)
            roster["reportXLSX"] = (report.xlsx as NSString).lastPathComponent + ".enc"
            roster["reportCSV"] = (report.csv as NSString).lastPathComponent + ".enc"
            roster["reportXLSXSealed"] = report.xlsx + ".enc"
            roster["reportCSVSealed"] = report.csv + ".enc"
            roster["reportName"] = "審核結果報表-\(school.code)-\(CivilDate.compact(date))"
            rosters.append(roster)
            guard let input = inputs[date] else { continue }
            try publishRoster(school, date: date, rows: input.rows, history: input.history, changed: input.changed)
            pages += 4   // the details' shell and sealed content, two reports
        }
        let pieces = dates.map { SchoolReport.paths(base: base, date: $0).csv + ".enc" }.joined(separator: " ")
        try publisher.publish(base + "index.html", text: templates.render("school-results", [
            "root": "../../", "title": "審核結果查詢・\(school.name)", "schoolName": school.name, "schoolCode": school.code,
            "account": school.code, "accountName": school.name, "keyHref": "key.json", "base": base,
            // The search by national ID reads the rosters' report CSVs (row n of a roster's CSV
            // is row n of its details): one sealed copy of the rows, not two.
            "indexPath": pieces, "reportPieces": pieces,
            "rosters": rosters, "hasRosters": !rosters.isEmpty, "hasPurged": !purged.isEmpty, "hasReports": !dates.isEmpty,
        ]))
        return pages + 1
    }

    /// One school's roster of an upload date: its details (sealed, each row with its decision
    /// history) and its reports (產出報表, sealed; the CSV is also what the search reads).
    func publishRoster(_ school: SchoolEntry, date: String, rows: [ReportRow], history: [Int64: [DecisionHistoryEntry]],
                       changed: Date) throws {
        let base = "schools/\(school.code)/"
        let stem = Self.rosterStem(date)
        let detailName = stem + ".html"
        var rowContexts: [MustacheFrame] = []
        rowContexts.reserveCapacity(rows.count)
        for (k, r) in rows.enumerated() {
            rowContexts.append(RowFrame(row: r, anchor: k + 1, history: (history[r.id] ?? []).filter(\.final).map(\.line)))
        }
        let title = "名冊明細・\(CivilDate.shown(date))・\(school.name)"
        let detail = templates.renderBytes("roster-detail", [
            "root": "../../", "title": title, "schoolName": school.name,
            "uploadDate": CivilDate.shown(date), "total": rows.count, "backHref": "index.html#" + stem, "rows": rowContexts,
        ])
        try publishSealedPage(base + detailName, html: detail, account: school.code, accountName: school.name, title: title, root: "../../")
        try SchoolReport.write(rows: rows, school: school, base: base, date: date, created: changed) { path, data in
            try publishSealedFile(path, data: data, account: school.code)
        }
    }

    /// The step: the pages of the schools the plan renders, on the workers; each reads the rows
    /// of the rosters it renders only (the results page's counts are the stored counts).
    func schoolPages(_ plan: SitePlan, _ inputs: SiteInputs) -> SiteStep {
        let (current, purged) = (inputs.rosterTallies, inputs.purgedTallies)
        return SiteStep("學校頁 school pages", on: .workers, plan.schools.map { work in
            let code = work.school.code
            let versions = work.dates.map { ($0, inputs.versions[DeskStore.rosterKey(school: code, uploadDate: $0)] ?? 0) }
            return { [self] queue in
                let rosters = try queue!.read { db in
                    try versions.reduce(into: [String: RosterInput]()) { result, dated in
                        let (date, version) = dated
                        result[date] = RosterInput(rows: try DeskStore.schoolRows(db, school: code, uploadDate: date),
                                                   history: try DeskStore.decisionHistory(db, school: code, uploadDate: date),
                                                   changed: try DeskStore.receivedAt(db, file: version) ?? SchoolReport.noChangeKnown)
                    }
                }
                return try renderSchool(work.school, tallies: current[code] ?? [:], purged: purged[code] ?? [:], rosters: rosters)
            }
        })
    }
}
