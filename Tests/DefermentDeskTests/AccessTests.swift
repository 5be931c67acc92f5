import Crypto
import Foundation
import GRDB
import Testing
@testable import DefermentDesk
@testable import DefermentSite
@testable import DefermentStore
import DefermentCore

/// The envelope format: what the browser opens with WebCrypto.
struct EnvelopeTests {
    @Test func wrongPasswordTamperedCiphertextAndRewrappedKey() throws {
        let key = Envelope.newDataKey()
        // The real key derivation (600,000 rounds).
        let wrapped = try Envelope.wrap(key, password: "first password", account: "110000")
        #expect(wrapped.rounds == 600_000)
        #expect(Data(base64Encoded: wrapped.salt)?.count == 16)
        let opened = try Envelope.unwrap(wrapped, password: "first password")
        #expect(opened == key)
        #expect(throws: Envelope.Failure.wrongPassword) { try Envelope.unwrap(wrapped, password: "second password") }
        // A wrapped key moved to another account does not open.
        var moved = wrapped
        moved.account = "110037"
        #expect(throws: Envelope.Failure.wrongPassword) { try Envelope.unwrap(moved, password: "first password") }

        let page = Data("<table><tr><td>王小明</td></tr></table>".utf8)
        let sealed = try Envelope.seal(page, key: key, account: "110000", path: "schools/110000/roster-20261015.html.enc")
        #expect(Array(sealed.prefix(4)) == Array("DEF1".utf8))
        #expect(sealed.range(of: Data("王小明".utf8)) == nil)
        #expect(try Envelope.open(sealed, key: key, account: "110000", path: "schools/110000/roster-20261015.html.enc") == page)
        // Sealing is deterministic per (key, path, content), so unchanged pages are not rewritten.
        #expect(try Envelope.seal(page, key: key, account: "110000", path: "schools/110000/roster-20261015.html.enc") == sealed)
        #expect(try Envelope.seal(page, key: key, account: "110000", path: "schools/110000/roster-20261115.html.enc") != sealed)
        // Tampering: a flipped bit, a truncated file, another path or account, another key.
        var flipped = sealed
        flipped[flipped.count / 2] ^= 0x01
        #expect(throws: Envelope.Failure.tampered) { try Envelope.open(flipped, key: key, account: "110000", path: "schools/110000/roster-20261015.html.enc") }
        #expect(throws: Envelope.Failure.tampered) { try Envelope.open(sealed.dropLast(), key: key, account: "110000", path: "schools/110000/roster-20261015.html.enc") }
        #expect(throws: Envelope.Failure.tampered) { try Envelope.open(sealed, key: key, account: "110000", path: "schools/110000/roster-20261115.html.enc") }
        #expect(throws: Envelope.Failure.tampered) { try Envelope.open(sealed, key: key, account: "110037", path: "schools/110000/roster-20261015.html.enc") }
        #expect(throws: Envelope.Failure.tampered) { try Envelope.open(sealed, key: Envelope.newDataKey(), account: "110000", path: "schools/110000/roster-20261015.html.enc") }

        // A new password rewraps the same data key: pages sealed before still open, the old password does not.
        let rewrapped = try Envelope.wrap(opened, password: "second password", account: "110000", rounds: 600_000)
        #expect(rewrapped.salt != wrapped.salt)
        let again = try Envelope.unwrap(rewrapped, password: "second password")
        #expect(try Envelope.open(sealed, key: again, account: "110000", path: "schools/110000/roster-20261015.html.enc") == page)
        #expect(throws: Envelope.Failure.wrongPassword) { try Envelope.unwrap(rewrapped, password: "first password") }
    }

    @Test func compressedPagesShrinkOpenAndCannotPassForUncompressed() throws {
        let key = Envelope.newDataKey()
        let path = "schools/110000/roster-20261015.html.enc"
        let row = "<tr><td>申請緩徵</td><td class=\"id\">A123456789</td><td>王小明</td><td>2007-01-19</td><td>普通科</td></tr>\n"
        let page = Data(String(repeating: row, count: 2000).utf8)
        let sealed = try Envelope.seal(page, key: key, account: "110000", path: path, compress: true)
        #expect(Array(sealed.prefix(4)) == Array("DEF2".utf8))
        #expect(sealed.count < page.count / 10)
        #expect(sealed.range(of: Data("王小明".utf8)) == nil && sealed.range(of: Data("A123456789".utf8)) == nil)
        #expect(try Envelope.open(sealed, key: key, account: "110000", path: path) == page)
        #expect(try Envelope.seal(page, key: key, account: "110000", path: path, compress: true) == sealed)
        // The format is authenticated: relabelled as uncompressed (or back), it does not open.
        var relabelled = sealed
        relabelled.replaceSubrange(0..<4, with: Array("DEF1".utf8))
        #expect(throws: Envelope.Failure.tampered) { try Envelope.open(relabelled, key: key, account: "110000", path: path) }
        var plain = try Envelope.seal(page, key: key, account: "110000", path: path)
        plain.replaceSubrange(0..<4, with: Array("DEF2".utf8))
        #expect(throws: Envelope.Failure.tampered) { try Envelope.open(plain, key: key, account: "110000", path: path) }
        // An empty file seals and opens too.
        let empty = try Envelope.seal(Data(), key: key, account: "110000", path: path, compress: true)
        #expect(try Envelope.open(empty, key: key, account: "110000", path: path) == Data())
    }

