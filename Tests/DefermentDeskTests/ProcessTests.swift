import Foundation
import GRDB
import Testing
@testable import DefermentDesk
import DefermentCore
#if canImport(Glibc)
import Glibc
#endif

/// The command line as operators use it: real processes, real signals, a real SQLite file.
@Suite(.serialized)
struct ProcessTests {
    let seeds = seedsFolder.path

    @Test func killedMidFileLeavesItQueuedAndTheNextRunAppliesItOnce() throws {
        let root = try temporaryRoot()
        let bulk = root.appendingPathComponent("bulk")
        let gen = try runCLI(["samples", "--seeds", seeds, "--rows", "40000", "--schools", "20", "--out", bulk.path])
        #expect(gen.status == 0, "\(gen.err)")
        let paths = DeskPaths(root: root)
        try paths.createFolders()
        try FileManager.default.copyItem(at: bulk.appendingPathComponent("registry.csv"), to: paths.inbox(.registry).appendingPathComponent("registry.csv"))
        #expect(try runCLI(["run", "--root", root.path, "--seeds", seeds, "--templates", templatesFolder.path, "--settle", "0"]).status == 0)
        let registryRows = try count(root, "SELECT COUNT(*) FROM person")

        try FileManager.default.copyItem(at: bulk.appendingPathComponent("roster-20261115.csv"), to: paths.inbox(.rosters).appendingPathComponent("roster-20261115.csv"))
        let p = Process()
        p.executableURL = deferment
        p.arguments = ["run", "--root", root.path, "--seeds", seeds, "--templates", templatesFolder.path, "--settle", "0"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        // Wait until the file has been claimed and its transaction has begun (the rollback
        // journal has the database's first pages), then a little into the rows. Waiting a fixed
        // time instead had the run's storing done before the kill once intake got faster.
        let active = paths.active(.rosters)
        let journal = root.appendingPathComponent("state/deferment.sqlite-journal").path
        func journalSize() -> Int { ((try? FileManager.default.attributesOfItem(atPath: journal))?[.size] as? Int) ?? 0 }
        let deadline = Date().addingTimeInterval(20)
        while ((try FileManager.default.contentsOfDirectory(atPath: active.path)).isEmpty || journalSize() == 0) && Date() < deadline {
            usleep(5_000)
        }
        usleep(200_000)
        #expect(p.isRunning, "the run finished before it could be killed; raise the row count")
        #expect(journalSize() > 0, "the roster's transaction ended before the kill; raise the row count")
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(p.terminationReason == .uncaughtSignal)

        // Nothing of the file is in the database, and the file is still queued.
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row") == 0)
        #expect(try count(root, "SELECT COUNT(*) FROM input_file WHERE kind = 'rosters'") == 0)
        #expect(try count(root, "SELECT COUNT(*) FROM person") == registryRows)
        #expect(try FileManager.default.contentsOfDirectory(atPath: active.path).count == 1)

        // The next run applies it, exactly once.
        let next = try runCLI(["run", "--root", root.path, "--seeds", seeds, "--templates", templatesFolder.path, "--settle", "0"])
        #expect(next.status == 0, "\(next.out)\(next.err)")
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row") == 40000)
        #expect(try count(root, "SELECT COUNT(*) FROM input_file WHERE kind = 'rosters' AND row_count = 40000") == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: active.path).isEmpty)
        let again = try runCLI(["run", "--root", root.path, "--seeds", seeds, "--templates", templatesFolder.path, "--settle", "0"])
        #expect(again.out.contains("沒有待處理的檔案"))
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row") == 40000)
    }

    @Test func watchPicksUpADropWithinASecondAndStopsOnSIGTERM() throws {
        let root = try temporaryRoot()
        try DeskPaths(root: root).createFolders()
        let p = Process()
        p.executableURL = deferment
        p.arguments = ["watch", "--root", root.path, "--seeds", seeds, "--templates", templatesFolder.path]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        // Started once the lock names its PID and the seeds are loaded.
        let lock = DeskPaths(root: root).lockFile
        var deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            if let pid = try? String(contentsOf: lock, encoding: .utf8), pid.contains("\(p.processIdentifier)"),
               (try? count(root, "SELECT COUNT(*) FROM county")) == 22 { break }
            usleep(50_000)
        }
        usleep(300_000)
        let id = Fixture.id(90)
        try drop(Fixture.registryHeader + "\(id),0951023,王小明,63000,高中肄業,未經徵兵處理,,\n", as: "reg.csv", into: .registry, root: root)
        try drop(Fixture.rosterHeader + "\(id),0951023,王小明,110000,範例高中,普通科,3,1151015,1160630,在學,否\n", as: "roster-20261015.csv", into: .rosters, root: root)
        let dropped = Date()
        deadline = dropped.addingTimeInterval(10)
        var seen: Date?
        while Date() < deadline {
            if (try? count(root, "SELECT COUNT(*) FROM roster_row WHERE county_code = '63000'")) == 1 { seen = Date(); break }
            usleep(20_000)
        }
        let delay = try #require(seen).timeIntervalSince(dropped)
        #expect(delay < 1.5, "processed \(delay) s after the drop")
        kill(p.processIdentifier, SIGTERM)
        deadline = Date().addingTimeInterval(5)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        #expect(!p.isRunning)
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let log = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(log.contains("已結束監看"))
        // No personal data at info level.
        #expect(!log.contains(id) && !log.contains("王小明"))
    }

