import ArgumentParser
import Crypto
import DefermentCore
import DefermentDesk
import DefermentFiles
import DefermentSite
import DefermentStore
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Exit codes shared by the commands.
enum Exit {
    static let ok: Int32 = 0
    static let rejected: Int32 = 1
    static let lockHeld: Int32 = 3
    static let failed: Int32 = 4

    static let help = """
    結束代碼 (exit codes):
      0  all files processed (or nothing waiting)
      1  at least one file was rejected (see outbox/rejected/)
      3  another deferment process holds this root (state/deferment.lock)
      4  a file could not be processed for another reason (left queued), or bad seeds
      64 usage error
    """
}

struct RootOptions: ParsableArguments {
    @Option(name: .long, help: "The desk's root folder (inbox/, outbox/, state/).")
    var root: String = "."

    @Option(name: .long, help: "Reference data folder (default: <root>/seeds).")
    var seeds: String?

    @Option(name: .long, help: "Page templates folder (default: <root>/templates).")
    var templates: String?

    @Flag(name: .long, help: "Log debug details to stderr.")
    var verbose = false

    var rootURL: URL { URL(fileURLWithPath: root) }
    var seedsURL: URL? { seeds.map { URL(fileURLWithPath: $0) } }
    var templatesURL: URL? { templates.map { URL(fileURLWithPath: $0) } }

    func makeLogger() -> Logger {
        let level: Logger.Level = verbose ? .debug : .info
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        return Logger(label: "deferment")
    }

    /// Opens the desk, turning the lock and seed errors into their exit codes.
    func openDesk(logger: Logger) throws -> Desk {
        // Times the database records ("localtime") are the desk's own, Taiwan's, unless the
        // operator set TZ.
        setenv("TZ", "Asia/Taipei", 0)
        tzset()
        do {
            return try Desk(root: rootURL, seeds: seedsURL, templates: templatesURL, logger: logger)
        } catch let held as RootLock.Held {
            FileHandle.standardError.write(Data((held.description + "\n").utf8))
            throw ExitCode(Exit.lockHeld)
        } catch let seed as SeedError {
            FileHandle.standardError.write(Data((seed.description + "\n").utf8))
            throw ExitCode(Exit.failed)
        }
    }
}

@main
struct Deferment: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deferment",
        abstract: "在學緩徵作業 (高中職) — the file-drop deferment desk.",
        discussion: "Drop rosters into inbox/rosters/, registry extracts into inbox/registry/ and counties' returned decision workbooks into inbox/decisions/<county code>/, then run or watch.\n\n" + Exit.help,
        subcommands: [Run.self, Watch.self, Check.self, Report.self, Publish.self, Serve.self, AccountCommand.self, DecisionsCommand.self, MailCommand.self, Demo.self, Samples.self])
}

/// Prints a run's summary and returns its exit code.
func printSummary(_ summary: RunSummary) -> Int32 {
    if summary.files.isEmpty { print("沒有待處理的檔案。"); return Exit.ok }
    for f in summary.files {
        let label = f.kind.label
        // A file name from outside, on one line (a newline in it cannot forge a line).
        let name = ShownText.escaped(f.name)
        switch f.result {
        case .applied(let line): print("✔ \(label) \(name)：\(line)")
        case .duplicate(let why): print("＝ \(label) \(name)：\(why)")
        case .rejected(let r): print("✘ \(label) \(name)：退件。\(r.problem) 說明已放在 outbox/rejected/。")
        case .stillGrowing: print("… \(label) \(name)：檔案仍在寫入中，留待下次處理。")
        case .failed(let why): print("! \(label) \(name)：處理失敗，檔案保留於佇列（\(why)）")
        }
    }
    if summary.rejectedCount > 0 { return Exit.rejected }
    if summary.failedCount > 0 { return Exit.failed }
    return Exit.ok
}

