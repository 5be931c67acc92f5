import Foundation
import GRDB
import Testing
@testable import DefermentDesk
@testable import DefermentStore
import DefermentCore

/// Six years of monthly history (small rosters, each month's own students and registry
/// extract, arriving on the month's upload date), purged with the default five-year retention.
final class HistoryFixture {
    let root: URL
    /// Upload dates, oldest first: the 15th of each month from 2020-12 to 2026-11.
    let dates: [String]
    /// Each month's students: ID and name.
    var people: [String: [(id: String, name: String)]] = [:]
    static let today = CivilDate(year: 2026, month: 12, day: 4)!
    /// Characters that make every month's names distinct (no name inside another).
    static let monthMarks = Array("鶯鷺鸝鵑鴿鵲鶴鷗鵬鷹雁鳶鸞鳳凰麒麟貔貅獬豸狻猊饕餮檮杌窮奇渾沌夔魍魎魑魅蜃蛟螭虯蟠蝣蜉蝤蠐螓蛾蟋蟀螽蛩蜩螗蟬蝥蠆蠍蜴蜥蝘蜓蝾螈蟾蜍鼉黿鼇鯤鯨鯢鱷鱘鱣鰉".map(String.init))
    static let kidMarks = ["甯", "酆", "鄢", "隗"]

    init(_ name: String = #function) throws {
        root = try temporaryRoot(name)
        var dates: [String] = []
        var year = 2020, month = 12
        while dates.count < 72 {
            dates.append(String(format: "%04d-%02d-15", year, month))
            month += 1
            if month > 12 { month = 1; year += 1 }
        }
        self.dates = dates
        for (m, date) in dates.enumerated() {
            let y = Int(date.prefix(4))!, roc = { (year: Int, rest: String) in String(format: "%03d", year - 1911) + rest }
            var roster = Fixture.rosterHeader, registry = Fixture.registryHeader
            for k in 0..<4 {
                let id = Fixture.id(1000 * (m + 1) + k, letter: "R")
                let name = "歷" + Self.monthMarks[m] + Self.kidMarks[k]
                people[date, default: []].append((id, name))
                let birth = roc(y - 17, "0301")
                let start = roc(y, date.dropFirst(5).replacingOccurrences(of: "-", with: ""))
                roster += "\(id),\(birth),\(name),\(k % 2 == 0 ? "110000" : "110037"),範例高中,普通科,2,\(start),\(roc(y + 1, "0630")),在學,否\n"
                registry += "\(id),\(birth),\(name),\(k % 2 == 0 ? "63000" : "64000"),高中肄業,未經徵兵處理,,\n"
            }
            let compact = date.replacingOccurrences(of: "-", with: "")
            try drop(Data(registry.utf8), as: "registry-\(compact).csv", into: .registry, root: root)
            try drop(Data(roster.utf8), as: "roster-\(compact).csv", into: .rosters, root: root)
        }
        let desk = try openDesk(root)
        desk.settleSeconds = 0
        for _ in 0..<3 { _ = try desk.runOnce() }
        // Each file arrived on its month's date.
        try desk.store.queue.write { db in
            try db.execute(sql: "UPDATE input_file SET received_at = upload_date || ' 01:00:00' WHERE upload_date IS NOT NULL")
            for file in try Row.fetchAll(db, sql: "SELECT id, original_name FROM input_file WHERE kind = 'registry'") {
                let name: String = file[1]
                guard let digits = name.split(separator: "-").last?.prefix(8), digits.count == 8 else { continue }
                let day = "\(digits.prefix(4))-\(digits.dropFirst(4).prefix(2))-\(digits.suffix(2))"
                try db.execute(sql: "UPDATE input_file SET received_at = ? WHERE id = ?", arguments: [day + " 01:00:00", file[0] as Int64])
            }
        }
        try desk.publishSite()
    }

    /// The months a five-year retention purges on ``today``: upload dates up to 2021-12-03.
    var purgedDates: [String] { dates.filter { $0 < "2021-12-04" } }
    var keptDates: [String] { dates.filter { $0 >= "2021-12-04" } }
}

@Suite(.serialized)
struct RetentionTests {
    func everyFile(under folder: URL) -> [URL] {
        var files: [URL] = []
        let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: [.isRegularFileKey])
        while let url = walker?.nextObject() as? URL {
            if (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true { files.append(url) }
        }
        return files
    }

