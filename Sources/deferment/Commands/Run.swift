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

/// Prints a run's summary and returns its exit code.
func printSummary(_ summary: RunSummary) -> Int32 {
    for line in summary.lines { print(line) }
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
    @OptionGroup var intake: IntakeOptions
    @Flag(help: "Do not regenerate the site afterwards.")
    var noSite = false
    @Flag(help: "Try every file on hold (state/queue/hold/) now, not only those whose retry time has come.")
    var flush = false

    func run() throws {
        let logger = options.makeLogger()
        let desk = try options.openDesk(logger: logger)
        intake.apply(to: desk)
        InboxWatcher.installSignalHandlers()
        let progress = terminalProgress()
        let summary = try desk.runOnce(flush: flush, progress: progress, shouldStop: { InboxWatcher.stopRequested })
        if isatty(STDERR_FILENO) != 0 { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        let code = printSummary(summary)
        if !noSite { try publish(desk) }
        if code != Exit.ok { throw ExitCode(code) }
    }
}