/// Progress on a terminal: rows read so far, redrawn in place.
func terminalProgress() -> (String, Int) -> Void {
    guard isatty(STDERR_FILENO) != 0 else { return { _, _ in } }
    return { name, rows in
        FileHandle.standardError.write(Data("\r處理中 \(ShownText.escaped(name))：已讀 \(rows) 列\u{1B}[K".utf8))
    }
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Process every waiting file once, print a summary and exit.",
        discussion: Exit.help)

    @OptionGroup var options: RootOptions
    @Option(help: "Seconds a file written in place must stay closed and unchanged before it is claimed (default: settle_seconds of settings.csv, else 3). A file renamed into the inbox is taken at once.")
    var settle: Double?
    @Flag(help: "Do not regenerate the site afterwards.")
    var noSite = false
    @Flag(help: "Try every file on hold (state/queue/hold/) now, not only those whose retry time has come.")
    var flush = false

    func run() throws {
        let logger = options.makeLogger()
        let desk = try options.openDesk(logger: logger)
        if let settle { desk.settleSeconds = settle }
        InboxWatcher.installSignalHandlers()
        let progress = terminalProgress()
        let summary = try desk.runOnce(flush: flush, progress: progress, shouldStop: { InboxWatcher.stopRequested })
        if isatty(STDERR_FILENO) != 0 { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        let code = printSummary(summary)
        if !noSite { try publish(desk) }
        if code != Exit.ok { throw ExitCode(code) }
    }
}

struct Watch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Keep processing files as they are dropped (inotify); stop with SIGINT or SIGTERM.",
        discussion: Exit.help)

    @OptionGroup var options: RootOptions
    @Option(help: "Seconds a file written in place must stay closed and unchanged before it is claimed (default: settle_seconds of settings.csv, else 3). A file renamed into the inbox is taken at once.")
    var settle: Double?

    func run() throws {
        let logger = options.makeLogger()
        let desk = try options.openDesk(logger: logger)
        if let settle { desk.settleSeconds = settle }
        desk.maximumSettleWait = 2
        InboxWatcher.installSignalHandlers()
        let watcher = try InboxWatcher(paths: desk.paths)
        logger.info("監看 \(desk.paths.inbox.path)")
        var rescan = true // a full rescan at start
        var firstPass = true
        let mail = BackgroundMail()
        var pendingGrowth = false
        while !InboxWatcher.stopRequested {
            if rescan || pendingGrowth {
                desk.renamedIn.formUnion(watcher.takeMovedIn())
                let summary = try desk.runOnce(shouldStop: { InboxWatcher.stopRequested })
                pendingGrowth = summary.files.contains { $0.result == .stillGrowing }
                if !summary.files.isEmpty { _ = printSummary(summary) }
                if firstPass || summary.files.contains(where: { if case .applied = $0.result { return true }; return false }) {
                    do { try desk.publishSite() } catch { logger.error("網站更新失敗：\(SiteFailure.explain(error))") }
                    firstPass = false
                }
                rescan = false
            }
            // Delivery runs beside processing, never in its way: a pass whenever messages wait
            // (also those spooled while the previous pass was still running, and retries).
            let spool = MailSpool(root: desk.mailSpool)
            if !spool.ready().isEmpty {
                mail.start(MailSender(spool: spool, settings: desk.mailSettings), logger: logger)
            }
            switch watcher.wait(timeout: pendingGrowth ? 0.5 : 1.0) {
            case .files, .overflow: rescan = true
            case .timeout: if let due = desk.nextHeldRetry(), due <= Date() { rescan = true }
            case .stop: break
            }
        }
        mail.wait()
        logger.info("收到停止信號，已結束監看")
    }
}

/// Regenerates the site and says where it is.
func publish(_ desk: Desk, force: Bool = false) throws {
    do {
        let r = try desk.publishSite(force: force)
        print("網站：\(desk.paths.site.path)（寫入 \(r.written) 個檔案，重繪 \(r.schoolsRendered) 校，沿用 \(r.schoolsKept) 校）")
    } catch {
        FileHandle.standardError.write(Data("網站產生失敗：\(SiteFailure.explain(error))\n".utf8))
        throw ExitCode(Exit.failed)
    }
}

