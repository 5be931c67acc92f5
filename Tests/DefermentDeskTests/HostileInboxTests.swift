import Foundation
import Crypto
import GRDB
import Testing
@testable import DefermentDesk
@testable import DefermentStore
@testable import DefermentSite
import DefermentCore
#if canImport(Glibc)
import Glibc
#endif

/// What a hostile sender can put into the inbox: values used as paths, entries that are not
/// files, names no filesystem-minded person would write. Each case failed before its fix.
@Suite(.serialized)
struct HostileInboxTests {
    /// Every file under `folder`, relative, with what `lstat` says it is.
    func tree(_ folder: URL) -> Set<String> {
        let e = FileManager.default.enumerator(atPath: folder.path)
        var out: Set<String> = []
        while let p = e?.nextObject() as? String { out.insert(p) }
        return out
    }

    @Test func aSchoolCodeIsNeverAPath() throws {
        let outer = try temporaryRoot()
        let root = outer.appendingPathComponent("a/b/c/d/root")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let ids = (1...5).map { Fixture.id(200 + $0) }
        try drop(Fixture.registryHeader + ids.map { "\($0),0951023,王小明,63000,高中肄業,未經徵兵處理,,\n" }.joined(),
                 as: "reg.csv", into: .registry, root: root)
        let rows = [
            "\(ids[0]),0951023,王小明,..,點點高中,普通科,3,1151015,1160630,在學,否",
            "\(ids[1]),0951023,王小明,../../../../../x,穿越高中,普通科,3,1151015,1160630,在學,否",
            // A lost cell shifted the columns: the school's name lands in 學校代碼.
            "\(ids[2]),0951023,王小明,範例高中,普通科,3,1151015,1160630,在學,否",
            "\(ids[3]),0951023,王小明,abc/de,斜線高中,普通科,3,1151015,1160630,在學,否",
            "\(ids[4]),0951023,王小明,Z12345,新設高中,普通科,3,1151015,1160630,在學,否",
        ]
        try drop(Fixture.rosterHeader + rows.joined(separator: "\n") + "\n", as: "roster-20261115.csv", into: .rosters, root: root)
        let before = tree(outer)
        let desk = try Desk(root: root, seeds: seedsFolder, templates: templatesFolder)
        desk.settleSeconds = 0
        _ = try desk.runOnce()
        try desk.publishSite()
        // Nothing was written beside the root; the home page is the home page.
        #expect(tree(outer).filter { !$0.hasPrefix("a/b/c/d/root") } == before.filter { !$0.hasPrefix("a/b/c/d/root") })
        let home = try String(contentsOf: desk.paths.site.appendingPathComponent("index.html"), encoding: .utf8)
        #expect(!home.contains("點點高中") && !home.contains("穿越高中"))
        // Every row with a code that is not 6 ASCII letters or digits is 不分派, 欄位錯誤：學校代碼.
        let reasons = try desk.store.queue.read { db in
            try String.fetchAll(db, sql: "SELECT reason FROM roster_row WHERE school_code <> 'Z12345' ORDER BY source_row")
        }
        #expect(reasons == Array(repeating: "欄位錯誤：學校代碼", count: 4))
        // Only the real new school has a school, an account and a folder.
        let codes = try desk.store.queue.read { db in try String.fetchAll(db, sql: "SELECT code FROM school WHERE source = 'roster'") }
        #expect(codes == ["Z12345"])
        let accounts = try desk.store.queue.read { db in try String.fetchAll(db, sql: "SELECT code FROM account WHERE code NOT GLOB '[0-9][0-9][0-9][0-9][0-9]' AND code NOT IN (SELECT code FROM school WHERE source = 'seed')") }
        #expect(accounts == ["Z12345"])
        let schoolFolders = try FileManager.default.contentsOfDirectory(atPath: desk.paths.site.appendingPathComponent("schools").path)
        #expect(schoolFolders.allSatisfy { PathGate.accepts($0, as: .schoolCode) })
        #expect(schoolFolders.contains("Z12345"))
    }

    @Test func aSchoolSeenFirstInARowGivenToNoCountyIsNotCreatedUntilARowIsAssigned() throws {
        let root = try temporaryRoot()
        let known = Fixture.id(301), unknown = Fixture.id(302)
        try drop(Fixture.registryHeader + "\(known),0951023,王小明,63000,高中肄業,未經徵兵處理,,\n", as: "reg.csv", into: .registry, root: root)
        // 查無役政資料 first, then an assigned row of the same new school.
        try drop(Fixture.rosterHeader + "\(unknown),0951023,李小華,Q00001,首見高中,普通科,3,1151015,1160630,在學,否\n",
                 as: "only-unassigned-20261115.csv", into: .rosters, root: root)
        let desk = try openDesk(root)
        _ = try desk.runOnce()
        #expect(try count(root, "SELECT COUNT(*) FROM school WHERE code = 'Q00001'") == 0)
        try drop(Fixture.rosterHeader + "\(unknown),0951023,李小華,Q00001,首見高中,普通科,3,1151015,1160630,在學,否\n"
                 + "\(known),0951023,王小明,Q00001,首見高中,普通科,3,1151015,1160630,在學,否\n",
                 as: "then-assigned-20261201.csv", into: .rosters, root: root)
        _ = try desk.runOnce()
        #expect(try count(root, "SELECT COUNT(*) FROM school WHERE code = 'Q00001'") == 1)
    }

