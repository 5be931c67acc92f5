import Foundation
import DefermentCore
#if canImport(Glibc)
import Glibc
#endif

/// Set by SIGINT/SIGTERM; polled by the watch loop and long files.
nonisolated(unsafe) private var stopSignalled: sig_atomic_t = 0

/// Waits for files dropped into the inbox with inotify (IN_CLOSE_WRITE, IN_MOVED_TO).
public final class InboxWatcher {
    private let fd: Int32
    private var watches: [Int32: URL] = [:]
    private let decisionsFolder: URL
    /// Paths renamed into the inbox since the last ``takeMovedIn()``: complete files, which are
    /// taken without waiting for them to settle.
    private var movedIn: Set<String> = []

    /// The paths renamed into the inbox since the last call.
    public func takeMovedIn() -> Set<String> {
        defer { movedIn = [] }
        return movedIn
    }

    /// Whether SIGINT or SIGTERM arrived.
    public static var stopRequested: Bool { stopSignalled != 0 }

    /// Installs SIGINT and SIGTERM handlers that request a clean stop.
    public static func installSignalHandlers() {
        signal(SIGINT) { _ in stopSignalled = 1 }
        signal(SIGTERM) { _ in stopSignalled = 1 }
        // A parent may have started us with these signals blocked; unblock them.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// Watches the drop folders of `paths`, and the Maildir's `new/` when given (a message
    /// delivered there is a new input too).
    public init(paths: DeskPaths, maildir: URL? = nil) throws {
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw CocoaError(.featureUnsupported) }
        decisionsFolder = paths.inbox(.decisions)
        for kind in InputKind.allCases {
            let folder = paths.inbox(kind)
            // IN_CREATE on the decisions folder: a new county folder is watched too.
            let wd = inotify_add_watch(fd, folder.path, UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | (kind == .decisions ? IN_CREATE : 0)))
            guard wd >= 0 else { throw CocoaError(.fileReadNoPermission, userInfo: [NSFilePathErrorKey: folder.path]) }
            watches[wd] = folder
        }
        if let maildir {
            let new = maildir.appendingPathComponent("new")
            // Deliverers write in tmp/ and link (IN_CREATE) or rename (IN_MOVED_TO) into new/.
            let wd = inotify_add_watch(fd, new.path, UInt32(IN_CREATE | IN_MOVED_TO))
            if wd >= 0 { watches[wd] = new }
        }
        watchCountyFolders()
    }

    /// Watches every county folder under `inbox/decisions/` (adding a watch twice is harmless).
    private func watchCountyFolders() {
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: decisionsFolder.path)) ?? [] where !name.hasPrefix(".") {
            let url = decisionsFolder.appendingPathComponent(name)
            // Only real county folders: never a link to a folder elsewhere.
            guard PathGate.accepts(name, as: .countyCode), EntryType.of(url.path) == .directory else { continue }
            let wd = inotify_add_watch(fd, url.path, UInt32(IN_CLOSE_WRITE | IN_MOVED_TO))
            if wd >= 0 { watches[wd] = url }
        }
    }

    deinit { close(fd) }

    /// What a wait returned.
    public enum Wake: Equatable {
        /// A file was written or moved in.
        case files
        /// The kernel queue overflowed: rescan everything.
        case overflow
        /// Nothing happened within the timeout.
        case timeout
        /// A signal asked to stop.
        case stop
    }

    /// Waits up to `timeout` seconds for a drop.
    public func wait(timeout: Double) -> Wake {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let r = poll(&pfd, 1, Int32(timeout * 1000))
        if Self.stopRequested { return .stop }
        guard r > 0 else { return .timeout }
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var wake = Wake.timeout
        defer { watchCountyFolders() }
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            var offset = 0
            while offset + MemoryLayout<inotify_event>.size <= n {
                let (wd, mask, len) = buffer.withUnsafeBytes { raw -> (Int32, UInt32, UInt32) in
                    let e = raw.loadUnaligned(fromByteOffset: offset, as: inotify_event.self)
                    return (e.wd, e.mask, e.len)
                }
                if mask & UInt32(IN_MOVED_TO) != 0, len > 0, let folder = watches[wd] {
                    // The name, NUL-padded after the event.
                    let start = offset + MemoryLayout<inotify_event>.size
                    let bytes = buffer[start..<min(n, start + Int(len))].prefix { $0 != 0 }
                    movedIn.insert(folder.appendingPathComponent(String(decoding: bytes, as: UTF8.self)).path)
                }
                if mask & UInt32(IN_Q_OVERFLOW) != 0 { wake = .overflow } else if wake != .overflow { wake = .files }
                offset += MemoryLayout<inotify_event>.size + Int(len)
            }
        }
        return wake
    }
}
