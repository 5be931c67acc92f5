import Crypto
import Foundation
import GRDB
import DefermentCore
import DefermentFiles
import DefermentStore

/// Step: county pages (縣市審核): rosters assigned by upload date with counts, the sealed decision
/// workbooks, notices of returned files, and the students of each school registered there.
extension SiteBuilder {
    /// The school's students registered in each county, with their history across months.
    func renderCountyHistories(_ school: SchoolEntry, rows: [ReportRow], history: [Int64: [DecisionHistoryEntry]],
                               countyNames: [String: String]) throws -> Int {
        var byCounty: [String: [ReportRow]] = [:]
        for r in rows where !r.countyCode.isEmpty { byCounty[r.countyCode, default: []].append(r) }
        for (county, countyRows) in byCounty {
            var order: [String] = []
            var byStudent: [String: [ReportRow]] = [:]
            for r in countyRows {
                if byStudent[r.nationalID] == nil { order.append(r.nationalID) }
                byStudent[r.nationalID, default: []].append(r)
            }
            order.sort()
            let students: [MustacheFrame] = order.map { id in
                let entries = byStudent[id]!
                return StudentFrame(entries: entries.enumerated().map { i, r in
                    RowFrame(row: r, anchor: i, first: i == 0, count: entries.count, history: (history[r.id] ?? []).map(\.line),
                             forCounty: true)
                })
            }
            let title = "\(countyNames[county] ?? county)・\(school.name)"
            let html = templates.renderBytes("county-school", [
                "root": "../../../", "title": title,
                "countyName": countyNames[county] ?? county, "schoolName": school.name, "students": students,
            ])
            try publishSealedPage("counties/\(county)/schools/\(school.code).html", html: html, account: county,
                                  accountName: (countyNames[county] ?? county) + "政府", title: title, root: "../../../")
        }
        return byCounty.count
    }

    func publishCounty(_ county: County, schools: [SchoolEntry], counts: [RosterCount], awaiting: [String: [String: Int]],
                       notices: [CountyNotice], purged: [String: Int] = [:]) throws {
        let names = Dictionary(uniqueKeysWithValues: schools.map { ($0.code, $0.name) })
        var byDate: [String: [String: Tally]] = [:]
        for c in counts { byDate[c.uploadDate, default: [:]][c.schoolCode, default: Tally()].add(c.reviewState, c.count) }
        let dates = byDate.keys.sorted(by: >).map { date -> [String: Any] in
            let pendingDays = CivilDate.parse(date).map { today.daysSinceEpoch - $0.daysSinceEpoch } ?? 0
            var total = Tally()
            var totalAwaiting = 0
            let schoolRows = byDate[date]!.sorted { $0.key < $1.key }.map { code, t -> [String: Any] in
                total.total += t.total; total.pending += t.pending; total.approved += t.approved; total.refused += t.refused
                var c = t.context
                c["schoolCode"] = code
                c["schoolName"] = names[code] ?? code
                if purged[date] == nil { c["href"] = "schools/\(code).html" }
                c["max"] = max(t.total, 1)
                // 陳核中 rows are still 待審核 until signed off: shown once, in their own column.
                let waiting = min(awaiting[date]?[code] ?? 0, t.pending)
                c["awaiting"] = waiting
                c["pending"] = t.pending - waiting
                totalAwaiting += waiting
                // Set either way: a missing key would show the date's value (Mustache looks outwards).
                c["pendingDays"] = t.pending - waiting > 0 ? pendingDays as Any : false
                return c
            }
            var c = total.context
            c["uploadDate"] = CivilDate.shown(date)
            c["schools"] = schoolRows
            c["awaiting"] = totalAwaiting
            c["pending"] = total.pending - totalAwaiting
            c["pendingDays"] = total.pending - totalAwaiting > 0 && purged[date] == nil ? pendingDays as Any : false
            if purged[date] != nil {
                c["purged"] = true
                return c
            }
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
            "today": today.iso, "dates": dates, "notices": noticeContexts, "returnAddress": returnAddress,
            "account": county.code, "accountName": county.name + "政府", "keyHref": "key.json",
            "unlockNote": "審核名冊含個人資料，已加密保護。",
        ]))
    }

    /// The step: every county's page, on the workers (after the workbooks: on a small republish
    /// they were most of the building thread's time while the workers waited).
    func countyPages(_ inputs: SiteInputs) -> SiteStep {
        let (schools, purged) = (inputs.schools, inputs.purged)
        return SiteStep("縣市頁 county pages", on: .workers, inputs.counties.map { county in
            let (counts, awaiting, notices) = (inputs.counts.filter { $0.countyCode == county.code },
                                               inputs.awaiting[county.code] ?? [:], inputs.notices[county.code] ?? [])
            return { [self] _ in
                try publishCounty(county, schools: schools, counts: counts, awaiting: awaiting, notices: notices, purged: purged)
                return 1
            }
        })
    }
}
