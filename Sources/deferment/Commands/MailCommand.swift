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

struct MailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mail",
        abstract: "Notification e-mails in outbox/mail/ (written by run and watch).",
        subcommands: [Send.self])

    struct Send: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Deliver the messages waiting in outbox/mail/ through a sendmail-compatible program; each goes to sent/ or, "
                + "after its retries, to failed/ with the error beside it.",
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
            let sender = MailSender(spool: MailSpool(root: DeskPaths(root: rootURL).outbox.appendingPathComponent("mail")),
                                    settings: MailSettings(values))
            let s = try sender.sendAll()
            if s.busy { print("另一個寄信程序正在執行，本次未處理。"); throw ExitCode(Exit.lockHeld) }
            print("通知信：寄出 \(s.sent)，稍後重試 \(s.retrying)，等待重試時間 \(s.waiting)，移至 failed/ \(s.failed)")
            if s.failed > 0 { throw ExitCode(Exit.rejected) }
        }
    }
}