    /// Report lines (as `deferment report` writes them) of every school, by upload date.
    func reportLines(_ desk: Desk) throws -> [String: [[String]]] {
        try desk.store.queue.read { db in
            var lines: [String: [[String]]] = [:]
            for school in ["110000", "110037"] {
                for row in try DeskStore.schoolRows(db, school: school) { lines[row.uploadDate, default: []].append(row.reportValues) }
            }
            return lines
        }
    }

    @Test func purgeRemovesThePurgedMonthsEverywhereAndKeepsTheRestAndTheCounts() throws {
        let f = try HistoryFixture()
        let desk = try openDesk(f.root)
        let before = try reportLines(desk)
        let countsBefore = try desk.store.queue.read { try DeskStore.rosterCounts($0).map(\.count).reduce(0, +) }
        let overviewTotals = { () throws -> String in
            let html = try String(contentsOf: desk.paths.site.appendingPathComponent("overview.html"), encoding: .utf8)
            return String(html[html.range(of: "<tfoot>")!.lowerBound...].prefix(200))
        }
        let totalsBefore = try overviewTotals()

        // The dry run lists each purged month and changes nothing.
        let plan = try desk.purgePlan(today: HistoryFixture.today)
        #expect(plan.uploadDates == f.purgedDates)
        #expect(plan.items.filter { $0.kind == "名冊資料列" }.map(\.date) == f.purgedDates)
        #expect(try reportLines(desk) == before)

        // The scan below finds them before the purge (in the database and the raw archive).
        let first = try #require(f.people[f.purgedDates[0]]?.first)
        #expect(try Data(contentsOf: desk.paths.database).range(of: Data(first.id.utf8)) != nil)
        #expect(everyFile(under: desk.paths.archive).contains { (try? Data(contentsOf: $0))?.range(of: Data(first.name.utf8)) != nil })

        try desk.applyPurge(plan)
        // No ID or name of a purged month in any file under the root: the database (vacuumed),
        // the archive, the site, the mail spool, the exports.
        let files = everyFile(under: f.root)
        #expect(files.contains { $0.lastPathComponent == "deferment.sqlite" })
        var hits: [String] = []
        for file in files {
            let data = try Data(contentsOf: file)
            for date in f.purgedDates {
                for person in f.people[date]! where data.range(of: Data(person.id.utf8)) != nil || data.range(of: Data(person.name.utf8)) != nil {
                    hits.append("\(file.path): \(date)")
                }
            }
        }
        #expect(hits.isEmpty, "\(hits.prefix(5))")
        // The kept months are unchanged, the counts and the overview's totals too.
        let after = try reportLines(desk)
        #expect(Set(after.keys) == Set(f.keptDates))
        for date in f.keptDates { #expect(after[date] == before[date], "\(date)") }
        #expect(try desk.store.queue.read { try DeskStore.rosterCounts($0).map(\.count).reduce(0, +) } == countsBefore)
        #expect(try overviewTotals() == totalsBefore)
        // Pages say a purged month's numbers are kept without personal data.
        let overview = try String(contentsOf: desk.paths.site.appendingPathComponent("overview.html"), encoding: .utf8)
        #expect(overview.contains("12 個上傳日期（109/12/15 至 110/11/15）已依保存期限刪除個人資料"))
        let county = try String(contentsOf: desk.paths.site.appendingPathComponent("counties/63000/index.html"), encoding: .utf8)
        #expect(county.contains("已依保存期限刪除個人資料"))
        let school = try String(contentsOf: desk.paths.site.appendingPathComponent("schools/110000/index.html"), encoding: .utf8)
            .replacing(#/ data-label="[^"]*"/#, with: "")
        #expect(school.contains("已依保存期限刪除個人資料") && school.contains("<tr id=\"roster-20201215\" class=\"purged\"><td>109/12/15</td><td>2</td>"))
        #expect(!FileManager.default.fileExists(atPath: desk.paths.site.appendingPathComponent("schools/110000/roster-20201215.html.enc").path))
        #expect(!FileManager.default.fileExists(atPath: desk.paths.site.appendingPathComponent("counties/63000/decisions/20201215.xlsx.enc").path))
        #expect(FileManager.default.fileExists(atPath: desk.paths.site.appendingPathComponent("counties/63000/decisions/20261115.xlsx.enc").path))
        // A second purge has nothing to do; the inventory names the purged months.
        #expect(try desk.purgePlan(today: HistoryFixture.today).isEmpty)
        let inventory = try desk.inventory().text
        #expect(inventory.contains("名冊（已刪除個人資料，僅存統計）  2020-12  4"))
        #expect(inventory.contains("名冊資料列  2026-11  4  2026-11-15"))
    }

    /// A purge killed at a random moment and run again ends where an uninterrupted one does.
    @Test(arguments: [0.15, 0.6, 1.2])
    func aKilledPurgeRunAgainEndsInTheSameState(after delay: Double) throws {
        let f = try HistoryFixture("killed\(delay)")
        let copy = try temporaryRoot().appendingPathComponent("whole")
        try FileManager.default.copyItem(at: f.root, to: copy)
        let common = ["--seeds", seedsFolder.path, "--templates", templatesFolder.path, "--today", "2026-12-04", "--apply"]
        #expect(try runCLI(["purge", "--root", copy.path] + common).status == 0)

        let killed = Process()
        killed.executableURL = deferment
        killed.arguments = ["purge", "--root", f.root.path] + common
        killed.standardOutput = FileHandle.nullDevice
        killed.standardError = FileHandle.nullDevice
        try killed.run()
        Thread.sleep(forTimeInterval: delay)
        kill(killed.processIdentifier, SIGKILL)
        killed.waitUntilExit()
        let again = try runCLI(["purge", "--root", f.root.path] + common)
        #expect(again.status == 0, "\(again.err)")
        #expect(try state(f.root) == state(copy))
    }

    /// `watch` purges once a day when `purge_daily` says so, and logs what it removed.
    @Test func watchPurgesDailyWhenSet() throws {
        let f = try HistoryFixture()
        let seeds = f.root.appendingPathComponent("own-seeds")
        try FileManager.default.copyItem(at: seedsFolder, to: seeds)
        let settings = seeds.appendingPathComponent("settings.csv")
        try (try String(contentsOf: settings, encoding: .utf8)).replacingOccurrences(of: "\npurge_daily,否,", with: "\npurge_daily,是,")
            .write(to: settings, atomically: true, encoding: .utf8)
        let today = Desk.day(of: Date())
        let due = f.dates.filter { RetentionPolicy().rosterRowsDue(uploadDate: CivilDate.parse($0)!, today: today) }
        let p = Process()
        p.executableURL = deferment
        p.arguments = ["watch", "--root", f.root.path, "--seeds", seeds.path, "--templates", templatesFolder.path]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        for _ in 0..<300 where try count(f.root, "SELECT COUNT(*) FROM purged_month") < due.count { Thread.sleep(forTimeInterval: 0.1) }
        p.terminate()
        let log = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(try count(f.root, "SELECT COUNT(*) FROM purged_month") == due.count)
        #expect(try count(f.root, "SELECT COUNT(*) FROM roster_row") == (f.dates.count - due.count) * 4)
        #expect(log.contains("依保存期限刪除：名冊資料列 \(due.first ?? "") 4 筆"), "\(log)")
    }

    /// The database's tables and the root's file names (the site's sealed files by name only:
    /// each seal has a nonce of its own).
    func state(_ root: URL) throws -> [String] {
        var config = Configuration()
        config.readonly = true
        let q = try DatabaseQueue(path: DeskPaths(root: root).database.path, configuration: config)
        var lines: [String] = try q.read { db in
            var out: [String] = []
            for table in ["roster_row", "roster_counts", "purged_month", "person", "deferment_record", "decision_history"] {
                for row in try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY 1, 2") { out.append(table + ": " + row.description) }
            }
            for row in try Row.fetchAll(db, sql: "SELECT id, kind, archived_path <> '' FROM input_file ORDER BY id") { out.append("file: " + row.description) }
            return out
        }
        let base = root.standardizedFileURL.path.count + 1
        lines += everyFile(under: root).map { String($0.standardizedFileURL.path.dropFirst(base)) }
            .filter { !$0.hasPrefix("state/deferment.") && !$0.contains("/.") }.sorted()
        return lines
    }
}