    @Test func newPasswordsAreLongAndVaried() {
        let a = Envelope.newPassword(), b = Envelope.newPassword()
        #expect(a != b)
        #expect(a.count == 19 && a.split(separator: "-").count == 4)
    }
}

/// Accounts: creation, the command line, the inbox CSV and hand-over.
@Suite(.serialized)
struct AccountTests {
    func publishedKey(_ root: URL, _ code: String) throws -> Envelope.WrappedKey {
        try JSONDecoder().decode(Envelope.WrappedKey.self, from: Data(contentsOf: root.appendingPathComponent("outbox/site/schools/\(code)/key.json")))
    }

    @Test func accountsForEverySchoolAndCountyWithInitialPasswordsForTheOperatorOnly() throws {
        let root = try temporaryRoot()
        try drop(try Data(contentsOf: seedsFolder.appendingPathComponent("rosters/roster-20261015.csv")), as: "roster-20261015.csv", into: .rosters, root: root)
        let run = try runCLI(["run", "--root", root.path, "--seeds", seedsFolder.path, "--templates", templatesFolder.path, "--settle", "0"])
        #expect(run.status == 0, "\(run.err)")
        let accounts = try count(root, "SELECT COUNT(*) FROM account")
        #expect(accounts == 22 + (try count(root, "SELECT COUNT(*) FROM school")))
        let file = root.appendingPathComponent("state/initial-passwords.csv")
        let attrs = try FileManager.default.attributesOfItem(atPath: file.path)
        #expect((attrs[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n").dropFirst()
        #expect(lines.count == accounts)
        // The initial password opens the published key.
        let line = try #require(lines.first { $0.hasPrefix("110000,") })
        let password = String(line.split(separator: ",")[2])
        let w = try publishedKey(root, "110000")
        let key = try Envelope.unwrap(w, password: password)
        let stored = try DatabaseQueue(path: root.appendingPathComponent("state/deferment.sqlite").path).read { try Data.fetchOne($0, sql: "SELECT data_key FROM account WHERE code = '110000'") }
        // The database holds it sealed under the host key (state/host.key), never in clear.
        let hostKey = try HostKey.load(root.appendingPathComponent("state/host.key"))
        #expect(try hostKey.open(try #require(stored), account: "110000") == key.withUnsafeBytes { Data($0) })
        #expect(stored?.range(of: key.withUnsafeBytes { Data($0) }) == nil)
        // A second run creates nothing new and writes no password again.
        _ = try runCLI(["run", "--root", root.path, "--seeds", seedsFolder.path, "--templates", templatesFolder.path, "--settle", "0"])
        #expect(try String(contentsOf: file, encoding: .utf8).split(separator: "\n").count == lines.count + 1)
        // list shows no secret.
        let list = try runCLI(["account", "list", "--root", root.path, "--seeds", seedsFolder.path, "--templates", templatesFolder.path])
        #expect(list.status == 0 && list.out.contains("110000") && !list.out.contains(password))
        // Times in Taiwan time and the desk's one form, as pages and exports show them.
        let listed = try #require(list.out.split(separator: "\n").first { $0.hasPrefix("110000\t") })
        #expect(listed.split(separator: "\t").last?.wholeMatch(of: /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/) != nil, "\(listed)")
    }

