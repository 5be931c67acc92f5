import Foundation
import GRDB
import DefermentCore
import DefermentStore

/// What a purge (依保存期限刪除個人資料) removes and why, computed from the database, the files
/// and the retention settings; nothing is changed until ``Desk/applyPurge(_:)``.
public struct PurgePlan: Sendable {
    /// One line of the plan: a kind of data, the date it is counted by, how many, and why.
    public struct Item: Sendable, Equatable {
        public var kind: String
        public var date: String
        public var count: Int
        public var reason: String
    }

    /// Upload dates whose roster rows go.
    public var uploadDates: [String] = []
    /// Deferment records that go.
    public var recordIDs: [Int64] = []
    /// Ledger files whose raw copy goes, with the copy's path under the root.
    public var archived: [(id: Int64, path: String)] = []
    /// Registry extracts past their retention: their people go unless a row or record remains.
    public var registryFiles: [Int64] = []
    /// Other files that go (refused files, mail, duplicates, copies an interrupted purge left).
    public var files: [URL] = []
    /// The lines to show.
    public var items: [Item] = []

    public var isEmpty: Bool { uploadDates.isEmpty && recordIDs.isEmpty && archived.isEmpty && registryFiles.isEmpty && files.isEmpty }
}

extension Desk {
    /// The retention settings of this root (`seeds/settings.csv`).
    public var retention: RetentionPolicy { RetentionPolicy(settings: reference.settings) }

    /// Marks a purge whose database part is done but whose files, vacuum or site are not: the
    /// next purge finishes them even when nothing else is due.
    var unfinishedPurge: URL { paths.state.appendingPathComponent("purge.unfinished") }