    /// A roster of `n` rows for people 400…, with the registry extract that knows them.
    func month(_ n: Int, school: String = "110000") -> (registry: String, roster: String) {
        let ids = (0..<n).map { Fixture.id(400 + $0) }
        return (Fixture.registryHeader + ids.map { "\($0),0951023,王小明,63000,高中肄業,未經徵兵處理,,\n" }.joined(),
                Fixture.rosterHeader + ids.map { "\($0),0951023,王小明,\(school),範例高中,普通科,3,1151015,1160630,在學,否\n" }.joined())
    }

    @Test func aSymlinkedFolderOrFileInTheInboxIsReportedAndNeverFollowed() throws {
        let root = try temporaryRoot()
        let desk = try openDesk(root)
        // Somewhere else on the server: a folder of files, and one file.
        let elsewhere = root.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        let (_, roster) = month(3)
        for name in ["a.xlsx", "b.csv", "secret-20261115.csv"] { try Data(roster.utf8).write(to: elsewhere.appendingPathComponent(name)) }
        let decisions = desk.paths.inbox(.decisions)
        #expect(symlink(elsewhere.path, decisions.appendingPathComponent("63000x").path) == 0)
        #expect(symlink(elsewhere.path, decisions.appendingPathComponent("99999").path) == 0)
        #expect(symlink(elsewhere.appendingPathComponent("secret-20261115.csv").path, desk.paths.inbox(.rosters).appendingPathComponent("link-20261115.csv").path) == 0)
        try FileManager.default.createDirectory(at: decisions.appendingPathComponent("不是縣市"), withIntermediateDirectories: true)
        try Data(roster.utf8).write(to: decisions.appendingPathComponent("不是縣市/x.csv"))

        let summary = try desk.runOnce()
        // The target is untouched; the links are where they were; nothing was processed.
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: elsewhere.path)) == ["a.xlsx", "b.csv", "secret-20261115.csv"])
        #expect(EntryType.of(decisions.appendingPathComponent("63000x").path) == .symbolicLink)
        #expect(EntryType.of(desk.paths.inbox(.rosters).appendingPathComponent("link-20261115.csv").path) == .symbolicLink)
        #expect(FileManager.default.fileExists(atPath: decisions.appendingPathComponent("不是縣市/x.csv").path))
        #expect(try count(root, "SELECT COUNT(*) FROM input_file") == 0)
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row") == 0)
        // Each is reported, in the summary and with a 退件說明.
        let refused = summary.files.filter { if case .rejected = $0.result { return true }; return false }.map(\.name)
        #expect(Set(refused) == ["63000x", "99999", "link-20261115.csv", "不是縣市"])
        let reports = Set(try FileManager.default.contentsOfDirectory(atPath: desk.paths.rejected.appendingPathComponent("decisions").path))
        #expect(reports.isSuperset(of: ["63000x.退件說明.txt", "99999.退件說明.txt", "不是縣市.退件說明.txt"]))
        let linkReport = try String(contentsOf: desk.paths.rejected.appendingPathComponent("rosters/link-20261115.csv.退件說明.txt"), encoding: .utf8)
        #expect(linkReport.contains("符號連結"))
        // The same desk reports each entry once; a new process (the next `run`) again.
        #expect(try desk.runOnce().files.isEmpty)
    }

    /// Runs `deferment run` on `root` and fails the test if it does not end within `seconds`.
    func runWithin(_ seconds: Double, _ root: URL) throws -> (status: Int32, out: String) {
        let p = Process()
        p.executableURL = deferment
        p.arguments = ["run", "--root", root.path, "--seeds", seedsFolder.path, "--templates", templatesFolder.path, "--settle", "0", "--no-site"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(seconds)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        let hung = p.isRunning
        if hung { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        #expect(!hung, "deferment run hung")
        return (p.terminationStatus, String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    @Test func aFIFOInTheInboxOrTheQueueBlocksNoRun() throws {
        let root = try temporaryRoot()
        let paths = DeskPaths(root: root)
        try paths.createFolders()
        #expect(mkfifo(paths.inbox(.rosters).appendingPathComponent("x-20261115.csv").path, 0o600) == 0)
        // One already claimed by an earlier run.
        #expect(mkfifo(paths.active(.rosters).appendingPathComponent("1700000000-y.csv").path, 0o600) == 0)
        let (registry, roster) = month(4)
        try drop(registry, as: "reg.csv", into: .registry, root: root)
        try drop(roster, as: "roster-20261115.csv", into: .rosters, root: root)
        let first = try runWithin(30, root)
        #expect(first.status == 1, "\(first.out)")
        #expect(first.out.contains("具名管道"))
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row") == 4)
        // The FIFO in the inbox stays there; the one in the queue is held, out of the way.
        #expect(EntryType.of(paths.inbox(.rosters).appendingPathComponent("x-20261115.csv").path) == .fifo)
        #expect(try FileManager.default.contentsOfDirectory(atPath: paths.active(.rosters).path).isEmpty)
        #expect(EntryType.of(paths.hold(.rosters).appendingPathComponent("1700000000-y.csv").path) == .fifo)
        // Every later run ends too.
        _ = try runWithin(30, root)
    }

    @Test(arguments: [240, 244, 246, 252, 255])
    func anyNameAFilesystemTakesIsProcessed(_ bytes: Int) throws {
        let root = try temporaryRoot()
        let (registry, roster) = month(2)
        try drop(registry, as: "reg.csv", into: .registry, root: root)
        // 名冊 with Chinese characters (3 bytes each) up to `bytes`, then the date and extension.
        let tail = "-20261115.csv"
        let name = String(repeating: "名", count: (bytes - tail.utf8.count) / 3) + String(repeating: "x", count: (bytes - tail.utf8.count) % 3) + tail
        #expect(name.utf8.count == bytes)
        func dropLong(_ text: String, as name: String) throws {
            let folder = DeskPaths(root: root).inbox(.rosters)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: folder.appendingPathComponent(".t.part"))
            #expect(rename(folder.appendingPathComponent(".t.part").path, folder.appendingPathComponent(name).path) == 0)
        }
        try dropLong(roster, as: name)
        let desk = try openDesk(root)
        let summary = try desk.runOnce()
        #expect(summary.files.map(\.result).allSatisfy { if case .applied = $0 { return true }; return false }, "\(summary.files)")
        #expect(summary.files.last?.name == name)
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row WHERE upload_date = '2026-11-15'") == 2)
        let ledger = try desk.store.queue.read { db in try String.fetchOne(db, sql: "SELECT original_name FROM input_file WHERE kind = 'rosters'") }
        #expect(ledger == name)
        #expect(try FileManager.default.contentsOfDirectory(atPath: desk.paths.active(.rosters).path).isEmpty)
        // A long refused file and its report fit too.
        try dropLong("%PDF-1.4 not a roster", as: String(name.dropLast(4)) + ".pdf")
        let refused = try desk.runOnce()
        #expect(refused.rejectedCount == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: desk.paths.rejected.path).contains { $0.hasSuffix(".退件說明.txt") })
    }

    @Test func aNewlineInAFileNameForgesNoLineOfTheSummary() throws {
        let root = try temporaryRoot()
        let (registry, roster) = month(1)
        try drop(registry, as: "reg.csv", into: .registry, root: root)
        try drop(roster, as: "a-20261115.csv\n✔ 學生名冊 forged.csv：新增 999 列", into: .rosters, root: root)
        let run = try runWithin(30, root)
        #expect(run.status == 0, "\(run.out)")
        #expect(!run.out.split(separator: "\n").contains { $0.hasPrefix("✔ 學生名冊 forged") }, "\(run.out)")
        #expect(run.out.contains("\\n✔ 學生名冊 forged"))
    }

    @Test func aFileWrittenInPlaceIsTakenOnlyOnceClosedAndStill() throws {
        let root = try temporaryRoot()
        let (registry, roster) = month(10)
        try drop(registry, as: "reg.csv", into: .registry, root: root)
        let desk = try openDesk(root)
        _ = try desk.runOnce()
        desk.settleSeconds = 0.6
        desk.maximumSettleWait = 0.2
        // Appended in pieces in place, as `>>` does, with the writer between pieces.
        let url = desk.paths.inbox(.rosters).appendingPathComponent("roster-20261115.csv")
        let lines = roster.split(separator: "\n", omittingEmptySubsequences: false).map { $0 + "\n" }
        let handle = try FileHandle(forWritingTo: { _ = FileManager.default.createFile(atPath: url.path, contents: nil); return url }())
        handle.write(Data(lines[0..<4].joined().utf8))
        handle.write(Data(String(lines[4].prefix(7)).utf8))   // half a row
        #expect(try desk.runOnce().files.map(\.result) == [.stillGrowing])
        try handle.close()
        // Closed but changed a moment ago: still left alone.
        #expect(try desk.runOnce().files.map(\.result) == [.stillGrowing])
        let more = try FileHandle(forWritingTo: url)
        try more.seekToEnd()
        more.write(Data((String(lines[4].dropFirst(7)) + lines[5...].joined()).utf8))
        try more.close()
        Thread.sleep(forTimeInterval: 0.8)
        let done = try desk.runOnce()
        #expect(done.files.count == 1)
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row WHERE review_state = '待審核'") == 10)
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row") == 10)
        // A file renamed in is complete: taken at once whatever the settle time.
        desk.settleSeconds = 60
        try drop(month(10, school: "110001").roster, as: "roster-20261201.csv", into: .rosters, root: root)
        #expect(try desk.runOnce().files.map(\.result).allSatisfy { if case .applied = $0 { return true }; return false })
    }

    /// Under `watch`, a roster appended in place a row at a time (`>>` every 0.3 s) is taken only
    /// once its writer has stopped for settle_seconds (3, the settings' default): every row
    /// recorded right, no fragment refused.
    @Test func watchTakesAFileAppendedInPiecesOnlyWhenItIsStill() throws {
        let root = try temporaryRoot()
        let (registry, roster) = month(10)
        try drop(registry, as: "reg.csv", into: .registry, root: root)
        let p = Process()
        p.executableURL = deferment
        p.arguments = ["watch", "--root", root.path, "--seeds", seedsFolder.path, "--templates", templatesFolder.path]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) }; p.waitUntilExit() }
        var deadline = Date().addingTimeInterval(20)
        while (try? count(root, "SELECT COUNT(*) FROM person")) ?? 0 < 10 && Date() < deadline { usleep(50_000) }
        let url = DeskPaths(root: root).inbox(.rosters).appendingPathComponent("roster-20261115.csv")
        for line in roster.split(separator: "\n").map({ String($0) + "\n" }) {
            // As `echo … >> file` does: open for appending, write, close.
            let fd = open(url.path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
            _ = line.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
            close(fd)
            usleep(300_000)
        }
        deadline = Date().addingTimeInterval(20)
        while (try? count(root, "SELECT COUNT(*) FROM input_file WHERE kind = 'rosters'")) ?? 0 < 1 && Date() < deadline { usleep(50_000) }
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row WHERE review_state = '待審核'") == 10)
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row") == 10)
        #expect(try count(root, "SELECT COUNT(*) FROM input_file WHERE kind = 'rosters'") == 1)
        #expect((try? FileManager.default.contentsOfDirectory(atPath: DeskPaths(root: root).rejected.appendingPathComponent("rosters").path))?.isEmpty ?? true)
    }

    @Test(arguments: [10, 6000])
    func aNULByteRefusesTheFileWhereverItIs(_ offset: Int) throws {
        let root = try temporaryRoot()
        let (registry, roster) = month(300)
        try drop(registry, as: "reg.csv", into: .registry, root: root)
        var bytes = Array(roster.utf8)
        let at = bytes[offset...].firstIndex(of: UInt8(ascii: ","))!   // inside a row, not the header only
        bytes.insert(0, at: at)
        try drop(Data(bytes), as: "roster-20261115.csv", into: .rosters, root: root)
        let desk = try openDesk(root)
        let summary = try desk.runOnce()
        guard case .rejected(let r) = summary.files.last?.result else { Issue.record("not refused: \(summary.files)"); return }
        #expect(r.problem.contains("NUL"))
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row") == 0)
    }

    @Test func aHeaderNamingAColumnTwiceIsRefusedNamingIt() throws {
        let root = try temporaryRoot()
        let (registry, _) = month(1)
        try drop(registry, as: "reg.csv", into: .registry, root: root)
        try drop("身分證字號,出生年月日,姓名,學校代碼,姓名,緩徵起始日期,緩徵終止日期,學籍狀態\n\(Fixture.id(400)),0951023,王小明,110000,李小華,1151015,1160630,在學\n",
                 as: "roster-20261115.csv", into: .rosters, root: root)
        let desk = try openDesk(root)
        guard case .rejected(let r) = try desk.runOnce().files.last?.result else { Issue.record("not refused"); return }
        #expect(r.problem.contains("「姓名」"))
        #expect(r.problem.contains("第 3 欄與第 5 欄"))
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row") == 0)
    }
}