struct Publish: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Regenerate the static site in outbox/site/ (only what changed, unless --force).",
        discussion: Exit.help)

    @OptionGroup var options: RootOptions
    @Flag(help: "Render every page again, even if its inputs did not change.") var force = false

    func run() throws {
        let desk = try options.openDesk(logger: options.makeLogger())
        try publish(desk, force: force)
    }
}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Preview outbox/site/ on http://127.0.0.1:PORT/ (loopback only); stop with Ctrl-C.",
        discussion: Exit.help)

    @Option(name: .long, help: "The desk's root folder.") var root: String = "."
    @Option(help: "Port on 127.0.0.1 (0 picks a free one).") var port: UInt16 = 8080

    func run() throws {
        let site = DeskPaths(root: URL(fileURLWithPath: root)).site
        guard FileManager.default.fileExists(atPath: site.appendingPathComponent("index.html").path) else {
            FileHandle.standardError.write(Data("尚未產生網站（\(site.path)），請先執行 deferment run 或 deferment publish。\n".utf8))
            throw ExitCode(Exit.failed)
        }
        InboxWatcher.installSignalHandlers()
        let server = PreviewServer(root: site, port: port)
        let bound = try server.bind()
        print("預覽網站：http://127.0.0.1:\(bound)/index.html（Ctrl-C 結束）")
        fflush(nil)
        server.serve(shouldStop: { InboxWatcher.stopRequested })
    }
}

