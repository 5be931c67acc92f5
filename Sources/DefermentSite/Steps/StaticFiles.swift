import Foundation
import DefermentCore

extension SiteBuilder {
    /// Step: the stylesheet and the script that opens sealed pages (`templates/static/`).
    func staticFiles() -> SiteStep {
        SiteStep("靜態檔 static files") { [self] in
            for (name, data) in templates.staticFiles { try publisher.publish(name, data) }
            return templates.staticFiles.count
        }
    }

    /// Step: each account's password-wrapped data key (`key.json`); changing a password changes
    /// only this file.
    func accountKeys(_ inputs: SiteInputs) -> SiteStep {
        SiteStep("帳號金鑰 account keys") { [self] in
            let withRows = inputs.schoolsWithRows
            for school in inputs.schools where withRows.contains(school.code) {
                guard let w = wrappedKeys[school.code] else { throw SiteError("學校 \(school.code) 沒有帳號，無法加密其頁面") }
                try publisher.publish("schools/\(school.code)/key.json", text: w)
            }
            for county in inputs.counties {
                guard let w = wrappedKeys[county.code] else { throw SiteError("縣市 \(county.code) 沒有帳號，無法加密其頁面") }
                try publisher.publish("counties/\(county.code)/key.json", text: w)
            }
            return withRows.count + inputs.counties.count
        }
    }
}