/// Personal data and keys stay with the desk's own user, whatever the umask it was started with.
@Suite(.serialized)
struct PrivateStateTests {
    /// Paths under `folder` whose mode lets the group or others in (links are not followed).
    func readableByOthers(_ folder: URL) -> [String] {
        var found: [String] = []
        var st = stat()
        if lstat(folder.path, &st) == 0, st.st_mode & 0o077 != 0 { found.append(".") }
        let walker = FileManager.default.enumerator(atPath: folder.path)
        while let p = walker?.nextObject() as? String {
            if lstat(folder.path + "/" + p, &st) == 0, st.st_mode & S_IFMT != S_IFLNK, st.st_mode & 0o077 != 0 { found.append(p) }
        }
        return found
    }

    @Test func stateExportsAndRejectedFilesAreOwnerOnlyUnderUmask022() throws {
        let old = umask(0o022)
        defer { umask(old) }
        let fixture = try DecisionFixture()
        let desk = fixture.desk
        try drop("not a roster at all", as: "bad.csv", into: .rosters, root: fixture.root)
        _ = try desk.runOnce()
        try desk.publishSite()
        _ = try desk.exportDefermentRecords()
        for folder in desk.paths.privateFolders {
            #expect(readableByOthers(folder) == [], "\(folder.lastPathComponent)")
        }
        #expect(FileManager.default.fileExists(atPath: desk.paths.hostKey.path))
        // The site stays readable by a web server.
        var st = stat()
        #expect(stat(desk.paths.site.appendingPathComponent("index.html").path, &st) == 0 && st.st_mode & 0o777 == 0o644)
        #expect(stat(desk.paths.site.appendingPathComponent("schools").path, &st) == 0 && st.st_mode & 0o777 == 0o755)
        #expect(stat(desk.paths.outbox.path, &st) == 0 && st.st_mode & 0o005 == 0o005)
    }