struct AccountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "account",
        abstract: "School and county query accounts: list, set a password, change contact details (移交).",
        subcommands: [List.self, SetPassword.self, SetContact.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the accounts (no passwords or keys).", discussion: Exit.help)
        @OptionGroup var options: RootOptions
        func run() throws {
            let desk = try options.openDesk(logger: options.makeLogger())
            try desk.ensureAccounts()
            print("帳號\t類別\t聯絡人\t電子郵件\t通知\t密碼設定時間")
            for a in try desk.accounts() {
                print("\(a.code)\t\(a.kind == .school ? "學校" : "縣市")\t\(a.contactName)\t\(a.contactEmail)\t\(a.notify ? "是" : "否")\t\(a.passwordSetAt)")
            }
        }
    }

    struct SetPassword: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-password",
            abstract: "Set an account's password (read from stdin, or prompted on a terminal). Takes effect at the next publish.",
            discussion: "At least \(Desk.minimumPasswordLength) characters. The account's pages are not re-encrypted; only its key.json changes.\n\n" + Exit.help)
        @OptionGroup var options: RootOptions
        @Argument(help: "School code or county code.") var code: String
        func run() throws {
            let desk = try options.openDesk(logger: options.makeLogger())
            try desk.ensureAccounts()
            var password: String
            if isatty(STDIN_FILENO) != 0 {
                guard let p = getpass("新密碼："), let again = getpass("再輸入一次：") else { throw ExitCode(Exit.failed) }
                password = String(cString: p)
                guard password == String(cString: again) else { print("兩次輸入不一致。"); throw ExitCode(Exit.failed) }
            } else {
                password = readLine(strippingNewline: true) ?? ""
            }
            do {
                try desk.setPassword(code: code, password: password)
                try publish(desk)
                print("帳號 \(code) 的密碼已變更；舊密碼已失效。")
            } catch let e as AccountError {
                FileHandle.standardError.write(Data((e.description + "\n").utf8))
                throw ExitCode(Exit.failed)
            }
        }
    }

    struct SetContact: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-contact",
            abstract: "Change an account's contact name, e-mail and notification choice.", discussion: Exit.help)
        @OptionGroup var options: RootOptions
        @Argument(help: "School code or county code.") var code: String
        @Option(help: "Contact person (承辦人).") var name: String?
        @Option(help: "Contact e-mail.") var email: String?
        @Option(help: "Receive notification e-mails: on or off.") var notify: String?
        func validate() throws {
            if let notify, notify != "on" && notify != "off" { throw ValidationError("--notify takes on or off.") }
        }
        func run() throws {
            let desk = try options.openDesk(logger: options.makeLogger())
            try desk.ensureAccounts()
            do {
                try desk.setContact(code: code, name: name, email: email, notify: notify.map { $0 == "on" })
                print("帳號 \(code) 的聯絡資料已更新。")
            } catch let e as AccountError {
                FileHandle.standardError.write(Data((e.description + "\n").utf8))
                throw ExitCode(Exit.failed)
            }
        }
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Dry run: print what would happen to each row of a roster. Changes nothing.",
        discussion: "IDs are masked in the output.\n\n" + Exit.help)

    @OptionGroup var options: RootOptions
    @Argument(help: "The roster file (CSV or XLSX).")
    var file: String

    func run() throws {
        _ = options.makeLogger()
        let paths = DeskPaths(root: options.rootURL)
        let seeds = options.seedsURL ?? paths.root.appendingPathComponent("seeds")
        let reference: ReferenceData
        do { reference = try ReferenceData.load(from: seeds) } catch let e as SeedError {
            FileHandle.standardError.write(Data((e.description + "\n").utf8)); throw ExitCode(Exit.failed)
        }
        // Read the registry from the root's database if there is one (read-only), else from seeds.
        let store: DeskStore
        if FileManager.default.fileExists(atPath: paths.database.path) {
            store = try DeskStore(readOnlyPath: paths.database.path)
        } else {
            store = try DeskStore(path: nil)
            try store.queue.write { db in
                for url in reference.registryFiles { _ = try RegistryIntake(reference: reference).apply(db, fileID: nil, url: url) { _ in } }
            }
        }
        let url = URL(fileURLWithPath: file)
        var counts: [String: Int] = [:]
        do {
            let result = try store.queue.read { db in
                try RosterIntake(reference: reference).assess(url: url, originalName: url.lastPathComponent, arrivalDay: CivilDate(year: 2000, month: 1, day: 1)!,
                                                              lookup: try PersonLookup(db)) { row, _ in
                    let county = row.assessment.countyCode.flatMap { reference.counties.county(code: $0)?.name } ?? ""
                    let detail = row.assessment.summary
                    print("第 \(row.sourceRow) 列\t\(NationalID.masked(row.parsed.nationalID))\t\(row.rosterKind.rawValue)\t\(row.assessment.state.rawValue)\t\(county)\t\(detail)")
                    counts[row.assessment.state.rawValue, default: 0] += 1
                }
            }
            print("格式：\(result.format)；上傳日期來源：\(result.source.rawValue)")
            print(ReviewState.allCases.compactMap { s in counts[s.rawValue].map { "\(s.rawValue) \($0)" } }.joined(separator: "，"))
        } catch let r as FileRejection {
            print("此檔案將被退件：\(r.problem)\n處理方式：\(r.fix)")
            throw ExitCode(Exit.rejected)
        }
    }
}

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write one school's or one county's roster rows as CSV to stdout.",
        discussion: "Columns: " + RosterReport.columns.joined(separator: ", ") + "\n\n" + Exit.help)

    @OptionGroup var options: RootOptions
    @Option(help: "School code (學校代碼).") var school: String?
    @Option(help: "County code (縣市代碼), e.g. 63000.") var county: String?
    @Option(help: "Output format; only csv.") var format: String = "csv"

    func validate() throws {
        guard (school == nil) != (county == nil) else { throw ValidationError("Give exactly one of --school or --county.") }
        guard format == "csv" else { throw ValidationError("Only --format csv is supported.") }
    }

    func run() throws {
        _ = options.makeLogger()
        let paths = DeskPaths(root: options.rootURL)
        guard FileManager.default.fileExists(atPath: paths.database.path) else {
            FileHandle.standardError.write(Data("此目錄尚無資料庫（\(paths.database.path)），請先執行 deferment run。\n".utf8))
            throw ExitCode(Exit.failed)
        }
        let store = try DeskStore(readOnlyPath: paths.database.path)
        var scope = RosterReport.Scope.school(school ?? "")
        if let county {
            let seeds = options.seedsURL ?? paths.root.appendingPathComponent("seeds")
            let code = (try? ReferenceData.load(from: seeds))?.counties.normalise(county) ?? county
            scope = .county(code)
        }
        var out = ""
        try RosterReport.writeCSV(store: store, scope: scope) { line in
            out += line
            if out.utf8.count > 1 << 16 { FileHandle.standardOutput.write(Data(out.utf8)); out = "" }
        }
        FileHandle.standardOutput.write(Data(out.utf8))
    }
}

