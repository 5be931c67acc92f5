import Foundation
import Crypto
import GRDB
import Testing
@testable import DefermentDesk
@testable import DefermentSite
import DefermentCore

/// The binary under test installed with `make install` into a temporary prefix.
struct Installation {
    let prefix: URL
    var binary: URL { prefix.appendingPathComponent("bin/deferment") }
    var share: URL { prefix.appendingPathComponent("share/deferment") }
    var unit: URL { prefix.appendingPathComponent("lib/systemd/system/deferment-watch.service") }

    init(_ name: String = #function) throws {
        prefix = try temporaryRoot(name).appendingPathComponent("usr")
        let tool = deferment.deletingLastPathComponent().appendingPathComponent("generate-manual")
        let made = try runCLI(["install", "PREFIX=\(prefix.path)", "BIN=\(deferment.path)", "GENERATE_MANUAL=\(tool.path)"],
                              executable: URL(fileURLWithPath: "/usr/bin/make"), in: repositoryRoot)
        guard made.status == 0 else { throw Failed("make install: \(made.out)\(made.err)") }
    }

    /// Runs the installed binary from `/`.
    func run(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
        try runCLI(args, executable: binary, in: URL(fileURLWithPath: "/"))
    }
}

struct Failed: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// A free TCP port on loopback.
func freePort() throws -> Int {
    Int(try pythonOutput(["-c", "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"])
        .trimmingCharacters(in: .whitespacesAndNewlines))!
}

/// A program started in the background and stopped (SIGTERM) by ``stop()``.
final class Background {
    let process = Process()
    init(_ path: String, _ args: [String]) throws {
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = args
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }
    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
    deinit { stop() }
}

