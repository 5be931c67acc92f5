import Foundation
import Logging

/// Runs mail delivery on a thread of its own, one pass at a time.
final class BackgroundMail: @unchecked Sendable {
    private let lock = NSLock()
    private var running = false
    private let group = DispatchGroup()
    /// Held while the desk processes files or publishes: no message is handed over meanwhile
    /// (on a server of two cores, a backlog of retries would otherwise slow the publish).
    private let desk = NSCondition()
    private var busy = false

    /// Runs `work` with delivery paused before the next message.
    func pausing<T>(_ work: () throws -> T) rethrows -> T {
        desk.lock(); busy = true; desk.unlock()
        defer { desk.lock(); busy = false; desk.broadcast(); desk.unlock() }
        return try work()
    }

    private func waitWhileBusy() {
        desk.lock()
        while busy { desk.wait() }
        desk.unlock()
    }

    func start(_ sender: MailSender, logger: Logger) {
        lock.lock()
        defer { lock.unlock() }
        guard !running else { return }
        running = true
        group.enter()
        Thread.detachNewThread { [self] in
            defer { lock.lock(); running = false; lock.unlock(); group.leave() }
            do {
                let s = try sender.sendAll(beforeEach: waitWhileBusy)
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
