import Crypto
import Foundation
import GRDB
import DefermentCore
import DefermentFiles
import DefermentStore

/// Step: county pages (縣市審核): the county's rosters by upload date with counts, the sealed
/// decision workbooks and notices of returned files; and, beside each decision workbook, the
/// sealed page of that roster (名冊): its schools' progress and their students with 審核歷程.
extension SiteBuilder {
    /// The anchor and file name stem of an upload date (`roster-20261115`).
    static func rosterStem(_ date: String) -> String { "roster-" + CivilDate.compact(date) }

    /// The site path of a county's roster page of an upload date.
    static func countyRosterPath(county: String, date: String) -> String { "counties/\(county)/\(rosterStem(date)).html" }

    /// Counts of one county's roster by school, with the rows awaiting sign-off (陳核中) apart
    /// (`bySchool` only when asked for: the county's index shows the totals).
    func countyTallies(_ counts: [RosterCount], awaiting: [String: Int], bySchool wanted: Bool = true)
        -> (total: [String: Any], bySchool: [(String, [String: Any])]) {
        var bySchool: [String: Tally] = [:]
        for c in counts { bySchool[c.schoolCode, default: Tally()].add(c.reviewState, c.count) }
        var total = Tally()
        var totalAwaiting = 0
        var schools: [(String, [String: Any])] = []
        for (code, t) in bySchool.sorted(by: { $0.key < $1.key }) {
            total.total += t.total; total.pending += t.pending; total.approved += t.approved; total.refused += t.refused
            // 陳核中 rows are still 待審核 until signed off: shown once, in their own column.
            let waiting = min(awaiting[code] ?? 0, t.pending)
            totalAwaiting += waiting
            guard wanted else { continue }
            var c = t.context
            c["awaiting"] = waiting
            c["pending"] = t.pending - waiting
            schools.append((code, c))
        }
        var c = total.context
        c["awaiting"] = totalAwaiting
        c["pending"] = total.pending - totalAwaiting
        return (c, schools)
    }

    /// A county's page: its rosters by upload date (newest first) with counts, how long the
    /// oldest undecided row has waited (as of the build), the workbook and the roster page.
    func publishCounty(_ county: County, counts: [RosterCount], awaiting: [String: [String: Int]], notices: [CountyNotice],
                       purged: [String: Int] = [:]) throws {
        let byDate = Dictionary(grouping: counts, by: \.uploadDate)
        let dates = byDate.keys.sorted(by: >).map { date -> [String: Any] in
            var c = countyTallies(byDate[date]!, awaiting: awaiting[date] ?? [:], bySchool: false).total
            let pendingDays = CivilDate.parse(date).map { today.daysSinceEpoch - $0.daysSinceEpoch } ?? 0
            c["uploadDate"] = CivilDate.shown(date)
            c["anchor"] = Self.rosterStem(date)
            // Set either way: a missing key would be looked up outwards.
            c["pendingDays"] = (c["pending"] as? Int ?? 0) > 0 && purged[date] == nil ? pendingDays as Any : false
            c["purged"] = purged[date] != nil
            c["rosterHref"] = purged[date] == nil ? Self.rosterStem(date) + ".html" : false
            guard purged[date] == nil else { return c }
            let workbook = Self.workbookPath(county: county.code, date: date)
            c["workbookHref"] = "decisions/" + (workbook as NSString).lastPathComponent + ".enc"
            c["workbookSealed"] = workbook + ".enc"
            c["workbookName"] = DecisionWorkbook.fileName(county: county.code, uploadDate: date)
            return c
        }
        let noticeContexts: [[String: Any]] = notices.map {
            ["receivedAt": $0.receivedAt, "fileReference": $0.fileReference, "accepted": $0.accepted, "summary": $0.summary,
             "problems": $0.problems.map { ["line": $0] }, "hasProblems": !$0.problems.isEmpty]
        }
        try publisher.publish("counties/\(county.code)/index.html", text: templates.render("county", [
            "root": "../../", "title": "\(county.name)審核", "countyName": county.name, "countyCode": county.code,
            "today": today.iso, "dates": dates, "hasDates": !dates.isEmpty, "notices": noticeContexts, "returnAddress": returnAddress,
            "account": county.code, "accountName": county.name + "政府", "keyHref": "key.json",
            "unlockNote": "審核名冊含個人資料，已加密保護。",
        ]))
    }

    /// A county's roster of an upload date (sealed): each school's progress, then its students
    /// (grouped by national ID) with their decision history, the drafts awaiting sign-off included.
    func publishCountyRoster(county: County, date: String, rows: [ReportRow], history: [Int64: [DecisionHistoryEntry]],
                             counts: [RosterCount], awaiting: [String: Int], schoolNames: [String: String]) throws {
        let bySchool = Dictionary(grouping: rows, by: \.schoolCode)
        let (total, tallies) = countyTallies(counts, awaiting: awaiting)
        let schools = tallies.map { code, tally -> [String: Any] in
            var c = tally
            c["schoolCode"] = code
            c["schoolName"] = schoolNames[code] ?? code
            var students: [MustacheFrame] = []
            var entries: [ReportRow] = []
            // Rows come ordered by school and national ID: one student's rows are adjacent.
            func flush() {
                students.append(StudentFrame(entries: entries.enumerated().map { i, r in
                    RowFrame(row: r, anchor: i, first: i == 0, count: entries.count, history: (history[r.id] ?? []).map(\.line),
                             forCounty: true)
                }))
                entries = []
            }
            for r in bySchool[code] ?? [] {
                if let last = entries.last, last.nationalID != r.nationalID { flush() }
                entries.append(r)
            }
            if !entries.isEmpty { flush() }
            c["students"] = students
            return c
        }
        var context = total
        let title = "\(county.name)・上傳日期 \(CivilDate.shown(date)) 名冊"
        context.merge(["root": "../../", "title": title, "countyName": county.name, "uploadDate": CivilDate.shown(date),
                       "anchor": Self.rosterStem(date), "schools": schools]) { $1 }
        try publishSealedPage(Self.countyRosterPath(county: county.code, date: date), html: templates.renderBytes("county-roster", context),
                              account: county.code, accountName: county.name + "政府", title: title, root: "../../")
    }

    /// The step: every county's page, on the workers (after the workbooks: on a small republish
    /// they were most of the building thread's time while the workers waited).
    func countyPages(_ inputs: SiteInputs) -> SiteStep {
        let purged = inputs.purged
        let countsByCounty = Dictionary(grouping: inputs.counts, by: \.countyCode)
        return SiteStep("縣市頁 county pages", on: .workers, inputs.counties.map { county in
            let (counts, awaiting, notices) = (countsByCounty[county.code] ?? [], inputs.awaiting[county.code] ?? [:],
                                               inputs.notices[county.code] ?? [])
            return { [self] _ in
                try publishCounty(county, counts: counts, awaiting: awaiting, notices: notices, purged: purged)
                return 1
            }
        })
    }
}