    @Test func theDatabaseAloneHoldsNoDataKeyAndAnOlderOneIsSealedWhenOpened() throws {
        let root = try temporaryRoot()
        var desk: Desk? = try openDesk(root)
        try desk!.ensureAccounts()
        let keys = Dictionary(uniqueKeysWithValues: try desk!.accounts().map { ($0.code, $0.dataKey) })
        let stored = try desk!.store.queue.read { db in try DeskStore.accounts(db) }
        #expect(!stored.isEmpty)
        for a in stored {
            #expect(a.dataKey != keys[a.code])
            #expect(a.dataKey.range(of: keys[a.code]!) == nil)
        }
        // A database written before the host key: data keys in clear.
        try desk!.store.queue.write { db in
            for (code, key) in keys { try DeskStore.setDataKey(db, code: code, dataKey: key) }
        }
        desk = nil
        let reopened = try openDesk(root)
        let after = try reopened.store.queue.read { db in try DeskStore.accounts(db) }
        #expect(after.allSatisfy { HostKey.isSealed($0.dataKey) && $0.dataKey.range(of: keys[$0.code]!) == nil })
        #expect(Dictionary(uniqueKeysWithValues: try reopened.accounts().map { ($0.code, $0.dataKey) }) == keys)
    }

    @Test func anOlderRootLeftReadableIsMadeOwnerOnly() throws {
        let root = try temporaryRoot()
        let paths = DeskPaths(root: root)
        for f in paths.privateFolders + [paths.archive] { try FileManager.default.createDirectory(at: f, withIntermediateDirectories: true) }
        try Data("x".utf8).write(to: paths.archive.appendingPathComponent("old.csv"), options: [])
        chmod(paths.archive.appendingPathComponent("old.csv").path, 0o644)
        chmod(paths.state.path, 0o755)
        _ = try openDesk(root)
        #expect(readableByOthers(paths.state) == [])
    }
}