/// The operator's side (issue: run it in production): install, the service unit, deploying the
/// site to a real static host, backup and restore. Each step of README's "Deploy" section.
@Suite(.serialized)
struct OperationsTests {
    @Test func installedBinaryRunsAMonthFromSlashOnARootMadeByInit() throws {
        let installed = try Installation()
        let fm = FileManager.default
        // What make install lays out: templates, reference data apart from the samples, a man
        // page per command, completions, the unit.
        #expect(fm.isExecutableFile(atPath: installed.binary.path))
        #expect(fm.fileExists(atPath: installed.share.appendingPathComponent("templates/home.mustache").path))
        #expect(fm.fileExists(atPath: installed.share.appendingPathComponent("seeds/settings.csv").path))
        #expect(!fm.fileExists(atPath: installed.share.appendingPathComponent("seeds/registry").path))
        #expect(fm.fileExists(atPath: installed.share.appendingPathComponent("samples/rosters/roster-20261015.csv").path))
        for page in ["deferment", "deferment.run", "deferment.watch", "deferment.init", "deferment.deploy", "deferment.backup",
                     "deferment.restore", "deferment.decisions.workbook"] {
            #expect(fm.fileExists(atPath: installed.prefix.appendingPathComponent("share/man/man1/\(page).1").path), "\(page).1")
        }
        let bash = try String(contentsOf: installed.prefix.appendingPathComponent("share/bash-completion/completions/deferment"), encoding: .utf8)
        #expect(bash.contains("complete") && bash.contains("deploy"))
        let zsh = try String(contentsOf: installed.prefix.appendingPathComponent("share/zsh/site-functions/_deferment"), encoding: .utf8)
        #expect(zsh.hasPrefix("#compdef deferment"))

        // init makes a root that the installed binary runs from `/` with no other option.
        let root = installed.prefix.deletingLastPathComponent().appendingPathComponent("srv")
        let made = try installed.run(["init", "--root", root.path])
        #expect(made.status == 0, "\(made.err)")
        #expect(made.out.contains("settings.csv"))
        #expect(fm.fileExists(atPath: root.appendingPathComponent("seeds/counties.csv").path))
        #expect(!fm.fileExists(atPath: root.appendingPathComponent("seeds/registry").path))   // no sample people
        let mode = try #require(try fm.attributesOfItem(atPath: root.appendingPathComponent("state").path)[.posixPermissions] as? Int)
        #expect(mode == 0o700)

        let samples = installed.share.appendingPathComponent("samples")
        try drop(try Data(contentsOf: samples.appendingPathComponent("registry/registry-sample.csv")), as: "registry.csv", into: .registry, root: root)
        try drop(try Data(contentsOf: samples.appendingPathComponent("rosters/roster-20261015.csv")), as: "roster-20261015.csv", into: .rosters, root: root)
        let month = try installed.run(["run", "--root", root.path, "--settle", "0"])
        #expect(month.status == 0, "\(month.err)")
        #expect(fm.fileExists(atPath: root.appendingPathComponent("outbox/site/schools/110000/index.html").path))

        // A county decides and sends the workbook back; the next run applies it.
        let workbook = root.appendingPathComponent("w.xlsx"), edited = root.appendingPathComponent("edited.xlsx")
        #expect(try installed.run(["decisions", "workbook", "--root", root.path, "--county", "63000", "--date", "2026-10-15",
                                   "--out", workbook.path]).status == 0)
        _ = try pythonOutput([scriptsFolder.appendingPathComponent("edit_decisions.py").path, workbook.path, edited.path, """
            {"decisions": [{"sheet": "申請緩徵名冊", "row": 0, "decision": "核准"}],
             "signoff": {"reviewer": "王承辦", "approver": "李科長", "date": "2026-11-30"}}
            """])
        try fm.copyItem(at: edited, to: root.appendingPathComponent("inbox/decisions/63000/edited.xlsx"))
        let applied = try installed.run(["run", "--root", root.path, "--settle", "0"])
        #expect(applied.status == 0, "\(applied.err)")
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row WHERE review_state = '核准'") == 1)

        // The demo too runs from `/` on the installed files, and leaves a root the plain
        // commands work on.
        let demo = root.deletingLastPathComponent().appendingPathComponent("demo")
        let played = try installed.run(["demo", "--root", demo.path])
        #expect(played.status == 0, "\(played.err)")
        #expect(!played.out.contains(".build/"))
        // Every command the closing hints name is the binary that ran.
        for command in ["serve", "mail send", "report"] {
            #expect(played.out.contains("\(installed.binary.path) \(command) --root"), "\(command)")
        }
        // The month's cycle by e-mail: a county's workbook returned with a receipt back, a clerk's
        // password changed by the clerk.
        #expect(played.out.contains("收件回條 → ") && played.out.contains("（已核定）"))
        #expect(played.out.contains("帳號變更確認信 → "))
        #expect(try installed.run(["publish", "--root", demo.path]).status == 0)
    }

    @Test func serviceUnitIsHardenedAndPassesSystemdAnalyzeVerify() throws {
        let installed = try Installation()
        let unit = try String(contentsOf: installed.unit, encoding: .utf8)
        for line in ["ExecStart=\(installed.binary.path) watch --root /srv/deferment", "User=deferment", "UMask=0077",
                     "ProtectSystem=strict", "ReadWritePaths=/srv/deferment", "PrivateTmp=true", "NoNewPrivileges=true",
                     "Restart=on-failure"] {
            #expect(unit.contains(line + "\n"), "\(line)")
        }
        // systemd's own checker: keys, the executable, the man pages the unit names.
        let verified = try runCLI(["verify", installed.unit.path], executable: URL(fileURLWithPath: "/usr/bin/systemd-analyze"),
                                  environment: ["MANPATH": installed.prefix.appendingPathComponent("share/man").path])
        #expect(verified.status == 0 && verified.err.isEmpty, "\(verified.err)")
        // The checker is not blind: a unit naming a missing program fails it.
        let broken = installed.unit.deletingLastPathComponent().appendingPathComponent("broken.service")
        try unit.replacingOccurrences(of: installed.binary.path, with: "/nonexistent/deferment").write(to: broken, atomically: true, encoding: .utf8)
        #expect(try runCLI(["verify", broken.path], executable: URL(fileURLWithPath: "/usr/bin/systemd-analyze"),
                           environment: ["MANPATH": installed.prefix.appendingPathComponent("share/man").path]).status != 0)
    }

    /// The deploy order, from two manifests (pure): files before pages, indexes from the
    /// deepest up, the home page and then the manifest last, deletions after.
    @Test func deployPlanSendsLinkedFilesBeforePagesAndTheManifestLast() {
        func entry(_ p: String, _ sha: String = "a") -> ManifestEntry { ManifestEntry(path: p, size: 1, sha256: sha) }
        let remote = Dictionary(uniqueKeysWithValues: [entry("index.html"), entry("style.css"), entry("schools/1/index.html"),
                                                       entry("schools/1/old.html.enc"), entry("manifest.json")].map { ($0.path, $0) })
        let local = Dictionary(uniqueKeysWithValues: [entry("index.html", "b"), entry("style.css"), entry("schools/1/index.html", "b"),
                                                      entry("schools/1/report.xlsx.enc"), entry("schools/1/detail-1.html"),
                                                      entry("counties/2/index.html"), entry("manifest.json", "b")].map { ($0.path, $0) })
        let plan = SiteDeploy.plan(local: local, remote: remote)
        #expect(plan.batches == [["schools/1/report.xlsx.enc"], ["schools/1/detail-1.html"],
                                 ["counties/2/index.html", "schools/1/index.html"], ["index.html"], ["manifest.json"]])
        #expect(plan.deletions == ["schools/1/old.html.enc"])
        #expect(SiteDeploy.plan(local: local, remote: local) == SiteDeploy.Plan(batches: [], deletions: []))
    }

    @Test func deployToWebDAVSendsOnlyWhatChangedAndTheServedSiteDecryptsInChromium() throws {
        let f = try SiteFixture()
        let password = "correct horse 110000"
        try f.desk.setPassword(code: "110000", password: password, rounds: Envelope.defaultRounds)
        try f.desk.publishSite()
        let served = f.root.appendingPathComponent("served")
        try FileManager.default.createDirectory(at: served, withIntermediateDirectories: true)
        let port = try freePort()
        let webdav = try Background("/usr/bin/rclone", ["serve", "webdav", served.path, "--addr", "127.0.0.1:\(port)"])
        defer { webdav.stop() }
        let target = ":webdav,url='http://127.0.0.1:\(port)':"
        let deploy = try #require(f.desk.siteDeploy(target: target))
        var first: SiteDeploy.Plan?
        for _ in 0..<50 where first == nil {   // until the server listens
            first = try? deploy.run()
            if first == nil { Thread.sleep(forTimeInterval: 0.2) }
        }
        let initial = try #require(first)
        let manifest = { SitePublisher.readManifest(try Data(contentsOf: f.site.appendingPathComponent("manifest.json"))) }
        let before = try manifest()
        #expect(Set(initial.batches.flatMap { $0 }) == Set(before.keys).union(["manifest.json"]) && initial.deletions.isEmpty)
        #expect(initial.batches.last == ["manifest.json"] && initial.batches.dropLast().last == ["index.html"])
        func servedMatches() throws -> Bool {
            try manifest().values.allSatisfy { e in
                guard let data = try? Data(contentsOf: served.appendingPathComponent(e.path)) else { return false }
                return e.path == "manifest.json" || (data.count == e.size && SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() == e.sha256)
            }
        }
        #expect(try servedMatches())
        #expect(try deploy.run().sent == 0)   // nothing changed, nothing sent

        // One school's resent rows: only what the publish changed travels.
        let line = try f.desk.store.queue.read { db in
            try Row.fetchOne(db, sql: """
                SELECT national_id, birth_date, name, school_code, grade, start_date, end_date, enrolment_status
                FROM roster_row WHERE school_code = '110037' AND roster_kind = '申請緩徵' ORDER BY id LIMIT 1
                """)
        }.map { r in (0..<8).map { (r[$0] as String?) ?? "" } }
        let v = try #require(line)
        try drop(Fixture.rosterHeader + [v[0], v[1], v[2], v[3], "範例高中", "資訊科", v[4], v[5], v[6], v[7], "否"].joined(separator: ",") + "\n",
                 as: "resend-20261015.csv", into: .rosters, root: f.root)
        _ = try f.desk.runOnce()
        try f.desk.publishSite()
        let after = try manifest()
        let changed = Set(after.values.filter { before[$0.path] != $0 }.map(\.path))
        let second = try deploy.run()
        #expect(Set(second.batches.flatMap { $0 }) == changed.union(["manifest.json"]))
        #expect(second.deletions == before.keys.filter { after[$0] == nil }.sorted())
        #expect(changed.contains { $0.hasPrefix("schools/110037/") })
        #expect(!changed.contains { $0.hasPrefix("schools/") && !$0.hasPrefix("schools/110037/") })
        #expect(second.sent < after.count / 5)
        #expect(try servedMatches())

        // nginx serves the deployed copy; the school logs in and decrypts its pages in Chromium.
        let web = try freePort()
        let conf = f.root.appendingPathComponent("nginx.conf")
        try """
        user \(NSUserName()); daemon off; pid \(f.root.path)/nginx.pid; error_log \(f.root.path)/nginx-error.log;
        events {}
        http {
          include /etc/nginx/mime.types;
          access_log off; client_body_temp_path \(f.root.path)/nginx-body; proxy_temp_path \(f.root.path)/nginx-proxy;
          fastcgi_temp_path \(f.root.path)/nginx-fcgi; uwsgi_temp_path \(f.root.path)/nginx-uwsgi; scgi_temp_path \(f.root.path)/nginx-scgi;
          server { listen 127.0.0.1:\(web); root \(served.path); }
        }
        """.write(to: conf, atomically: true, encoding: .utf8)
        let nginx = try Background("/usr/sbin/nginx", ["-p", f.root.path, "-c", conf.path])
        defer { nginx.stop() }
        var listening = false
        for _ in 0..<50 where !listening {
            listening = (try? pythonOutput(["-c", "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=2)",
                                            "http://127.0.0.1:\(web)/index.html"])) != nil
            if !listening { Thread.sleep(forTimeInterval: 0.1) }
        }
        #expect(listening, "nginx did not start: \((try? String(contentsOf: f.root.appendingPathComponent("nginx-error.log"), encoding: .utf8)) ?? "")")
        let id = try f.desk.store.queue.read { db in
            try String.fetchOne(db, sql: """
                SELECT national_id FROM roster_row WHERE school_code = '110000' AND national_id <> ''
                GROUP BY national_id HAVING COUNT(DISTINCT upload_date) = 2 LIMIT 1
                """)
        }
        let artifacts = repositoryRoot.appendingPathComponent("test-artifacts/deployed-school")
        let out = try pythonOutput([scriptsFolder.appendingPathComponent("browser_school.py").path, "http://127.0.0.1:\(web)", "110000",
                                    try #require(id), artifacts.path, password])
        #expect(out.contains("OK"), "\(out)")
    }

    @Test func backupDuringWatchRestoresAConsistentRootAndDecisionsContinue() throws {
        let root = try temporaryRoot()
        let common = ["--seeds", seedsFolder.path, "--templates", templatesFolder.path]
        let bulk = root.appendingPathComponent("bulk")
        #expect(try runCLI(["samples", "--root", root.path, "--seeds", seedsFolder.path, "--rows", "30000", "--schools", "40",
                            "--out", bulk.path]).status == 0)
        try drop(try Data(contentsOf: bulk.appendingPathComponent("registry.csv")), as: "registry.csv", into: .registry, root: root)
        try drop(try Data(contentsOf: seedsFolder.appendingPathComponent("rosters/roster-20261015.csv")), as: "roster-20261015.csv",
                 into: .rosters, root: root)
        #expect(try runCLI(["run", "--root", root.path, "--settle", "0"] + common).status == 0)
        let counties = try ReferenceData.loadCounties(from: seedsFolder).map(\.code)
        func reports(_ r: URL) throws -> [String] {
            try counties.map { try runCLI(["report", "--root", r.path, "--county", $0] + common).out }
        }
        let beforeRoster = try reports(root)

        // A national roster lands while watch runs; the backup is taken meanwhile.
        let watch = try Background(deferment.path, ["watch", "--root", root.path, "--settle", "0"] + common)
        try drop(try Data(contentsOf: bulk.appendingPathComponent("roster-20261115.csv")), as: "roster-20261115.csv", into: .rosters, root: root)
        let backup = try temporaryRoot().appendingPathComponent("backup")
        let taken = try runCLI(["backup", "--root", root.path, "--to", backup.path])
        #expect(taken.status == 0, "\(taken.err)")
        for _ in 0..<300 where try count(root, "SELECT COUNT(*) FROM input_file WHERE kind = 'rosters'") < 2 { Thread.sleep(forTimeInterval: 0.1) }
        watch.stop()
        let afterRoster = try reports(root)
        #expect(afterRoster != beforeRoster)

        // A damaged backup is refused before anything is written.
        let damaged = try temporaryRoot().appendingPathComponent("damaged")
        try FileManager.default.copyItem(at: backup, to: damaged)
        let key = damaged.appendingPathComponent("state/decision-token.key")
        var bytes = try Data(contentsOf: key)
        bytes[0] ^= 0xFF
        try bytes.write(to: key)
        let refusedRoot = try temporaryRoot().appendingPathComponent("refused")
        let refused = try runCLI(["restore", "--from", damaged.path, "--root", refusedRoot.path] + common)
        #expect(refused.status == 4 && refused.err.contains("state/decision-token.key"))
        #expect(!FileManager.default.fileExists(atPath: refusedRoot.appendingPathComponent("state/deferment.sqlite").path))

        // Restored: every report is the original's before or after the roster, never between.
        let restored = try temporaryRoot().appendingPathComponent("restored")
        let back = try runCLI(["restore", "--from", backup.path, "--root", restored.path] + common)
        #expect(back.status == 0, "\(back.err)")
        let restoredReports = try reports(restored)
        #expect(restoredReports == beforeRoster || restoredReports == afterRoster)
        #expect(FileManager.default.fileExists(atPath: restored.appendingPathComponent("outbox/site/index.html").path))

        // Decisions go on in the restored root: the token key came with it.
        let workbook = restored.appendingPathComponent("w.xlsx"), edited = restored.appendingPathComponent("edited.xlsx")
        #expect(try runCLI(["decisions", "workbook", "--root", restored.path, "--county", "63000", "--date", "2026-10-15",
                            "--out", workbook.path] + common).status == 0)
        _ = try pythonOutput([scriptsFolder.appendingPathComponent("edit_decisions.py").path, workbook.path, edited.path, """
            {"decisions": [{"sheet": "申請緩徵名冊", "row": 0, "decision": "核准"}],
             "signoff": {"reviewer": "王承辦", "approver": "李科長", "date": "2026-11-30"}}
            """])
        try FileManager.default.copyItem(at: edited, to: restored.appendingPathComponent("inbox/decisions/63000/edited.xlsx"))
        #expect(try runCLI(["run", "--root", restored.path, "--settle", "0"] + common).status == 0)
        #expect(try count(restored, "SELECT COUNT(*) FROM roster_row WHERE review_state = '核准'") == 1)
    }
}

