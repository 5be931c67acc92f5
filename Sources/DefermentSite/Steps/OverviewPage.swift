import Crypto
import Foundation
import GRDB
import DefermentCore
import DefermentFiles
import DefermentStore

/// Step: the national overview (全國進度) by county, with its SVG chart.
extension SiteBuilder {
    func publishOverview(counties: [County], counts: [RosterCount], purged: [String: Int] = [:]) throws {
        var tallies: [String: Tally] = [:]
        var notAssigned = 0
        for c in counts {
            if c.countyCode.isEmpty { notAssigned += c.count } else { tallies[c.countyCode, default: Tally()].add(c.reviewState, c.count) }
        }
        var totals = Tally()
        var rows: [[String: Any]] = []
        let maxTotal = max(1, tallies.values.map(\.total).max() ?? 1)
        var bars: [[String: Any]] = []
        let labelWidth = 80.0, barArea = 560.0, barHeight = 16.0, step = 24.0
        for (i, county) in counties.enumerated() {
            let t = tallies[county.code] ?? Tally()
            totals.total += t.total; totals.pending += t.pending; totals.approved += t.approved; totals.refused += t.refused
            var row = t.context
            row["code"] = county.code
            row["name"] = county.name
            rows.append(row)
            let scale = barArea / Double(maxTotal)
            let y = 8.0 + Double(i) * step
            let a = Double(t.approved) * scale, r = Double(t.refused) * scale, p = Double(t.pending) * scale
            func f(_ v: Double) -> String { String(format: "%.1f", v) }
            bars.append(["name": county.name, "y": f(y), "textY": f(y + 13), "labelX": f(labelWidth - 6), "barHeight": f(barHeight),
                         "x0": f(labelWidth), "approvedWidth": f(a), "x1": f(labelWidth + a), "refusedWidth": f(r),
                         "x2": f(labelWidth + a + r), "pendingWidth": f(p), "totalX": f(labelWidth + a + r + p + 4),
                         "approved": t.approved, "refused": t.refused, "pending": t.pending, "total": t.total])
        }
        let chart: [String: Any] = ["width": Int(labelWidth + barArea + 60), "height": Int(16 + Double(counties.count) * step),
                                    "bars": bars]
        try publisher.publish("overview.html", text: templates.render("overview", [
            "root": "", "title": "全國審核進度", "rows": rows, "totals": totals.context, "chart": chart, "notAssigned": notAssigned,
            "purgedMonths": purged.count, "purgedOldest": CivilDate.shown(purged.keys.min() ?? ""),
            "purgedNewest": CivilDate.shown(purged.keys.max() ?? ""),
        ]))
    }

    func overviewPage(_ inputs: SiteInputs) -> SiteStep {
        SiteStep("全國進度 overview") { [self] in
            try publishOverview(counties: inputs.counties, counts: inputs.counts, purged: inputs.purged)
            return 1
        }
    }
}