/// A file's name may hold personal data: public pages never show it.
struct PublicNoticeTests {
    @Test func aRefusedFileIsNamedOnTheCountyPageByArrivalAndDigestOnly() throws {
        let fixture = try DecisionFixture()
        let name = "J143329174-丁明騰.xlsx"
        let bytes = Data("這不是審核名冊".utf8)
        let folder = DeskPaths(root: fixture.root).decisions(county: fixture.county)
        try bytes.write(to: folder.appendingPathComponent(".x.part"))
        try FileManager.default.moveItem(at: folder.appendingPathComponent(".x.part"), to: folder.appendingPathComponent(name))
        let summary = try fixture.desk.runOnce()
        #expect(summary.rejectedCount == 1)
        try fixture.desk.publishSite()
        let page = try String(contentsOf: fixture.desk.paths.site.appendingPathComponent("counties/\(fixture.county)/index.html"), encoding: .utf8)
        #expect(!page.contains("J143329174") && !page.contains("丁明騰"))
        let digest = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        #expect(page.contains("檔案 " + digest.prefix(8)))
        #expect(page.contains("退件"))
        // The 退件說明 for the county still names the file.
        let report = try FileManager.default.contentsOfDirectory(atPath: fixture.desk.paths.rejected.appendingPathComponent("decisions/\(fixture.county)").path)
        #expect(report.contains(name + ".退件說明.txt"))
    }
}

