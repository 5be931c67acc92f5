import Crypto
import Foundation
import GRDB
import Testing
@testable import DefermentDesk
@testable import DefermentSite
@testable import DefermentStore
import DefermentCore

/// A clerk keeps their own account (個人帳號維護): the request made in a browser on the 帳號維護
/// page travels in a mail body, the desk verifies and applies it, the new password opens the
/// account's key and the old one no longer does, the directory follows the new contact, and the
/// same request sent again is refused.
@Suite(.serialized)
struct AccountMaintenanceTests {
    @Test(arguments: WebBrowser.allCases) func aClerkChangesPasswordAndContactByMail(in browser: WebBrowser) throws {
        let f = try SiteFixture()
        let account = "63000", password = "correct horse 63000", newPassword = "新的密碼 battery staple"
        let (out, _) = try f.runBrowserScript("browser-account", account: account,
                                              arguments: [newPassword, "陳承辦", "02-2725-6000#123", "new-clerk@taipei.example.gov.tw"],
                                              in: browser)
        struct Made: Decodable { var block: String; var mailto: String }
        let made = try JSONDecoder().decode(Made.self, from: Data(out.split(separator: "\n").last.map(String.init)?.utf8 ?? "".utf8))
        #expect(made.mailto.hasPrefix("mailto:deferment-desk@example.gov.tw?subject="))
        #expect(made.mailto.removingPercentEncoding?.contains("BEGIN DEFERMENT ACCOUNT REQUEST") == true)

        // Pasted into a message by the clerk's mail client, from any address.
        func deliver(_ id: String) throws {
            let spec: [[String: Any]] = [["message_id": id, "from": "clerk-home@example.net", "style": "text", "body": "您好，\n\n" + made.block]]
            _ = try pythonOutput([scriptsFolder.appendingPathComponent("mail_compose.py").path, f.desk.mailInbox.path,
                                  String(decoding: try JSONSerialization.data(withJSONObject: spec), as: UTF8.self)])
        }
        let before = try #require(try f.desk.accounts().first { $0.code == account })
        try deliver("req1@clerk")
        let summary = try f.desk.runOnce()
        #expect(summary.files.contains { if case .applied(let line) = $0.result { return line.contains("密碼") } ; return false })
        let after = try #require(try f.desk.accounts().first { $0.code == account })
        #expect(after.wrappedKey != before.wrappedKey && after.contactEmail == "new-clerk@taipei.example.gov.tw" && !after.notify)
        let wrapped = try JSONDecoder().decode(Envelope.WrappedKey.self, from: Data(after.wrappedKey.utf8))
        #expect(try Envelope.unwrap(wrapped, password: newPassword).withUnsafeBytes { Data($0) } == after.dataKey)
        #expect(throws: (any Error).self) { try Envelope.unwrap(wrapped, password: password) }
        // The site publishes the new key; the directory shows the new contact.
        try f.desk.publishSite()
        let published = try String(contentsOf: f.site.appendingPathComponent("counties/\(account)/key.json"), encoding: .utf8)
        #expect(published == after.wrappedKey)
        let directory = try String(contentsOf: f.site.appendingPathComponent("directory.html"), encoding: .utf8)
            .replacing(#/ data-label="[^"]*"/#, with: "")
        #expect(directory.contains("<td>陳承辦</td>") && directory.contains("02-2725-6000#123") && directory.contains("new-clerk@taipei.example.gov.tw"))
        // Confirmation to the old and the new address.
        let confirmations = try f.desk.store.queue.read {
            try String.fetchAll($0, sql: "SELECT recipient FROM mail_queue WHERE kind = 'account-changed' ORDER BY recipient")
        }
        #expect(Set(confirmations) == ["deferment-63000@example.gov.tw", "new-clerk@taipei.example.gov.tw"])

        // The same request again, in another message: made before the last change, refused.
        try deliver("req2@clerk")
        _ = try f.desk.runOnce()
        #expect(try f.desk.accounts().first { $0.code == account }?.wrappedKey == after.wrappedKey)
        let refusal = try f.desk.store.queue.read {
            try String.fetchOne($0, sql: "SELECT context FROM mail_queue WHERE kind = 'account-request-refused'")
        }
        #expect(refusal?.contains("已失效") == true)
        // A request whose signature does not verify is refused too.
        let bogus = "-----BEGIN DEFERMENT ACCOUNT REQUEST-----\n" + Data(#"{"body":"{\"v\":1,\"account\":\"63000\",\"base\":\"x\",\"issued\":\"x\",\"notify\":\"on\"}","mac":"AAAA"}"#.utf8).base64EncodedString() + "\n-----END DEFERMENT ACCOUNT REQUEST-----"
        let request = try #require(try AccountChangeRequest.find(in: bogus))
        #expect(throws: FileRejection.self) { try f.desk.applyAccountChangeRequest(request, requestDigest: "t") }
    }

    /// The same request as a file dropped into `inbox/accounts/` (handed to the operator).
    @Test func aRequestFileInTheAccountsFolderIsApplied() throws {
        let root = try temporaryRoot()
        let desk = try openDesk(root)
        _ = try desk.ensureAccounts()
        let account = try #require(try desk.accounts().first { $0.code == "64000" })
        let current = try JSONDecoder().decode(Envelope.WrappedKey.self, from: Data(account.wrappedKey.utf8))
        let body = #"{"v":1,"account":"64000","base":"\#(AccountChangeRequest.fingerprint(of: current))","issued":"2026-12-04T00:00:00Z","name":"林承辦","notify":"on"}"#
        let mac = HMAC<SHA256>.authenticationCode(for: Data(("deferment-account-request|" + body).utf8), using: SymmetricKey(data: account.dataKey))
        let outer = try JSONSerialization.data(withJSONObject: ["body": body, "mac": Data(mac).base64EncodedString()])
        let block = "-----BEGIN DEFERMENT ACCOUNT REQUEST-----\n\(outer.base64EncodedString())\n-----END DEFERMENT ACCOUNT REQUEST-----\n"
        try drop(Data(block.utf8), as: "帳號維護申請-64000.txt", into: .accounts, root: root)
        let outcome = try #require(try desk.runOnce().files.first)
        guard case .applied(let line) = outcome.result else { Issue.record("not applied: \(outcome.result)"); return }
        #expect(line.contains("承辦人"))
        #expect(try desk.accounts().first { $0.code == "64000" }?.contactName == "林承辦")
    }
}
