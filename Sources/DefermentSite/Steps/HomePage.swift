import Crypto
import Foundation
import GRDB
import DefermentCore
import DefermentFiles
import DefermentStore

/// Step: the home page (首頁), schools grouped by county.
extension SiteBuilder {
    func publishHome(schools: [SchoolEntry], counties: [County], withRows: Set<String>) throws {
        var groups: [[String: Any]] = []
        for county in counties {
            let list = schools.filter { $0.countyCode == county.code && withRows.contains($0.code) }
            if !list.isEmpty { groups.append(["countyName": county.name, "schools": list.map { ["code": $0.code, "name": $0.name] }]) }
        }
        let unplaced = schools.filter { $0.countyCode == nil && withRows.contains($0.code) }
        if !unplaced.isEmpty {
            groups.append(["countyName": "其他（名冊新增之學校）", "schools": unplaced.map { ["code": $0.code, "name": $0.name] }])
        }
        try publisher.publish("index.html", text: templates.render("home", [
            "root": "", "title": "首頁", "schoolGroups": groups,
            "counties": counties.map { ["code": $0.code, "name": $0.name] },
        ]))
    }

    func homePage(_ inputs: SiteInputs) -> SiteStep {
        SiteStep("首頁 home") { [self] in
            try publishHome(schools: inputs.schools, counties: inputs.counties, withRows: inputs.schoolsWithRows)
            return 1
        }
    }
}