/// A publish that runs out of disk says so in zh-TW, exits 4, and leaves a site whose every page
/// links only to files that exist; the next publish leaves no temporary file behind.
@Suite(.serialized)
struct FullDiskTests {
    /// Links of every page that point to a missing file (relative to the page's folder).
    static func brokenLinks(in site: URL) throws -> [String] {
        var broken: [String] = []
        // Links relative to the page, and data-index / data-sealed / data-pieces: paths from the
        // site's root (the lists of pieces separated by spaces).
        let pattern = try NSRegularExpression(pattern: ##"(href|src|data-src|data-enc|data-key|data-index|data-sealed|data-pieces)="([^"#?]+)"##)
        let walker = FileManager.default.enumerator(atPath: site.path)
        while let p = walker?.nextObject() as? String {
            guard p.hasSuffix(".html") else { continue }
            let text = try String(contentsOf: site.appendingPathComponent(p), encoding: .utf8)
            let folder = site.appendingPathComponent(p).deletingLastPathComponent()
            for m in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                let attribute = String(text[Range(m.range(at: 1), in: text)!])
                let targets = text[Range(m.range(at: 2), in: text)!].split(separator: " ").map(String.init)
                let base = ["data-index", "data-sealed", "data-pieces"].contains(attribute) ? site : folder
                for target in targets where !target.contains(":") && !target.contains("{{") {
                    if !FileManager.default.fileExists(atPath: base.appendingPathComponent(target).standardizedFileURL.path) {
                        broken.append("\(p) → \(target)")
                    }
                }
            }
        }
        return broken
    }

    static func temporaryFiles(in site: URL) -> [String] {
        let walker = FileManager.default.enumerator(atPath: site.path)
        var found: [String] = []
        while let p = walker?.nextObject() as? String {
            if (p as NSString).lastPathComponent.hasSuffix(".tmp") { found.append(p) }
        }
        return found
    }

    func cli(_ args: [String], _ root: URL) throws -> (status: Int32, out: String, err: String) {
        try runCLI(args + ["--root", root.path, "--seeds", seedsFolder.path, "--templates", templatesFolder.path])
    }

    @Test func aFullDiskDuringPublishLeavesAConsistentSiteAndExit4() throws {
        let root = try temporaryRoot()
        let site = DeskPaths(root: root).site
        try FileManager.default.createDirectory(at: site, withIntermediateDirectories: true)
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/bin/mount")
        mount.arguments = ["-t", "tmpfs", "-o", "size=32m", "tmpfs", site.path]
        mount.standardError = FileHandle.nullDevice
        let mounted = (try? mount.run()).map { mount.waitUntilExit(); return mount.terminationStatus == 0 } ?? false
        defer { if mounted { _ = try? runProcess("/bin/umount", [site.path]) } }
        let month1 = seedsFolder.appendingPathComponent("rosters/roster-20261015.csv")
        let month2 = seedsFolder.appendingPathComponent("rosters/roster-20261115.csv")
        try drop(try Data(contentsOf: month1), as: month1.lastPathComponent, into: .rosters, root: root)
        if !mounted {
            // No small filesystem can be mounted here: the order is checked by the injected
            // faults of the next test only.
            print("FullDiskTests: mount -t tmpfs is not permitted here (not root?); the write order is tested by injected faults only")
            return
        }
        let first = try cli(["run", "--settle", "0"], root)
        #expect(first.status == 0, "\(first.out)\(first.err)")
        // Room for a quarter of a megabyte more than the first month's site: the second month
        // adds several times that.
        let fs = try FileManager.default.attributesOfFileSystem(forPath: site.path)
        let used = ((fs[.systemSize] as? Int) ?? 0) - ((fs[.systemFreeSize] as? Int) ?? 0)
        _ = try runProcess("/bin/mount", ["-o", "remount,size=\(used / 1024 + 256)k", site.path])
        try drop(try Data(contentsOf: month2), as: month2.lastPathComponent, into: .rosters, root: root)
        let second = try cli(["run", "--settle", "0"], root)
        #expect(second.status == 4, "\(second.out)\(second.err)")
        #expect(second.err.contains("磁碟空間不足"))
        #expect(!second.err.contains("NSCocoaErrorDomain"))
        // The month was applied; the site is consistent: no page links to a missing file.
        #expect(try count(root, "SELECT COUNT(*) FROM input_file WHERE kind = 'rosters'") == 2)
        let broken = try Self.brokenLinks(in: site)
        #expect(broken == [])
        // With room again, the next publish completes and leaves no temporary file.
        _ = try runProcess("/bin/mount", ["-o", "remount,size=32m", site.path])
        let again = try cli(["publish"], root)
        #expect(again.status == 0, "\(again.out)\(again.err)")
        #expect(Self.temporaryFiles(in: site) == [])
        let brokenAfter = try Self.brokenLinks(in: site)
        #expect(brokenAfter == [])
        let manifest = try JSONDecoder().decode([ManifestEntry].self, from: Data(contentsOf: site.appendingPathComponent("manifest.json")))
        #expect(manifest.allSatisfy { FileManager.default.fileExists(atPath: site.appendingPathComponent($0.path).path) })
        #expect(manifest.contains { $0.path.hasPrefix("schools/999001/") })
    }

