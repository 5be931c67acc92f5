import Crypto
import Foundation
import GRDB
import Testing
@testable import DefermentDesk
import DefermentCore
import DefermentSite
#if canImport(Glibc)
import Glibc
#endif

/// SIGKILL at random moments of a 100,000-row month (inside the transactions, between files,
/// during the publish), then runs until done: the database, every report and the site's file
/// list equal those of a run that was never killed. Nothing lost, nothing twice.
@Suite(.serialized)
struct KillAtScaleTests {
    let seeds = seedsFolder.path

    func args(_ root: URL) -> [String] {
        ["--root", root.path, "--seeds", seeds, "--templates", templatesFolder.path]
    }

    /// What a run leaves that users depend on, as digests: every stored row and person, the
    /// ledger's counts, the mail queue, every school's and county's report and the site's list
    /// of files.
    func outcome(_ root: URL) throws -> [String: String] {
        let q = try DatabaseQueue(path: DeskPaths(root: root).database.path)
        var result: [String: String] = [:]
        let queries = [
            "rows": "SELECT school_code, upload_date, roster_kind, row_key, national_id, name, birth_date, review_state, IFNULL(reason,''), checks, IFNULL(county_code,''), row_hash, source_row FROM roster_row ORDER BY school_code, upload_date, roster_kind, row_key",
            "people": "SELECT national_id, birth_date, name, county_code, education, service_status FROM person ORDER BY national_id",
            "ledger": "SELECT kind, original_name, row_count, summary FROM input_file ORDER BY kind, original_name",
            "mail": "SELECT COUNT(*) FROM mail_queue",
            "counts": "SELECT * FROM roster_counts ORDER BY 1, 2, 3, 4, 5",
            "schools": "SELECT code, name FROM school ORDER BY code",
        ]
        try q.read { db in
            for (name, sql) in queries {
                var text = ""
                for row in try Row.fetchAll(db, sql: sql) { text += row.description + "\n" }
                result[name] = SHA256.hash(data: Data(text.utf8)).map { String(format: "%02x", $0) }.joined()
            }
        }
        // Every school's and every county's report.
        let (schools, counties) = try q.read { db in
            (try String.fetchAll(db, sql: "SELECT DISTINCT school_code FROM roster_row ORDER BY 1"),
             try String.fetchAll(db, sql: "SELECT DISTINCT county_code FROM roster_row WHERE county_code IS NOT NULL ORDER BY 1"))
        }
        for (option, codes) in [("--school", schools), ("--county", counties)] {
            for code in codes {
                let report = try runCLI(["report", option, code, "--format", "csv"] + args(root))
                result["report \(option) \(code)"] = SHA256.hash(data: Data(report.out.utf8)).map { String(format: "%02x", $0) }.joined()
            }
        }
        let manifest = try JSONDecoder().decode([ManifestEntry].self, from: Data(contentsOf: DeskPaths(root: root).site.appendingPathComponent("manifest.json")))
        result["site files"] = manifest.map(\.path).sorted().joined(separator: "\n")
        // Files left in the queue (its folders aside): none after a finished run.
        let active = DeskPaths(root: root).state.appendingPathComponent("queue/active")
        result["queue"] = try FileManager.default.subpathsOfDirectory(atPath: active.path)
            .filter { EntryType.of(active.appendingPathComponent($0).path) != .directory }.joined(separator: ",")
        return result
    }

    /// Starts `deferment run`, waits until `ready` holds (or the run ends), then `delay` more
    /// seconds, and kills it. Returns whether the kill landed before the run finished.
    func killedRun(_ root: URL, when ready: () -> Bool, delay: Double) throws -> Bool {
        let p = Process()
        p.executableURL = deferment
        p.arguments = ["run", "--settle", "0"] + args(root)
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(60)
        while p.isRunning && !ready() && Date() < deadline { usleep(2_000) }
        if delay > 0 { usleep(UInt32(delay * 1_000_000)) }
        guard p.isRunning else { p.waitUntilExit(); return false }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        return p.terminationReason == .uncaughtSignal
    }

    @Test func killsAtRandomMomentsOfAHundredThousandRowsLoseNothingAndApplyNothingTwice() throws {
        let bulk = try temporaryRoot().appendingPathComponent("bulk")
        let gen = try runCLI(["samples", "--seeds", seeds, "--rows", "100000", "--schools", "40", "--out", bulk.path])
        #expect(gen.status == 0, "\(gen.err)")

        let reference = try rootWithSamplesWaiting(bulk)
        let clean = try runCLI(["run", "--settle", "0"] + args(reference))
        #expect(clean.status == 0, "\(clean.out)\(clean.err)")
        let expected = try outcome(reference)
        #expect(try count(reference, "SELECT COUNT(*) FROM roster_row") == 100_000)

        let root = try rootWithSamplesWaiting(bulk)
        let journal = DeskPaths(root: root).state.appendingPathComponent("deferment.sqlite-journal").path
        let publishing = DeskPaths(root: root).site.appendingPathComponent(".publishing").path
        func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }
        func inTransaction() -> Bool {
            var st = stat()
            return stat(journal, &st) == 0 && st.st_size > 0
        }
        var rng = SystemRandomNumberGenerator()
        var kills: [String] = []
        // Inside a transaction (the extract's or the roster's), at a random depth.
        for _ in 0..<3 {
            let delay = Double.random(in: 0...0.4, using: &rng)
            if try killedRun(root, when: inTransaction, delay: delay) { kills.append("transaction +\(String(format: "%.2f", delay)) s") }
        }
        // At a random moment from the start.
        let anyDelay = Double.random(in: 0.05...1.5, using: &rng)
        if try killedRun(root, when: { true }, delay: anyDelay) { kills.append("any +\(String(format: "%.2f", anyDelay)) s") }
        // During the publish.
        for _ in 0..<2 {
            let delay = Double.random(in: 0...0.05, using: &rng)
            if try killedRun(root, when: { exists(publishing) }, delay: delay) { kills.append("publish +\(String(format: "%.3f", delay)) s") }
        }
        #expect(kills.count >= 3, "too few kills landed: \(kills)")
        print("KillAtScaleTests: kills landed: \(kills.joined(separator: "; "))")
        // Until done.
        let finish = try runCLI(["run", "--settle", "0"] + args(root))
        #expect(finish.status == 0, "\(finish.out)\(finish.err)")
        let got = try outcome(root)
        for key in expected.keys.sorted() {
            #expect(got[key] == expected[key], "\(key) differs after kills \(kills)")
        }
        #expect(Set(got.keys) == Set(expected.keys))
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row") == 100_000)
        #expect(try count(root, "SELECT COUNT(*) FROM input_file") == 2)
    }
}
