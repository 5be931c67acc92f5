import Foundation
import Testing
@testable import DefermentDesk
#if canImport(Glibc)
import Glibc
#endif

/// Workbooks are written in a scratch folder (`/dev/shm` unless `DEFERMENT_SCRATCH` names
/// another) before their bytes are sealed: a desk killed meanwhile leaves its folder there, with
/// the rows written so far. The next desk that writes a workbook removes it.
struct KilledScratchTests {
    /// What a folder holds (nothing when it cannot be read).
    func entries(_ folder: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
    }

    @Test func theNextDeskRemovesTheScratchFoldersOfAKilledOne() throws {
        let bulk = try temporaryRoot().appendingPathComponent("bulk")
        let seeds = seedsFolder.path
        #expect(try runCLI(["samples", "--seeds", seeds, "--rows", "20000", "--schools", "20", "--out", bulk.path]).status == 0)
        let root = try rootWithSamplesWaiting(bulk)
        let args = ["--root", root.path, "--seeds", seeds, "--templates", templatesFolder.path]
        let scratch = try temporaryRoot().appendingPathComponent("scratch")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: false)
        let environment = ["DEFERMENT_SCRATCH": scratch.path]
        let first = try runCLI(["run", "--settle", "0"] + args, environment: environment)
        #expect(first.status == 0, "\(first.err)")
        #expect(entries(scratch).isEmpty, "a desk that finished left \(entries(scratch))")

        // Killed while a workbook is being written.
        let p = Process()
        p.executableURL = deferment
        p.arguments = ["publish", "--force"] + args
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(60)
        while p.isRunning && (entries(scratch)).isEmpty && Date() < deadline { usleep(200) }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let left = entries(scratch)
        #expect(p.terminationReason == .uncaughtSignal && !left.isEmpty, "the kill did not land while a workbook was written")
        #expect(left.allSatisfy { $0.hasPrefix("deferment-workbook-\(p.processIdentifier)-") }, "\(left)")

        // The next desk to write a workbook removes them, and leaves nothing of its own.
        let next = try runCLI(["publish", "--force"] + args, environment: environment)
        #expect(next.status == 0, "\(next.err)")
        #expect(entries(scratch).isEmpty, "left behind: \(entries(scratch))")
    }
}
