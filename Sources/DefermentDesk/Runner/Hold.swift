import Foundation
import DefermentCore
import DefermentFiles

/// Why a file is on hold and when it is tried again (暫緩原因), kept beside it as a dotfile.
struct HoldNote: Codable {
    var reason: String
    var attempts: Int
    var retryAt: Date
}

/// The hold state (暫緩): a claimed file that failed for a reason that is not its content (a
/// full disk, a locked or damaged database) waits in `state/queue/hold/<kind>/` with its reason,
/// and is tried again after a backoff (`hold_retry_seconds`, doubled per attempt, at most a
/// day) instead of on every run. `deferment run --flush` tries every held file at once.
extension Desk {
    /// Puts a claimed file on hold; returns the reason as the run's summary says it.
    func hold(_ url: URL, kind: InputKind, county: String?, error: Error) -> String {
        let previous = QueueFiles.holdNote(of: url)
        let attempts = (previous?.attempts ?? 0) + 1
        let wait = min(holdRetrySeconds * pow(2, Double(attempts - 1)), 86_400)
        let note = HoldNote(reason: String(describing: error), attempts: attempts, retryAt: Date().addingTimeInterval(wait))
        var folder = paths.hold(kind)
        if let county { folder = folder.appendingPathComponent(county) }
        let target = QueueFiles.unusedPath(in: folder, name: url.lastPathComponent)
        do {
            try QueueFiles.carry(url, to: target)
            try QueueFiles.keepHoldNote(note, of: target)
        } catch {
            logger.error("無法移至暫緩區（留在處理佇列）：\(error)")
            return "處理失敗，檔案保留於佇列（\(note.reason)）"
        }
        return "處理失敗，已移至暫緩區 state/queue/hold/，約 \(Int(wait)) 秒後第 \(attempts + 1) 次嘗試（\(note.reason)）"
    }

    /// Moves the held files whose time has come (all of them with `flush`) back into the queue,
    /// where the run takes them as claimed files.
    func releaseHeldFiles(flush: Bool) {
        let now = Date()
        for kind in InputKind.allCases {
            for file in heldFiles(kind) where flush || (QueueFiles.holdNote(of: file.url)?.retryAt ?? .distantPast) <= now {
                var folder = paths.active(kind)
                if let county = file.county { folder = folder.appendingPathComponent(county) }
                try? QueueFiles.carry(file.url, to: QueueFiles.unusedPath(in: folder, name: file.url.lastPathComponent))
            }
        }
    }

    /// When the next held file is due, if any is waiting.
    public func nextHeldRetry() -> Date? {
        InputKind.allCases.flatMap { heldFiles($0) }.compactMap { QueueFiles.holdNote(of: $0.url)?.retryAt }.min()
    }

    /// The regular files on hold with a note (entries moved there for an operator have none).
    private func heldFiles(_ kind: InputKind) -> [(url: URL, county: String?)] {
        FolderEntry.all(in: paths.hold(kind), countyFolders: kind == .decisions)
            .filter { $0.type == .regularFile && QueueFiles.holdNote(of: $0.url) != nil }
            .map { ($0.url, $0.county) }
    }
}