    /// The order itself, at many points of a build: a fault injected into the writer after `n`
    /// writes stops a publish that adds a month and a school; no page then links to a missing file.
    @Test(arguments: [1, 5, 20, 60, 120, 200])
    func aPublishStoppedAtAnyWriteLeavesNoBrokenLink(_ n: Int) throws {
        let root = try temporaryRoot()
        let site = DeskPaths(root: root).site
        let month1 = seedsFolder.appendingPathComponent("rosters/roster-20261015.csv")
        let month2 = seedsFolder.appendingPathComponent("rosters/roster-20261115.csv")
        try drop(try Data(contentsOf: month1), as: month1.lastPathComponent, into: .rosters, root: root)
        let desk = try Desk(root: root, seeds: seedsFolder, templates: templatesFolder)
        desk.settleSeconds = 0
        _ = try desk.runOnce()
        try desk.publishSite()
        try drop(try Data(contentsOf: month2), as: month2.lastPathComponent, into: .rosters, root: root)
        _ = try desk.runOnce()
        let writes = ManagedAtomicCounter()
        SitePublisher.injectFault(root: site) { _ in
            if writes.increment() > n { throw CocoaError(.fileWriteOutOfSpace) }
        }
        defer { SitePublisher.injectFault(root: site, nil) }
        #expect(throws: (any Error).self) { try desk.publishSite() }
        SitePublisher.injectFault(root: site, nil)
        let broken = try Self.brokenLinks(in: site)
        #expect(broken == [])
        try desk.publishSite()
        #expect(Self.temporaryFiles(in: site) == [])
        let after = try Self.brokenLinks(in: site)
        #expect(after == [])
    }
}

/// A counter shared by the site's writer threads.
final class ManagedAtomicCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func increment() -> Int { lock.withLock { value += 1; return value } }
}

@discardableResult
func runProcess(_ path: String, _ args: [String]) throws -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    try p.run()
    p.waitUntilExit()
    return p.terminationStatus
}

/// A workbook downloaded before a row's latest final decision does not reverse it.
@Suite(.serialized)
struct StaleWorkbookTests {
    static let application = DecisionWorkbook.sheetName(.application)
    static var signed: [String: Any] { ["reviewer": "王承辦", "approver": "李科長", "date": "2026-11-30"] }

    @Test func aStaleWorkbookIsARowProblemAndTheRestApplies() throws {
        let f = try DecisionFixture()
        let stale = try f.download()          // downloaded first, left on a desk
        let fresh = try f.edit(try f.download(), ["decisions": [["sheet": Self.application, "row": 0, "decision": "核准"]], "signoff": Self.signed])
        guard case .applied = try f.submit(fresh).result else { Issue.record("fresh not applied"); return }
        let rows = try f.rows()
        #expect(rows[0].state == .approved)
        #expect(try f.value("SELECT COUNT(*) FROM deferment_record WHERE status = 'active'") == 1)
        // The old download, filled later: row 0 refused, row 1 approved.
        let late = try f.edit(stale, ["decisions": [["sheet": Self.application, "row": 0, "decision": "未核准", "comment": "資料不符"],
                                                    ["sheet": Self.application, "row": 1, "decision": "核准"]], "signoff": Self.signed])
        let outcome = try f.submit(late)
        guard case .applied = outcome.result else { Issue.record("late file not applied: \(outcome.result)"); return }
        let after = try f.rows()
        #expect(after[0].state == .approved)
        #expect(after[1].state == .approved)
        #expect(try f.value("SELECT COUNT(*) FROM deferment_record WHERE status = 'active'") == 2)
        let problems = try #require(try f.text("SELECT problems FROM county_notice ORDER BY id DESC LIMIT 1"))
        #expect(problems.contains("此列已於 115/11/30 另有核定結果，請下載最新審核名冊"))
        // A workbook downloaded now may change it.
        let now = try f.edit(try f.download(), ["decisions": [["sheet": Self.application, "row": 0, "decision": "未核准", "comment": "資料不符"]], "signoff": Self.signed])
        _ = try f.submit(now)
        #expect(try f.rows()[0].state == .refused)
    }

