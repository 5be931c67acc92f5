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

    /// Step: each account's password-wrapped data key (`key.json`; changing a password changes
    /// only this file) and its 帳號維護 page.
    func accountKeys(_ inputs: SiteInputs) -> SiteStep {
        SiteStep("帳號金鑰 account keys") { [self] in
            let withRows = inputs.schoolsWithRows
            let accounts = inputs.schools.filter { withRows.contains($0.code) }.map { ("schools", $0.code, $0.name) }
                + inputs.counties.map { ("counties", $0.code, $0.name + "政府") }
            for (folder, code, name) in accounts {
                guard let w = wrappedKeys[code] else { throw SiteError("帳號 \(code) 不存在，無法加密其頁面") }
                try publisher.publish("\(folder)/\(code)/key.json", text: w)
                try publisher.publish("\(folder)/\(code)/account.html", text: templates.render("account", [
                    "root": "../../", "title": "帳號維護・\(name)", "account": code, "accountName": name, "keyHref": "key.json",
                    "returnAddress": returnAddress, "unlockNote": "帳號維護需先以目前的密碼登入。",
                    "rounds": Envelope.defaultRounds,
                ]))
            }
            return 2 * accounts.count
        }
    }
}