    /// What a purge on `today` removes.
    public func purgePlan(today: CivilDate) throws -> PurgePlan {
        let policy = retention
        var plan = PurgePlan()
        func day(_ text: String) -> CivilDate? { CivilDate.parse(String(text.prefix(10))) }
        try store.queue.read { db in
            for entry in try DeskStore.uploadDateInventory(db) {
                guard let date = day(entry.date), policy.rosterRowsDue(uploadDate: date, today: today) else { continue }
                let stored = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM roster_row WHERE upload_date = ?",
                    arguments: [entry.date]) ?? 0
                guard stored > 0 else { continue }
                plan.uploadDates.append(entry.date)
                plan.items.append(.init(kind: "名冊資料列", date: entry.date, count: stored,
                                        reason: "上傳日期後逾 \(policy.rosterYears) 年（retain_roster_years）"))
            }
            var recordsByMonth: [String: Int] = [:]
            for record in try DeskStore.endedRecords(db) where policy.recordDue(end: day(record.end), today: today) {
                plan.recordIDs.append(record.id)
                recordsByMonth[String(record.end.prefix(7)), default: 0] += 1
            }
            for (month, n) in recordsByMonth.sorted(by: { $0.key < $1.key }) {
                plan.items.append(.init(kind: "緩徵紀錄", date: month, count: n, reason: "緩徵終止後逾 \(policy.recordYears) 年（retain_record_years）"))
            }
            let purged = Set(plan.uploadDates).union(try DeskStore.purgedMonths(db).keys)
            var filesByKindMonth: [String: Int] = [:]
            var reasons: [String: String] = [:]
            let ledger = try DeskStore.ledgerFiles(db)
            for file in ledger {
                guard let arrived = day(file.receivedAt) else { continue }
                let days = file.kind == InputKind.decisions.rawValue ? policy.returnedWorkbookDays : policy.rawInputDays
                let kindName = file.kind == InputKind.decisions.rawValue ? "審核名冊回傳檔" : "原始檔案（\(file.kind)）"
                let aged = RetentionPolicy.isPast(arrived, days: days, today: today)
                let rowsGone = file.kind == InputKind.rosters.rawValue && file.uploadDate.map(purged.contains) == true
                if file.kind == InputKind.registry.rawValue && aged { plan.registryFiles.append(file.id) }
                guard !file.archivedPath.isEmpty, aged || rowsGone else { continue }
                plan.archived.append((file.id, file.archivedPath))
                let key = kindName + "|" + String(file.receivedAt.prefix(7))
                filesByKindMonth[key, default: 0] += 1
                reasons[key] = rowsGone && !aged ? "其名冊資料列已刪除" : "收件後逾 \(days) 天"
            }
            for (key, n) in filesByKindMonth.sorted(by: { $0.key < $1.key }) {
                let parts = key.split(separator: "|").map(String.init)
                plan.items.append(.init(kind: parts[0], date: parts[1], count: n, reason: reasons[key] ?? ""))
            }
            let people = try DeskStore.peopleNoLongerNeeded(db, fileIDs: plan.registryFiles, ignoringUploadDates: plan.uploadDates)
            if people == 0 { plan.registryFiles = [] }
            if people > 0 {
                plan.items.append(.init(kind: "役政資料（人員）", date: "", count: people,
                                        reason: "所屬役政資料檔逾 \(policy.rawInputDays) 天，且已無名冊資料列或緩徵紀錄引用"))
            }
            let referenced = Set(ledger.map(\.archivedPath).filter { !$0.isEmpty })
                .subtracting(plan.archived.map(\.path))
            plan.files += orphanedArchiveCopies(referenced: referenced)
        }
        if !plan.files.isEmpty {
            plan.items.append(.init(kind: "原始檔案（中斷的刪除留下）", date: "", count: plan.files.count, reason: "資料庫已不再引用"))
        }
        for (folder, days, kind, setting) in [(paths.rejected, policy.rejectedDays, "退件檔案", "retain_rejected_days"),
                                              (mailSpool.appendingPathComponent("sent"), policy.mailDays, "已寄出郵件", "retain_mail_days"),
                                              (mailSpool.appendingPathComponent("failed"), policy.mailDays, "無法寄出郵件", "retain_mail_days"),
                                              (paths.archive.appendingPathComponent("duplicates"), policy.rawInputDays, "重複收件檔案",
                                                  "retain_raw_input_days")] {
            let old = Self.files(in: folder, olderThan: days, today: today)
            plan.files += old
            if !old.isEmpty { plan.items.append(.init(kind: kind, date: "", count: old.count, reason: "逾 \(days) 天（\(setting)）")) }
        }
        return plan
    }

    /// Applies a plan: the database in one transaction, then the files, then `VACUUM` (so the
    /// freed pages, which still hold the data, are gone from the file), the export and the site.
    /// Killed at any moment and run again, it ends where an uninterrupted run would.
    public func applyPurge(_ plan: PurgePlan) throws {
        let resuming = FileManager.default.fileExists(atPath: unfinishedPurge.path)
        guard !plan.isEmpty || resuming else { return }
        try Data().write(to: unfinishedPurge)
        try store.queue.inTransaction { db in
            for date in plan.uploadDates { try DeskStore.purgeUploadDate(db, date) }
            try DeskStore.deleteRecords(db, ids: plan.recordIDs)
            for file in plan.archived { try DeskStore.forgetArchivedCopy(db, fileID: file.id) }
            try DeskStore.deletePeopleNoLongerNeeded(db, fileIDs: plan.registryFiles)
            return .commit
        }
        for file in plan.archived { unlink(paths.root.appendingPathComponent(file.path).path) }
        for file in plan.files { unlink(file.path) }
        try store.queue.vacuum()
        let export = paths.exports.appendingPathComponent("deferment-records.csv")
        if FileManager.default.fileExists(atPath: export.path) { _ = try exportDefermentRecords() }
        try publishSite(force: true)
        try FileManager.default.removeItem(at: unfinishedPurge)
        for item in plan.items {
            logger.info("依保存期限刪除：\(item.kind) \(item.date.isEmpty ? "" : item.date + " ")\(item.count) 筆（\(item.reason)）")
        }
    }

    /// `watch`'s daily purge (`purge_daily` 是): at most once a calendar day; a failure is logged
    /// and tried again the next day.
    func purgeDaily(lastDay: inout CivilDate?) {
        guard ["是", "yes", "1", "true"].contains((reference.settings["purge_daily"] ?? "").lowercased()) else { return }
        let today = Desk.day(of: Date())
        guard lastDay != today else { return }
        lastDay = today
        do { try applyPurge(try purgePlan(today: today)) } catch { logger.error("依保存期限刪除失敗：\(error)") }
    }

    /// Copies in the archive that no ledger entry names (what a purge stopped after its
    /// transaction left), duplicates aside.
    func orphanedArchiveCopies(referenced: Set<String>) -> [URL] {
        var found: [URL] = []
        let base = paths.root.standardizedFileURL.path + "/"
        guard let walker = FileManager.default.enumerator(atPath: paths.archive.path) else { return [] }
        while let relative = walker.nextObject() as? String {
            guard !relative.hasPrefix("duplicates"), walker.fileAttributes?[.type] as? FileAttributeType == .typeRegular else { continue }
            let url = paths.archive.appendingPathComponent(relative)
            let underRoot = String(url.standardizedFileURL.path.dropFirst(base.count))
            if !referenced.contains(underRoot) { found.append(url) }
        }
        return found
    }

    /// Regular files under a folder with the day each last changed (in the desk's time zone).
    static func datedFiles(in folder: URL) -> [(url: URL, day: CivilDate)] {
        let keys: [URLResourceKey] = [.contentModificationDateKey, .isRegularFileKey]
        guard let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: keys) else { return [] }
        var found: [(URL, CivilDate)] = []
        for case let url as URL in walker {
            guard let values = try? url.resourceValues(forKeys: Set(keys)), values.isRegularFile == true,
                  let changed = values.contentModificationDate else { continue }
            found.append((url, Desk.day(of: changed)))
        }
        return found.sorted { $0.0.path < $1.0.path }
    }

    /// Regular files under a folder last changed more than `days` before `today`.
    static func files(in folder: URL, olderThan days: Int, today: CivilDate) -> [URL] {
        datedFiles(in: folder).filter { RetentionPolicy.isPast($0.day, days: days, today: today) }.map(\.url)
    }
}
