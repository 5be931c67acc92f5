import Foundation
import GRDB
import Testing
@testable import DefermentDesk
import DefermentCore

/// The queue runner: a file that failed for a reason that is not its content waits on hold with
/// its reason and is retried after a backoff, not on every run.
@Suite(.serialized)
struct RunnerTests {
    @Test func aFileThatFailsForAnotherReasonIsHeldThenRetried() throws {
        let root = try temporaryRoot()
        let id = Fixture.id(880)
        try drop(Fixture.registryHeader + "\(id),0951023,王小明,63000,高中肄業,未經徵兵處理,,\n", as: "reg.csv", into: .registry, root: root)
        let desk = try openDesk(root)
        _ = try desk.runOnce()
        // The database refuses every roster row for now (as a full disk or a damaged index would).
        try desk.store.queue.write { try $0.execute(sql: "CREATE TRIGGER refuse BEFORE INSERT ON roster_row BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END") }
        desk.holdRetrySeconds = 3600
        try drop(Fixture.rosterHeader + "\(id),0951023,王小明,110000,範例高中,普通科,3,1151015,1160630,在學,否\n", as: "roster-20261115.csv", into: .rosters, root: root)
        let first = try desk.runOnce()
        guard case .failed(let why) = first.files.first?.result else { Issue.record("\(first.files)"); return }
        #expect(why.contains("暫緩區") && why.contains("disk I/O error"))
        // Out of the active queue, on hold with its reason and retry time.
        #expect(try FileManager.default.contentsOfDirectory(atPath: desk.paths.active(.rosters).path).filter { !$0.hasPrefix(".") }.isEmpty)
        let held = try FileManager.default.contentsOfDirectory(atPath: desk.paths.hold(.rosters).path)
        #expect(held.filter { !$0.hasPrefix(".") }.count == 1)
        let note = try #require(held.first { $0.hasSuffix(".hold") })
        let text = try String(contentsOf: desk.paths.hold(.rosters).appendingPathComponent(note), encoding: .utf8)
        #expect(text.contains("disk I/O error") && text.contains("\"attempts\" : 1"))
        // Not retried before its time.
        #expect(try desk.runOnce().files.isEmpty)
        #expect(desk.nextHeldRetry().map { $0 > Date().addingTimeInterval(3000) } == true)
        // The cause fixed, a flush (or the time) takes it: applied once, its name kept.
        try desk.store.queue.write { try $0.execute(sql: "DROP TRIGGER refuse") }
        let retried = try desk.runOnce(flush: true)
        #expect(retried.files.map(\.name) == ["roster-20261115.csv"])
        guard case .applied = retried.files.first?.result else { Issue.record("\(retried.files)"); return }
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row") == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: desk.paths.hold(.rosters).path).isEmpty)
        #expect(desk.nextHeldRetry() == nil)
    }

    @Test func aHeldFileFailingAgainWaitsTwiceAsLong() throws {
        let root = try temporaryRoot()
        let desk = try openDesk(root)
        try desk.store.queue.write { try $0.execute(sql: "CREATE TRIGGER refuse BEFORE INSERT ON person BEGIN SELECT RAISE(ABORT, 'database is locked'); END") }
        desk.holdRetrySeconds = 100
        try drop(Fixture.registryHeader + "\(Fixture.id(881)),0951023,王小明,63000,高中肄業,未經徵兵處理,,\n", as: "reg.csv", into: .registry, root: root)
        _ = try desk.runOnce()
        let firstDue = try #require(desk.nextHeldRetry())
        _ = try desk.runOnce(flush: true)
        let secondDue = try #require(desk.nextHeldRetry())
        #expect(firstDue.timeIntervalSinceNow > 90 && firstDue.timeIntervalSinceNow < 110)
        #expect(secondDue.timeIntervalSinceNow > 190 && secondDue.timeIntervalSinceNow < 210)
    }
}
