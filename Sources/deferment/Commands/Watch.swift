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
        let logger = options.makeLogger()
        let desk = try options.openDesk(logger: logger)
        intake.apply(to: desk)
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