struct DecisionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decisions",
        abstract: "County decision workbooks (審核名冊): write one, read a returned one, export deferment records.",
        subcommands: [Workbook.self, Read.self, Export.self, Synthetic.self])

    struct Workbook: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a county's decision workbook for one upload date, unencrypted (it holds personal data: hand it only to that county).",
            discussion: Exit.help)
        @OptionGroup var options: RootOptions
        @Option(help: "County code, e.g. 63000.") var county: String
        @Option(help: "Upload date, YYYY-MM-DD.") var date: String
        @Option(help: "Output file.") var out: String
        func run() throws {
            let desk = try options.openDesk(logger: options.makeLogger())
            guard let day = CivilDate.parse(date) else { print("無法辨識的日期：\(date)"); throw ExitCode(64) }
            let n = try desk.writeDecisionWorkbook(county: county, uploadDate: day, to: URL(fileURLWithPath: out))
            print("已寫出 \(out)：\(n) 列")
        }
    }

    struct Read: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read a returned decision workbook (XLSX, or CSV exported from it) with the streaming reader and print what it holds; changes nothing.")
        @Argument(help: "The file.") var file: String
        @OptionGroup var options: RootOptions
        func run() throws {
            do {
                let r = try ReturnedDecisions.read(URL(fileURLWithPath: file))
                let decided = r.rows.filter { !$0.decision.trimmingSpaces().isEmpty }.count
                print("格式 \(r.format)：資料列 \(r.rows.count)，已填審核結果 \(decided)，驗證碼\(tokenState(r.tokenText))，"
                      + (r.signOff.isFinal ? "已核定（\(r.signOff.approvedOn!.roc)）" : "未核定（陳核中）"))
            } catch let e as TableFileError {
                print("無法讀取：\(e.problem) \(e.fix)")
                throw ExitCode(Exit.rejected)
            }
        }

        /// The token checked against the root's key, read without taking the root's lock (a
        /// running `watch` does not stop this command).
        func tokenState(_ text: String?) -> String {
            guard let text else { return "缺" }
            let keyFile = DeskPaths(root: options.rootURL).decisionKey
            guard let key = FileManager.default.contents(atPath: keyFile.path), key.count == 32 else { return "有（未檢查：此根目錄沒有驗證金鑰）" }
            guard let token = DecisionToken.verify(text, key: SymmetricKey(data: key)) else { return "無效" }
            return "有效（縣市 \(token.county)，上傳日期 \(token.uploadDate.roc)）"
        }
    }

    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write outbox/exports/deferment-records.csv (every deferment record, for the military-service system).",
            discussion: Exit.help)
        @OptionGroup var options: RootOptions
        func run() throws {
            let desk = try options.openDesk(logger: options.makeLogger())
            print("已寫出 \(try desk.exportDefermentRecords().path)")
        }
    }

    struct Synthetic: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Benchmark input: write a decision workbook of N made-up rows (no database) to --out.")
        @Option(help: "Rows.") var rows: Int = 100_000
        @Option(help: "Output file.") var out: String
        @Flag(help: "Fill in every row's decision (as a returned workbook).") var decided = false
        func run() throws {
            let list = DecisionSamples.rows(rows)
            let token = DecisionToken(county: "63000", uploadDate: CivilDate(year: 2026, month: 11, day: 15)!)
            let key = DecisionSamples.benchmarkKey
            try DecisionWorkbook.write(to: out, countyName: "臺北市", token: token, tokenText: token.signed(with: key), rows: list,
                                       fill: decided ? { r in RowDecision(word: r.id % 7 == 0 ? .refuse : .approve, comment: r.id % 7 == 0 ? "資料不符，請學校查明" : "") } : nil,
                                       signOff: decided ? SignOff(reviewer: "王承辦", approver: "李科長", approvedOn: CivilDate(year: 2026, month: 11, day: 30)) : nil)
            print("已寫出 \(out)：\(rows) 列")
        }
    }
}

/// Runs mail delivery on a thread of its own, one pass at a time.
final class BackgroundMail: @unchecked Sendable {
    private let lock = NSLock()
    private var running = false
    private let group = DispatchGroup()

    func start(_ sender: MailSender, logger: Logger) {
        lock.lock()
        defer { lock.unlock() }
        guard !running else { return }
        running = true
        group.enter()
        Thread.detachNewThread { [self] in
            defer { lock.lock(); running = false; lock.unlock(); group.leave() }
            do {
                let s = try sender.sendAll()
                if s.sent + s.failed + s.retrying > 0 {
                    logger.info("通知信：寄出 \(s.sent)，稍後重試 \(s.retrying)，失敗 \(s.failed)（見 outbox/mail/failed/）")
                }
            } catch {
                logger.error("通知信投遞失敗：\(error)")
            }
        }
    }

