import Foundation
import GRDB
import DefermentCore
import DefermentStore

/// The demo (示範): a full cycle on a fresh root with the samples of `seeds/`: the first
/// month's roster, every county's decision workbook filled in (``DemoCounties``), the months
/// after it, then counts by outcome, the site and how to look at it.
public struct DemoPlay {
    let desk: Desk
    let seeds: URL
    /// The root as the operator named it, for the commands the demo suggests.
    let rootName: String

    /// Copies the reference data (without sample rosters) and the sample registry extract into
    /// a demo root's own `seeds/`.
    public static func copySeeds(from seeds: URL, samples: URL, into target: URL) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: target, withIntermediateDirectories: true)
        for name in try fm.contentsOfDirectory(atPath: seeds.path) where name != "rosters" && !name.hasPrefix(".") {
            try fm.copyItem(at: seeds.appendingPathComponent(name), to: target.appendingPathComponent(name))
        }
        let registry = target.appendingPathComponent("registry")
        if !fm.fileExists(atPath: registry.path) {
            try fm.copyItem(at: samples.appendingPathComponent("registry"), to: registry)
        }
    }

    public init(desk: Desk, seeds: URL, rootName: String) {
        self.desk = desk
        self.seeds = seeds
        self.rootName = rootName
    }

    /// Plays the cycle. `summary` prints a run's summary; `publish` builds the site; `say`
    /// prints a line.
    public func play(summary: (RunSummary) -> Int32, publish: () throws -> Void, say: (String) -> Void) throws {
        let fm = FileManager.default
        desk.settleSeconds = 0
        let rosters = try fm.contentsOfDirectory(atPath: seeds.appendingPathComponent("rosters").path).sorted()
        func drop(_ name: String) throws {
            try fm.copyItem(at: seeds.appendingPathComponent("rosters/\(name)"),
                            to: desk.paths.inbox(.rosters).appendingPathComponent(name))
        }
        say("【第 1 個月】學生名冊 \(rosters.first ?? "")")
        if let first = rosters.first { try drop(first) }
        _ = summary(try desk.runOnce())

        say("\n【縣市審核】各縣市下載審核名冊、填寫後以電子郵件寄回或放回 inbox/decisions/<縣市代碼>/")
        for line in try DemoCounties.fillDecisionWorkbooks(desk: desk) { say("  " + line) }
        let school = desk.reference.schools.first?.code ?? ""
        if !school.isEmpty {
            try DemoMail.changePassword(desk: desk, school: school, newPassword: Self.changedPassword)
            say("  學校 \(school) 承辦人在帳號維護頁變更密碼，以電子郵件寄出申請")
        }
        _ = summary(try desk.runOnce())
        for line in try receipts() { say("  " + line) }

        for name in rosters.dropFirst() {
            say("\n【下一個月】學生名冊 \(name)")
            try drop(name)
            _ = summary(try desk.runOnce())
        }
        try counts(say: say)
        say("")
        try publish()
        say(closing())
    }

    /// The password the demo's school clerk changes to.
    static let changedPassword = "示範新密碼-2026-demo"

    /// The receipts and confirmations the last run queued, one line each (no personal data).
    private func receipts() throws -> [String] {
        try desk.store.queue.read { db in
            try Row.fetchAll(db, sql: """
                SELECT kind, recipient, context FROM mail_queue WHERE kind IN ('county-receipt', 'account-changed') ORDER BY id
                """)
        }.map { row in
            let kind: String = row[0], to: String = row[1], context: String = row[2]
            let c = (try? JSONSerialization.jsonObject(with: Data(context.utf8)) as? [String: Any]) ?? [:]
            if kind == "county-receipt" { return "收件回條 → \(to)：\(c["fileName"] ?? "")（\(c["status"] ?? "")）\(c["summary"] ?? "")" }
            return "帳號變更確認信 → \(to)：\(c["code"] ?? "") 的\(c["changes"] ?? "")已變更"
        }
    }

    /// Rows by outcome, reason and county, with the records made.
    private func counts(say: (String) -> Void) throws {
        say("\n依結果統計：")
        let rows = try desk.store.queue.read { db in
            try (String.fetchAll(db, sql: "SELECT review_state || '\t' || COUNT(*) FROM roster_row GROUP BY review_state ORDER BY 1"),
                 String.fetchAll(db, sql: """
                    SELECT COALESCE(reason, '') || '\t' || COUNT(*) FROM roster_row WHERE reason IS NOT NULL GROUP BY reason ORDER BY 1
                    """),
                 String.fetchAll(db, sql: """
                    SELECT c.name || '\t' || COUNT(*) FROM roster_row r JOIN county c ON c.code = r.county_code
                    GROUP BY c.code ORDER BY COUNT(*) DESC, c.code
                    """),
                 Int.fetchOne(db, sql: "SELECT COUNT(*) FROM roster_row WHERE draft_decision IS NOT NULL") ?? 0,
                 Int.fetchOne(db, sql: "SELECT COUNT(*) FROM deferment_record WHERE status = 'active'") ?? 0)
        }
        for line in rows.0 { say("  " + line) }
        say("  陳核中（待核定）\t\(rows.3)")
        say("不分派原因：")
        for line in rows.1 { say("  " + line) }
        say("依分派縣市統計：")
        for line in rows.2 { say("  " + line) }
        say("有效緩徵註記：\(rows.4) 筆（outbox/exports/deferment-records.csv）")
    }

    /// The accounts and where to look next.
    private func closing() -> String {
        let index = desk.paths.site.appendingPathComponent("index.html").path
        let mail = ((try? FileManager.default.contentsOfDirectory(atPath: desk.mailSpool.path)) ?? []).filter { $0.hasSuffix(".eml") }.count
        return """

        示範帳號與初始密碼（學校代碼或縣市代碼；正式環境只交給承辦人一次，見 \(desk.initialPasswordsFile.path)）：
        \((try? String(contentsOf: desk.initialPasswordsFile, encoding: .utf8)) ?? "")
        （學校 \(desk.reference.schools.first?.code ?? "") 的承辦人已在帳號維護頁把密碼改為「\(Self.changedPassword)」，初始密碼已失效。）
        開啟網站：執行 \(SharedFiles.executableURL.path) serve --root \(rootName) 後以瀏覽器開啟 http://127.0.0.1:8080/
                  （含個人資料的頁面已加密，需在 https 或本機網址輸入帳號密碼解密；不含個資的頁面亦可直接開啟 \(index)）
        縣市審核：縣市頁面（counties/<縣市代碼>/）登入後下載審核名冊；處理紀錄與退件說明見該頁及 outbox/rejected/decisions/
        通知信：\(mail) 封在 \(desk.mailSpool.path)（僅統計數字與連結）；以 \(SharedFiles.executableURL.path) mail send --root \(rootName) 寄出（msmtp）
        匯出報表：\(SharedFiles.executableURL.path) report --root \(rootName) --school \(desk.reference.schools.first?.code ?? "") --format csv
        """
    }
}
