import ArgumentParser
import Crypto
import DefermentCore
import DefermentDesk
import DefermentFiles
import DefermentSite
import DefermentStore
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reset a demo root and play a full month: month-1 roster, counties' decisions (some signed off, one county only 陳核中), month-2 roster; print a summary.",
        discussion: Exit.help)

    @Option(help: "The demo root; it is wiped first.") var root: String = "demo"
    @Option(help: "Reference data and samples.") var seeds: String = "seeds"
    @Option(help: "Page templates.") var templates: String = "templates"

    func run() throws {
        let rootURL = URL(fileURLWithPath: root)
        let fm = FileManager.default
        for sub in ["inbox", "outbox", "state"] { try? fm.removeItem(at: rootURL.appendingPathComponent(sub)) }
        try DeskPaths(root: rootURL).createFolders()
        let seedsURL = URL(fileURLWithPath: seeds)
        let rosters = try fm.contentsOfDirectory(atPath: seedsURL.appendingPathComponent("rosters").path).sorted()
        var options = try RootOptions.parse(["--root", root, "--seeds", seeds, "--templates", templates])
        options.verbose = false
        let desk = try options.openDesk(logger: options.makeLogger())
        desk.settleSeconds = 0
        func drop(_ name: String) throws {
            try fm.copyItem(at: seedsURL.appendingPathComponent("rosters/\(name)"), to: rootURL.appendingPathComponent("inbox/rosters/\(name)"))
        }

        print("【第 1 個月】學生名冊 \(rosters.first ?? "")")
        if let first = rosters.first { try drop(first) }
        _ = printSummary(try desk.runOnce())

        print("\n【縣市審核】各縣市下載審核名冊、填寫後放回 inbox/decisions/<縣市代碼>/")
        let filled = try DemoCounties.fillDecisionWorkbooks(desk: desk)
        for line in filled { print("  " + line) }
        _ = printSummary(try desk.runOnce())

        for name in rosters.dropFirst() {
            print("\n【下一個月】學生名冊 \(name)")
            try drop(name)
            _ = printSummary(try desk.runOnce())
        }

        print("\n依結果統計：")
        let rows = try desk.store.queue.read { db in
            try (String.fetchAll(db, sql: "SELECT review_state || '\t' || COUNT(*) FROM roster_row GROUP BY review_state ORDER BY 1"),
                 String.fetchAll(db, sql: "SELECT COALESCE(reason, '') || '\t' || COUNT(*) FROM roster_row WHERE reason IS NOT NULL GROUP BY reason ORDER BY 1"),
                 String.fetchAll(db, sql: """
                    SELECT c.name || '\t' || COUNT(*) FROM roster_row r JOIN county c ON c.code = r.county_code
                    GROUP BY c.code ORDER BY COUNT(*) DESC, c.code
                    """),
                 Int.fetchOne(db, sql: "SELECT COUNT(*) FROM roster_row WHERE draft_decision IS NOT NULL") ?? 0,
                 Int.fetchOne(db, sql: "SELECT COUNT(*) FROM deferment_record WHERE status = 'active'") ?? 0)
        }
        for line in rows.0 { print("  " + line) }
        print("  陳核中（待核定）\t\(rows.3)")
        print("不分派原因：")
        for line in rows.1 { print("  " + line) }
        print("依分派縣市統計：")
        for line in rows.2 { print("  " + line) }
        print("有效緩徵註記：\(rows.4) 筆（outbox/exports/deferment-records.csv）")
        print("")
        try publish(desk)
        let index = desk.paths.site.appendingPathComponent("index.html").path
        print("""

        示範帳號與初始密碼（學校代碼或縣市代碼；正式環境只交給承辦人一次，見 \(desk.initialPasswordsFile.path)）：
        \((try? String(contentsOf: desk.initialPasswordsFile, encoding: .utf8)) ?? "")
        開啟網站：執行 .build/debug/deferment serve --root \(root) 後以瀏覽器開啟 http://127.0.0.1:8080/
                  （含個人資料的頁面已加密，需在 https 或本機網址輸入帳號密碼解密；不含個資的頁面亦可直接開啟 \(index)）
        縣市審核：縣市頁面（counties/<縣市代碼>/）登入後下載審核名冊；處理紀錄與退件說明見該頁及 outbox/rejected/decisions/
        通知信：\(((try? FileManager.default.contentsOfDirectory(atPath: desk.mailSpool.path)) ?? []).filter { $0.hasSuffix(".eml") }.count) 封在 \(desk.mailSpool.path)（僅統計數字與連結）；以 deferment mail send --root \(root) 寄出（msmtp）
        匯出報表：.build/debug/deferment report --root \(root) --school \(desk.reference.schools.first?.code ?? "") --format csv
        """)
    }
}