    /// Waits for a pass in progress to finish.
    func wait() { group.wait() }
}

struct MailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mail",
        abstract: "Notification e-mails in outbox/mail/ (written by run and watch).",
        subcommands: [Send.self])

    struct Send: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Deliver the messages waiting in outbox/mail/ through a sendmail-compatible program; each goes to sent/ or, after its retries, to failed/ with the error beside it.",
            discussion: """
            The program (default: mail_command in seeds/settings.csv, "msmtp -t") reads the message on stdin and takes the \
            recipients from its headers. A message whose hand-over was interrupted is moved to failed/ rather than sent twice.
            Exit codes: 0 nothing failed, 1 a message was moved to failed/, 3 another sender is running.
            """)
        @Option(name: .long, help: "The desk's root folder.") var root: String = "."
        @Option(name: .long, help: "Reference data folder (default: <root>/seeds).") var seeds: String?
        @Option(help: "The sendmail-compatible command, e.g. \"msmtp --host=127.0.0.1 --port=2525 -t\".") var command: String?
        @Option(help: "Attempts before a message goes to failed/.") var maxAttempts: Int?
        @Option(help: "Seconds before the first retry (doubled each time).") var retrySeconds: Double?

        func run() throws {
            let rootURL = URL(fileURLWithPath: root)
            let reference = try ReferenceData.load(from: seeds.map { URL(fileURLWithPath: $0) } ?? rootURL.appendingPathComponent("seeds"))
            var values = reference.settings
            if let command { values["mail_command"] = command }
            if let maxAttempts { values["mail_max_attempts"] = String(maxAttempts) }
            if let retrySeconds { values["mail_retry_seconds"] = String(retrySeconds) }
            let sender = MailSender(spool: MailSpool(root: DeskPaths(root: rootURL).outbox.appendingPathComponent("mail")), settings: MailSettings(values))
            let s = try sender.sendAll()
            if s.busy { print("另一個寄信程序正在執行，本次未處理。"); throw ExitCode(Exit.lockHeld) }
            print("通知信：寄出 \(s.sent)，稍後重試 \(s.retrying)，等待重試時間 \(s.waiting)，移至 failed/ \(s.failed)")
            if s.failed > 0 { throw ExitCode(Exit.rejected) }
        }
    }
}

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reset a demo root and play a full month: month-1 roster, counties' decisions (some signed off, one county only 陳核中), month-2 roster; print a summary.",
        discussion: Exit.help)

    @Option(help: "The demo root; it is wiped first.") var root: String = "demo"
    @Option(help: "Reference data and samples.") var seeds: String = "seeds"
    @Option(help: "Page templates.") var templates: String = "templates"

    func run() throws {
        let rootURL = URL(fileURLWithPath: root)
        let fm = FileManager.default
        for sub in ["inbox", "outbox", "state"] { try? fm.removeItem(at: rootURL.appendingPathComponent(sub)) }
        try DeskPaths(root: rootURL).createFolders()
        let seedsURL = URL(fileURLWithPath: seeds)
        let rosters = try fm.contentsOfDirectory(atPath: seedsURL.appendingPathComponent("rosters").path).sorted()
        var options = try RootOptions.parse(["--root", root, "--seeds", seeds, "--templates", templates])
        options.verbose = false
        let desk = try options.openDesk(logger: options.makeLogger())
        desk.settleSeconds = 0
        func drop(_ name: String) throws {
            try fm.copyItem(at: seedsURL.appendingPathComponent("rosters/\(name)"), to: rootURL.appendingPathComponent("inbox/rosters/\(name)"))
        }

        print("【第 1 個月】學生名冊 \(rosters.first ?? "")")
        if let first = rosters.first { try drop(first) }
        _ = printSummary(try desk.runOnce())

        print("\n【縣市審核】各縣市下載審核名冊、填寫後放回 inbox/decisions/<縣市代碼>/")
        let filled = try DemoCounties.fillDecisionWorkbooks(desk: desk)
        for line in filled { print("  " + line) }
        _ = printSummary(try desk.runOnce())

        for name in rosters.dropFirst() {
            print("\n【下一個月】學生名冊 \(name)")
            try drop(name)
            _ = printSummary(try desk.runOnce())
        }

        print("\n依結果統計：")
        let rows = try desk.store.queue.read { db in
            try (String.fetchAll(db, sql: "SELECT review_state || '\t' || COUNT(*) FROM roster_row GROUP BY review_state ORDER BY 1"),
                 String.fetchAll(db, sql: "SELECT COALESCE(reason, '') || '\t' || COUNT(*) FROM roster_row WHERE reason IS NOT NULL GROUP BY reason ORDER BY 1"),
                 String.fetchAll(db, sql: """
                    SELECT c.name || '\t' || COUNT(*) FROM roster_row r JOIN county c ON c.code = r.county_code
                    GROUP BY c.code ORDER BY COUNT(*) DESC, c.code
                    """),
                 Int.fetchOne(db, sql: "SELECT COUNT(*) FROM roster_row WHERE draft_decision IS NOT NULL") ?? 0,
                 Int.fetchOne(db, sql: "SELECT COUNT(*) FROM deferment_record WHERE status = 'active'") ?? 0)
        }
        for line in rows.0 { print("  " + line) }
        print("  陳核中（待核定）\t\(rows.3)")
        print("不分派原因：")
        for line in rows.1 { print("  " + line) }
        print("依分派縣市統計：")
        for line in rows.2 { print("  " + line) }
        print("有效緩徵註記：\(rows.4) 筆（outbox/exports/deferment-records.csv）")
        print("")
        try publish(desk)
        let index = desk.paths.site.appendingPathComponent("index.html").path
        print("""

        示範帳號與初始密碼（學校代碼或縣市代碼；正式環境只交給承辦人一次，見 \(desk.initialPasswordsFile.path)）：
        \((try? String(contentsOf: desk.initialPasswordsFile, encoding: .utf8)) ?? "")
        開啟網站：執行 .build/debug/deferment serve --root \(root) 後以瀏覽器開啟 http://127.0.0.1:8080/
                  （含個人資料的頁面已加密，需在 https 或本機網址輸入帳號密碼解密；不含個資的頁面亦可直接開啟 \(index)）
        縣市審核：縣市頁面（counties/<縣市代碼>/）登入後下載審核名冊；處理紀錄與退件說明見該頁及 outbox/rejected/decisions/
        通知信：\(((try? FileManager.default.contentsOfDirectory(atPath: desk.mailSpool.path)) ?? []).filter { $0.hasSuffix(".eml") }.count) 封在 \(desk.mailSpool.path)（僅統計數字與連結）；以 deferment mail send --root \(root) 寄出（msmtp）
        匯出報表：.build/debug/deferment report --root \(root) --school \(desk.reference.schools.first?.code ?? "") --format csv
        """)
    }
}

