import Foundation
import GRDB
import DefermentCore
import DefermentStore

/// What personal data a root holds (個人資料盤點), by kind and month, with the oldest date of
/// each and why it is kept: the answer to "what do you hold and why".
public struct Inventory: Sendable {
    public struct Line: Sendable, Equatable {
        public var kind: String
        public var month: String
        public var count: Int
        public var oldest: String
        public var why: String
    }
    public var lines: [Line] = []

    /// The lines as text, one per line, columns separated by two spaces.
    public var text: String {
        (["類別  月份  筆數  最早日期  保存理由"] + lines.map { "\($0.kind)  \($0.month)  \($0.count)  \($0.oldest)  \($0.why)" })
            .joined(separator: "\n")
    }
}

extension Desk {
    /// The root's personal data, as the database and the files hold it now.
    public func inventory() throws -> Inventory {
        let policy = retention
        var inventory = Inventory()
        func add(_ kind: String, _ dates: [String], why: String) {
            var byMonth: [String: [String]] = [:]
            for d in dates { byMonth[String(d.prefix(7)), default: []].append(d) }
            for month in byMonth.keys.sorted() {
                inventory.lines.append(.init(kind: kind, month: month, count: byMonth[month]!.count,
                    oldest: byMonth[month]!.min() ?? "", why: why))
            }
        }
        try store.queue.read { db in
            for entry in try DeskStore.uploadDateInventory(db) {
                if entry.purgedAt == nil {
                    inventory.lines.append(.init(kind: "名冊資料列", month: String(entry.date.prefix(7)), count: entry.rows, oldest: entry.date,
                                                 why: "審核與查詢；上傳日期後 \(policy.rosterYears) 年刪除"))
                } else {
                    inventory.lines.append(.init(kind: "名冊（已刪除個人資料，僅存統計）", month: String(entry.date.prefix(7)), count: entry.rows,
                                                 oldest: entry.purgedAt ?? "", why: "統計數字，不含個人資料"))
                }
            }
            add("緩徵紀錄（依終止日期）", try String.fetchAll(db,
                sql: "SELECT end_date FROM deferment_record WHERE end_date IS NOT NULL AND end_date <> ''"),
                why: "兵役機關查核；終止後 \(policy.recordYears) 年刪除")
            let open = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM deferment_record WHERE end_date IS NULL OR end_date = ''") ?? 0
            if open > 0 { inventory.lines.append(.init(kind: "緩徵紀錄（未定終止日期）", month: "", count: open, oldest: "", why: "緩徵中") ) }
            add("役政資料（人員）", try String.fetchAll(db, sql: """
                SELECT f.received_at FROM person p JOIN input_file f ON f.id = p.file_id
                """).map { String($0.prefix(10)) }, why: "分派戶籍縣市；所屬檔案逾 \(policy.rawInputDays) 天且無引用時刪除")
            let seeded = try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM person p WHERE p.file_id IS NULL OR p.file_id NOT IN (SELECT id FROM input_file)
                """) ?? 0
            if seeded > 0 {
                let loaded = try String.fetchOne(db, sql: "SELECT MIN(loaded_at) FROM seed_state WHERE name LIKE 'registry/%'") ?? ""
                inventory.lines.append(.init(kind: "役政資料（人員，seeds/registry/）", month: String(loaded.prefix(7)), count: seeded,
                                             oldest: String(loaded.prefix(10)), why: "分派戶籍縣市；隨 seeds/registry/ 的檔案更換或移除"))
            }
            for file in try DeskStore.ledgerFiles(db) where !file.archivedPath.isEmpty {
                let returned = file.kind == InputKind.decisions.rawValue
                add(returned ? "審核名冊回傳檔" : "原始檔案（\(file.kind)）", [String(file.receivedAt.prefix(10))],
                    why: "查核原始資料；收件後 \(returned ? policy.returnedWorkbookDays : policy.rawInputDays) 天刪除")
            }
        }
        let folders: [(URL, String, Int)] = [
            (paths.rejected, "退件檔案", policy.rejectedDays), (mailSpool.appendingPathComponent("sent"), "已寄出郵件", policy.mailDays),
            (mailSpool.appendingPathComponent("failed"), "無法寄出郵件", policy.mailDays), (paths.exports, "匯出檔", 0),
        ]
        for (folder, kind, days) in folders {
            add(kind, Self.datedFiles(in: folder).map(\.day.iso), why: days > 0 ? "逾 \(days) 天刪除" : "每次匯出覆寫")
        }
        // Lines of the same kind and month merged.
        var merged: [String: Inventory.Line] = [:]
        var order: [String] = []
        for line in inventory.lines {
            let key = line.kind + "|" + line.month
            if var m = merged[key] {
                m.count += line.count
                m.oldest = min(m.oldest, line.oldest)
                merged[key] = m
            } else {
                merged[key] = line
                order.append(key)
            }
        }
        inventory.lines = order.map { merged[$0]! }
        return inventory
    }
}
