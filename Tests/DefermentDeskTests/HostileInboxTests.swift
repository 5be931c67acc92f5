import Foundation
import GRDB
import Testing
@testable import DefermentDesk
@testable import DefermentStore
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
}