    @Test func tokensCarryTheirGenerationAndTheFirstFormStillReads() throws {
        let key = SymmetricKey(size: .bits256)
        let day = CivilDate(year: 2026, month: 10, day: 15)!
        let token = DecisionToken(county: "63000", uploadDate: day, generation: 42)
        #expect(DecisionToken.verify(token.signed(with: key), key: key) == token)
        // The generation is signed: changed, the token is no longer valid.
        #expect(DecisionToken.verify(token.signed(with: key).replacingOccurrences(of: "-42-", with: "-99-"), key: key) == nil)
        // A token of the first form (no generation) reads as generation 0.
        let mac = Data(HMAC<SHA256>.authenticationCode(for: Data("deferment-decision|63000|20261015".utf8), using: key)).prefix(16)
        let first = "DDT1-63000-20261015-" + mac.map { String(format: "%02x", $0) }.joined()
        #expect(DecisionToken.verify(first, key: key) == DecisionToken(county: "63000", uploadDate: day, generation: 0))
    }

    @Test func decisionsReadTakesTheOptionsEveryCommandTakesAndChecksTheToken() throws {
        let f = try DecisionFixture()
        let file = try f.download()
        let read = try runCLI(["decisions", "read", file.path, "--root", f.root.path, "--seeds", seedsFolder.path, "--templates", templatesFolder.path])
        #expect(read.status == 0, "\(read.err)")
        #expect(read.out.contains("驗證碼有效（縣市 \(f.county)，上傳日期 115/10/15）"), "\(read.out)")
        let elsewhere = try runCLI(["decisions", "read", file.path, "--root", try temporaryRoot().path])
        #expect(elsewhere.status == 0 && elsewhere.out.contains("未檢查"), "\(elsewhere.out)")
    }

    @Test func aSignOffDateAfterTodayIsRefused() throws {
        let f = try DecisionFixture()
        let tomorrow = Calendar(identifier: .gregorian).date(byAdding: .day, value: 1, to: Date())!
        let day = Desk.day(of: tomorrow)
        let file = try f.edit(try f.download(), ["decisions": [["sheet": Self.application, "row": 0, "decision": "核准"]],
                                                 "signoff": ["reviewer": "王承辦", "approver": "李科長", "date": day.iso]])
        guard case .rejected(let r) = try f.submit(file).result else { Issue.record("not refused"); return }
        #expect(r.problem.contains("核定日期不可晚於今日"))
        #expect(try f.value("SELECT COUNT(*) FROM decision_history") == 0)
    }
}

/// The decision cycle across months: a deferment a signed leaving row ended is ended.
@Suite(.serialized)
struct EndedDefermentTests {
    @Test func aRegistryDefermentEndedByALeavingRowRaisesNoOpenDefermentCheckNextMonth() throws {
        let root = try temporaryRoot()
        let id = Fixture.id(777)
        // The registry holds an open in-school deferment since 2025-09-01.
        try drop(Fixture.registryHeader + "\(id),0951023,王小明,63000,高中肄業,未經徵兵處理,1140901,\n", as: "reg.csv", into: .registry, root: root)
        try drop(Fixture.rosterHeader + "\(id),0951023,王小明,110000,範例高中,普通科,2,,1151101,退學,否\n", as: "leaving-20261015.csv", into: .rosters, root: root)
        let desk = try Desk(root: root, seeds: seedsFolder, templates: templatesFolder)
        desk.settleSeconds = 0
        _ = try desk.runOnce()
        // 63000 approves the leaving row, signed off.
        let workbook = root.appendingPathComponent("wb.xlsx")
        try desk.writeDecisionWorkbook(county: "63000", uploadDate: CivilDate(year: 2026, month: 10, day: 15)!, to: workbook,
                                       fill: { _ in RowDecision(word: .approve, comment: "") },
                                       signOff: SignOff(reviewer: "王承辦", approver: "李科長", approvedOn: CivilDate(year: 2026, month: 11, day: 2)))
        try drop(try Data(contentsOf: workbook), as: "審核名冊.xlsx", into: .decisions, root: root, county: "63000")
        _ = try desk.runOnce()
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row WHERE review_state = '核准'") == 1)
        // He enrols again: the ended deferment is no open deferment.
        try drop(Fixture.rosterHeader + "\(id),0951023,王小明,110001,另一高中,普通科,3,1151201,1160630,復學,否\n", as: "back-20261201.csv", into: .rosters, root: root)
        _ = try desk.runOnce()
        let checks = try desk.store.queue.read { db in try String.fetchOne(db, sql: "SELECT checks FROM roster_row WHERE upload_date = '2026-12-01'") }
        #expect(checks != nil)
        #expect(!(checks ?? "").contains("已有未結束之在學緩徵註記"), "\(checks ?? "")")
    }
}