    @Test func setPasswordFromStdinMinimumLengthAndHandOver() throws {
        let root = try temporaryRoot()
        try drop(try Data(contentsOf: seedsFolder.appendingPathComponent("rosters/roster-20261015.csv")), as: "roster-20261015.csv", into: .rosters, root: root)
        let common = ["--root", root.path, "--seeds", seedsFolder.path, "--templates", templatesFolder.path]
        #expect(try runCLI(["run", "--settle", "0"] + common).status == 0)
        let before = try publishedKey(root, "110000")
        let short = try runCLI(["account", "set-password", "110000"] + common, stdin: "short")
        #expect(short.status == 4 && short.err.contains("至少需要 10 個字元"))
        let ok = try runCLI(["account", "set-password", "110000"] + common, stdin: "new staff password 2026\n")
        #expect(ok.status == 0, "\(ok.err)")
        let after = try publishedKey(root, "110000")
        #expect(after != before)
        _ = try Envelope.unwrap(after, password: "new staff password 2026")
        // Hand-over (移交): contact change plus the new password; notifications off.
        let contact = try runCLI(["account", "set-contact", "110000", "--name", "陳承辦", "--email", "new.clerk@example.edu.tw", "--notify", "off"] + common)
        #expect(contact.status == 0, "\(contact.err)")
        let row = try DatabaseQueue(path: root.appendingPathComponent("state/deferment.sqlite").path).read {
            try Row.fetchOne($0, sql: "SELECT contact_name, contact_email, notify FROM account WHERE code = '110000'")
        }
        #expect(row?[0] == "陳承辦" && row?[1] == "new.clerk@example.edu.tw" && row?[2] == false)
        let bad = try runCLI(["account", "set-contact", "999999", "--name", "x"] + common)
        #expect(bad.status == 4 && bad.err.contains("查無帳號"))
    }

    @Test func accountsCSVInTheInboxAllOrNothingAndNeverArchivesPasswords() throws {
        let root = try temporaryRoot()
        try drop(try Data(contentsOf: seedsFolder.appendingPathComponent("rosters/roster-20261015.csv")), as: "roster-20261015.csv", into: .rosters, root: root)
        let desk = try Desk(root: root, seeds: seedsFolder, templates: templatesFolder)
        desk.settleSeconds = 0
        _ = try desk.runOnce()
        try desk.publishSite()
        let original = try publishedKey(root, "110037")
        // One bad row (unknown account) refuses the whole file, naming row and column.
        try drop("帳號,聯絡人,電子郵件,接收通知,新密碼\n110037,林承辦,lin@example.edu.tw,否,a long enough password\n123456,王,wang@example.edu.tw,是,\n",
                 as: "accounts-1.csv", into: .accounts, root: root)
        let first = try desk.runOnce()
        guard case .rejected(let r) = first.files.first?.result else { Issue.record("not rejected"); return }
        #expect(r.problem.contains("第 3 列「帳號」欄"))
        #expect(try count(root, "SELECT COUNT(*) FROM account WHERE contact_name = '林承辦'") == 0)
        // The refused file is kept with its passwords masked too.
        let refused = try FileManager.default.contentsOfDirectory(atPath: desk.paths.rejected.path).filter { $0.hasPrefix("accounts-1") }
        #expect(Set(refused) == ["accounts-1.csv", "accounts-1.csv.退件說明.txt"])
        let kept = try String(contentsOf: desk.paths.rejected.appendingPathComponent("accounts-1.csv"), encoding: .utf8)
        #expect(!kept.contains("a long enough password") && kept.contains("（已遮蔽）") && kept.contains("123456"))
        // Every error of every row is reported, not only the first.
        try drop("帳號,聯絡人,電子郵件,接收通知,新密碼\n110037,林,not-an-address,也許,short\n654321,王,wang@example.edu.tw,是,another long password\n",
                 as: "accounts-3.csv", into: .accounts, root: root)
        guard case .rejected(let all) = try desk.runOnce().files.first?.result else { Issue.record("not rejected"); return }
        for wanted in ["第 2 列「接收通知」欄", "第 2 列「電子郵件」欄", "第 2 列「新密碼」欄", "第 3 列「帳號」欄"] {
            #expect(all.problem.contains(wanted), "\(wanted)")
        }
        let kept3 = try String(contentsOf: desk.paths.rejected.appendingPathComponent("accounts-3.csv"), encoding: .utf8)
        #expect(!kept3.contains("short") && !kept3.contains("another long password"))
        // A good file applies every row; the archive keeps no password.
        try drop("帳號,聯絡人,電子郵件,接收通知,新密碼\n110037,林承辦,lin@example.edu.tw,否,a long enough password\n",
                 as: "accounts-2.csv", into: .accounts, root: root)
        let second = try desk.runOnce()
        #expect(second.files.first?.result == .applied("更新帳號 1 筆"))
        #expect(try count(root, "SELECT COUNT(*) FROM account WHERE code = '110037' AND contact_name = '林承辦' AND notify = 0") == 1)
        let archived = try FileManager.default.subpathsOfDirectory(atPath: desk.paths.archive.path).filter { $0.contains("accounts-2") }
        #expect(archived.count == 1)
        let text = try String(contentsOf: desk.paths.archive.appendingPathComponent(archived[0]), encoding: .utf8)
        #expect(!text.contains("a long enough password") && text.contains("（已遮蔽）"))
        // The old password stops working at the next publish.
        try desk.publishSite()
        let now = try publishedKey(root, "110037")
        #expect(now != original)
        _ = try Envelope.unwrap(now, password: "a long enough password")
    }
}
