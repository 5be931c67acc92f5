import Crypto
import Foundation
import GRDB
import DefermentCore
import DefermentFiles
import DefermentStore

/// Step: each school's pages (審核結果查詢): results one roster per page, details (明細,
/// sealed), the search index and the reports (產出報表).
extension SiteBuilder {
    static func pageName(_ index: Int) -> String { index == 0 ? "index.html" : "page-\(index + 1).html" }
    static func detailName(_ date: String) -> String { "roster-" + date.filter { $0 != "-" } + ".html" }

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

        static let slots: [Slot] = {
            let named = Slot.allCases.filter { $0 != .none }.map { (MustacheKey($0.rawValue), $0) }
            var table = [Slot](repeating: .none, count: (named.map(\.0.id).max() ?? 0) + 1)
            for (key, slot) in named { table[key.id] = slot }
            return table
        }()

        static func slot(_ key: MustacheKey) -> Slot {
            let table = slots
            return key.id < table.count ? table[key.id] : .none
        }

        func mustacheText(_ key: MustacheKey) -> String? { text(Self.slot(key)) }

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

    /// A student of a county's history page: their rows across months (`{{#entries}}`).
    struct StudentFrame: MustacheFrame {
        let entries: [MustacheFrame]
        static let entriesKey = MustacheKey("entries")
        func mustacheValue(_ key: MustacheKey) -> Any? { key == Self.entriesKey ? entries : nil }
    }

    /// One school's pages: results (one roster per page), details, search index, reports, and
    /// its students' history pages under each county.
    func renderSchool(_ school: SchoolEntry, rows: [ReportRow], history: [Int64: [DecisionHistoryEntry]] = [:],
                      countyNames: [String: String], purged: [[String: Any]] = []) throws -> Int {
        let base = "schools/\(school.code)/"
        var dates: [String] = []
        var byDate: [String: [ReportRow]] = [:]
        for r in rows {
            if byDate[r.uploadDate] == nil { dates.append(r.uploadDate) }
            byDate[r.uploadDate, default: []].append(r)
        }
        var search: [UInt8] = [UInt8(ascii: "[")]
        var pages = 0
        /// A results page: one roster (none when every month was purged) and the purged months.
        func publishResults(_ index: Int, roster: [String: Any]?, pager: [[String: Any]]) throws {
            var context: [String: Any] = [
                "root": "../../", "title": "審核結果查詢・\(school.name)", "schoolName": school.name, "schoolCode": school.code,
                "pages": pager, "account": school.code, "accountName": school.name, "keyHref": "key.json",
                "indexPath": base + "search-index.json.enc", "base": base, "purged": purged, "hasPurged": !purged.isEmpty,
            ]
            context["roster"] = roster
            try publisher.publish(base + Self.pageName(index), text: templates.render("school-results", context))
        }
        for (i, date) in dates.enumerated() {
            let detailName = Self.detailName(date)
            let dateRows = byDate[date]!
            var tally = Tally()
            for r in dateRows { tally.add(r.reviewState) }
            var roster = tally.context
            roster["uploadDate"] = CivilDate.shown(date)
            roster["detailHref"] = detailName
            let pager: [[String: Any]] = dates.enumerated().map { j, d in ["label": CivilDate.shown(d), "href": Self.pageName(j), "current": j == i] }
            try publishResults(i, roster: roster, pager: pager)
            var rowContexts: [MustacheFrame] = []
            rowContexts.reserveCapacity(dateRows.count)
            for (k, r) in dateRows.enumerated() {
                rowContexts.append(RowFrame(row: r, anchor: k + 1, history: (history[r.id] ?? []).filter(\.final).map(\.line)))
                if search.last != UInt8(ascii: "[") { search.append(UInt8(ascii: ",")) }
                JSONText.raw("{\"id\":", to: &search); JSONText.append(r.nationalID, to: &search)
                JSONText.raw(",\"date\":", to: &search); JSONText.append(CivilDate.shown(date), to: &search)
                JSONText.raw(",\"kind\":", to: &search); JSONText.append(r.rosterKind, to: &search)
                JSONText.raw(",\"state\":", to: &search); JSONText.append(r.reviewState, to: &search)
                JSONText.raw(",\"county\":", to: &search); JSONText.append(r.countyName, to: &search)
                JSONText.raw(",\"href\":", to: &search); JSONText.append(detailName + "#row-\(k + 1)", to: &search)
                search.append(UInt8(ascii: "}"))
            }
            let detail = templates.renderBytes("roster-detail", [
                "root": "../../", "title": "名冊明細・\(CivilDate.shown(date))・\(school.name)", "schoolName": school.name,
                "uploadDate": CivilDate.shown(date), "total": dateRows.count, "backHref": Self.pageName(i), "rows": rowContexts,
            ])
            try publishSealedPage(base + detailName, html: detail, account: school.code, accountName: school.name,
                                  title: "名冊明細・\(CivilDate.shown(date))・\(school.name)", root: "../../")
            pages += 2
        }
        if dates.isEmpty && !purged.isEmpty {
            // Every month purged: the index still shows their counts.
            try publishResults(0, roster: nil, pager: [])
            pages += 1
        }
        search.append(UInt8(ascii: "]"))
        try publishSealedFile(base + "search-index.json", data: Data(search), account: school.code)
        try SchoolReport.write(rows: rows, school: school, base: base) { path, data in
            try publishSealedFile(path, data: data, account: school.code)
        }
        pages += 3
        pages += try renderCountyHistories(school, rows: rows, history: history, countyNames: countyNames)
        return pages
    }

    /// The step: the pages of the schools the plan renders, on the workers.
    func schoolPages(_ plan: SitePlan, _ inputs: SiteInputs) -> SiteStep {
        let countyNames = inputs.countyNames
        var tallies: [String: [String: Tally]] = [:]
        for c in inputs.counts where inputs.purged[c.uploadDate] != nil {
            tallies[c.schoolCode, default: [:]][c.uploadDate, default: Tally()].add(c.reviewState, c.count)
        }
        let purgedBySchool = tallies
        return SiteStep("學校頁 school pages", on: .workers, plan.schools.map { school in { [self] queue in
            let (rows, history) = try queue!.read {
                (try DeskStore.schoolRows($0, school: school.code),
                 try DeskStore.decisionHistory($0, school: school.code, includeDrafts: true))
            }
            let purged = (purgedBySchool[school.code] ?? [:]).sorted { $0.key > $1.key }.map { date, tally -> [String: Any] in
                var c = tally.context
                c["uploadDate"] = CivilDate.shown(date)
                return c
            }
            return try renderSchool(school, rows: rows, history: history, countyNames: countyNames, purged: purged)
        } })
    }
}