/// `watch` as the service runs it: it deploys after each publish when the setting says so, and
/// its log is one line per event (what journald keeps), without personal data.
@Suite(.serialized)
struct ServiceLogTests {
    @Test func watchDeploysAfterPublishAndLogsOneLinePerEventWithoutPersonalData() throws {
        let root = try temporaryRoot()
        let seeds = root.appendingPathComponent("seeds")
        try FileManager.default.copyItem(at: seedsFolder, to: seeds)
        let served = try temporaryRoot().appendingPathComponent("served")
        let settings = seeds.appendingPathComponent("settings.csv")
        var text = try String(contentsOf: settings, encoding: .utf8)
        text = text.replacingOccurrences(of: "\ndeploy_target,,", with: "\ndeploy_target,\(served.path),")
            .replacingOccurrences(of: "\ndeploy_after_publish,否,", with: "\ndeploy_after_publish,是,")
        try text.write(to: settings, atomically: true, encoding: .utf8)
        let roster = seedsFolder.appendingPathComponent("rosters/roster-20261015.csv")
        try drop(try Data(contentsOf: roster), as: roster.lastPathComponent, into: .rosters, root: root)

        let p = Process()
        p.executableURL = deferment
        p.arguments = ["watch", "--root", root.path, "--settle", "0", "--templates", templatesFolder.path]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let manifest = served.appendingPathComponent("manifest.json")
        for _ in 0..<300 where !FileManager.default.fileExists(atPath: manifest.path) { Thread.sleep(forTimeInterval: 0.1) }
        p.terminate()
        let log = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        #expect(FileManager.default.fileExists(atPath: served.appendingPathComponent("schools/110000/index.html").path))
        #expect(log.contains("網站已部署"))
        let lines = log.split(separator: "\n")
        #expect(!lines.isEmpty)
        #expect(lines.allSatisfy { $0.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} (trace|debug|info|notice|warning|error|critical) "#,
                                             options: .regularExpression) != nil }, "\(log)")
        let people = try String(contentsOf: roster, encoding: .utf8).split(separator: "\n").dropFirst()
            .map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        for person in people where person.count > 2 {
            #expect(!log.contains(String(person[0])) && !log.contains(String(person[2])), "personal data in the log")
        }
    }
}