struct Samples: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Regenerate the deterministic sample files (seeds) or a bulk benchmark input.")

    @Option(name: .long, help: "The desk's root folder; --seeds and --out are relative to it.") var root: String = "."
    @Option(help: "Folder with counties.csv (read) and where samples go.") var seeds: String = "seeds"
    @Option(help: "Bulk mode: number of roster rows (writes --out/roster-20261115.csv and registry.csv).") var rows: Int?
    @Option(help: "Bulk mode: number of schools.") var schools: Int = 500
    @Option(help: "Bulk mode: output folder.") var out: String = "bench/out"
    @Option(help: "Random seed.") var seed: UInt64 = 20261115

    func run() throws {
        let rootURL = URL(fileURLWithPath: root)
        let seedsURL = URL(fileURLWithPath: seeds, relativeTo: rootURL)
        let counties = try ReferenceData.loadCounties(from: seedsURL)
        var generator = SampleGenerator(seed: seed, counties: counties)
        if let rows {
            let outURL = URL(fileURLWithPath: out, relativeTo: rootURL)
            try FileManager.default.createDirectory(at: outURL, withIntermediateDirectories: true)
            try generator.writeBulk(rows: rows, schoolCount: schools,
                                    roster: outURL.appendingPathComponent("roster-20261115.csv"),
                                    registry: outURL.appendingPathComponent("registry.csv"))
            print("已產生 \(rows) 列名冊與對應役政資料於 \(out)")
        } else {
            try generator.writeSeedSamples(to: seedsURL)
            print("已重新產生範例資料於 \(seeds)")
        }
    }
}
