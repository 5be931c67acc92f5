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
        discussion: "Drop rosters into inbox/rosters/, registry extracts into inbox/registry/ and counties' returned decision "
            + "workbooks into inbox/decisions/<county code>/, then run or watch.\n\n" + Exit.help,
        subcommands: [Run.self, Watch.self, Check.self, Report.self, Publish.self, Serve.self, AccountCommand.self, DecisionsCommand.self,
                      MailCommand.self, Demo.self, Samples.self, Init.self, Deploy.self, Backup.self, Restore.self, Purge.self,
                      InventoryCommand.self])
}

/// Runs a command's work; a failure is written to stderr after `what` (e.g. 備份失敗) and the
/// command exits 4.
func failing(_ what: String, explain: (Error) -> String = { "\($0)" }, _ body: () throws -> Void) throws {
    do {
        try body()
    } catch {
        FileHandle.standardError.write(Data("\(what)：\(explain(error))\n".utf8))
        throw ExitCode(Exit.failed)
    }
}

/// Options of the commands that take files from the inbox (`run`, `watch`).
struct IntakeOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Seconds a file written in place must stay closed and unchanged before it is claimed (default: "
                               + "settle_seconds of settings.csv, else 3). A file renamed into the inbox is taken at once."))
    var settle: Double?

    func apply(to desk: Desk) {
        if let settle { desk.settleSeconds = settle }
    }
}