    @Test func checkPrintsEachRowAndChangesNothing() throws {
        let root = try temporaryRoot()
        try DeskPaths(root: root).createFolders()
        let roster = seedsFolder.appendingPathComponent("rosters/roster-20261015.csv")
        let result = try runCLI(["check", "--root", root.path, "--seeds", seeds, roster.path])
        #expect(result.status == 0, "\(result.err)")
        let lines = result.out.split(separator: "\n").filter { $0.hasPrefix("第 ") }
        #expect(lines.count == 371)
        #expect(result.out.contains("身分證字號與出生日期不符"))
        #expect(result.out.contains("查無役政資料"))
        // IDs are masked, and the root still has no database.
        #expect(result.out.range(of: #"[A-Z][12]\d{8}"#, options: .regularExpression) == nil)
        #expect(!FileManager.default.fileExists(atPath: DeskPaths(root: root).database.path))
        #expect(try FileManager.default.contentsOfDirectory(atPath: DeskPaths(root: root).inbox(.rosters).path).isEmpty)
    }

    @Test func runExitsNonZeroWhenAFileIsRejected() throws {
        let root = try temporaryRoot()
        try drop(Data("%PDF-1.4".utf8), as: "scan.pdf", into: .rosters, root: root)
        let result = try runCLI(["run", "--root", root.path, "--seeds", seeds, "--templates", templatesFolder.path, "--settle", "0"])
        #expect(result.status == 1)
        #expect(result.out.contains("退件"))
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("outbox/rejected/scan.pdf.退件說明.txt").path))
    }

    @Test func reportForSchoolAndCountyAndHelpDocumentsExitCodes() throws {
        let root = try temporaryRoot()
        try drop(try Data(contentsOf: seedsFolder.appendingPathComponent("rosters/roster-20261015.csv")), as: "roster-20261015.csv", into: .rosters, root: root)
        #expect(try runCLI(["run", "--root", root.path, "--seeds", seeds, "--templates", templatesFolder.path, "--settle", "0"]).status == 0)
        let school = try runCLI(["report", "--root", root.path, "--seeds", seeds, "--school", "110037", "--format", "csv"])
        #expect(school.status == 0)
        let schoolRows = school.out.split(separator: "\r\n")
        // The same form as the site's report.csv: a BOM for Excel, formulas neutralised.
        #expect(school.out.utf8.starts(with: [0xEF, 0xBB, 0xBF]))
        #expect(schoolRows.first == "\u{FEFF}上傳日期,名冊類別,身分證字號,姓名,出生年月日,學校代碼,群科,年級,學籍狀態,緩徵起始日期,緩徵終止日期,分派縣市,審核狀態,審核意見,系統檢核")
        #expect(schoolRows.count - 1 == (try count(root, "SELECT COUNT(*) FROM roster_row WHERE school_code = '110037'")))
        let county = try runCLI(["report", "--root", root.path, "--seeds", seeds, "--county", "台北市"])
        #expect(county.status == 0)
        let countyRows = county.out.split(separator: "\r\n").dropFirst()
        #expect(countyRows.count == (try count(root, "SELECT COUNT(*) FROM roster_row WHERE county_code = '63000'")))
        #expect(countyRows.allSatisfy { $0.contains(",臺北市,") })
        let help = try runCLI(["run", "--help"])
        #expect(help.out.contains("結束代碼") && help.out.contains("3  another deferment process"))
        let bad = try runCLI(["report", "--root", root.path])
        #expect(bad.status == 64)
    }
}
