import Foundation
import DefermentCore
import Logging
import DefermentSite

extension Desk {
    /// Keeps processing files as they arrive (`deferment watch`) until SIGINT or SIGTERM: a run
    /// at start, then on every inotify event, while a file is still being written, and when a
    /// held file is due; the site after each run that applied a file, then the notifications it
    /// announces (so a message never points at a page not yet published); mail delivery beside it,
    /// on a thread of its own, so processing never waits for it. `report` prints a run's summary.
    public func watch(report: (RunSummary) -> Void) throws {
        maximumSettleWait = 2
        let watcher = try InboxWatcher(paths: paths, maildir: mailInbox)
        logger.info("監看 \(paths.inbox.path)")
        var rescan = true // a full rescan at start
        var firstPass = true
        let mail = BackgroundMail()
        var pendingGrowth = false
        var lastPurge: CivilDate?
        while !InboxWatcher.stopRequested {
            if rescan || pendingGrowth { try mail.pausing {
                renamedIn.formUnion(watcher.takeMovedIn())
                // Notifications are spooled once the pages they announce are published.
                let summary = try runOnce(shouldStop: { InboxWatcher.stopRequested }, spoolsMail: false)
                pendingGrowth = summary.files.contains { $0.result == .stillGrowing }
                if !summary.files.isEmpty { report(summary) }
                var published = false
                if firstPass || summary.files.contains(where: { if case .applied = $0.result { return true }; return false }) {
                    do {
                        try publishSite()
                        published = true
                    } catch {
                        logger.error("網站更新失敗：\(SiteFailure.explain(error))")
                    }
                    firstPass = false
                }
                spoolNotifications()
                if published { deployIfAsked() }
                rescan = false
            } }
            purgeDaily(lastDay: &lastPurge)
            // Delivery runs beside processing, never in its way: a pass whenever messages wait
            // (also those spooled while the previous pass was still running, and retries).
            let spool = MailSpool(root: mailSpool)
            if !spool.ready().isEmpty {
                mail.start(MailSender(spool: spool, settings: mailSettings), logger: logger)
            }
            switch watcher.wait(timeout: pendingGrowth ? 0.5 : 1.0) {
            case .files, .overflow: rescan = true
            case .timeout: if let due = nextHeldRetry(), due <= Date() { rescan = true }
            case .stop: break
            }
        }
        mail.wait()
        logger.info("收到停止信號，已結束監看")
    }

    /// Deploys the site after a publish when `deploy_after_publish` says so; a failure is logged
    /// and the next publish tries again.
    func deployIfAsked() {
        guard deploysAfterPublish, let deploy = siteDeploy() else { return }
        do {
            let plan = try deploy.run()
            logger.info("網站已部署：傳送 \(plan.sent) 個檔案，刪除 \(plan.deletions.count) 個")
        } catch {
            logger.error("網站部署失敗（下次更新後重試）：\(error)")
        }
    }
}
