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

struct Watch: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Keep processing files as they are dropped (inotify); stop with SIGINT or SIGTERM.",
        discussion: Exit.help)

    @OptionGroup var options: RootOptions
    @OptionGroup var intake: IntakeOptions

    func run() throws {
        let desk = try options.openDesk(logger: options.makeLogger())
        intake.apply(to: desk)
        InboxWatcher.installSignalHandlers()
        try desk.watch(report: { _ = printSummary($0) })
    }
}
