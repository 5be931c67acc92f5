import Foundation
import DefermentFiles
#if canImport(Glibc)
import Glibc
#endif

/// Where everything lives under a root (`--root`), as docs/architecture.md lays it out.
public struct DeskPaths: Sendable {
    public let root: URL
    public init(root: URL) { self.root = root.standardizedFileURL }

    public var inbox: URL { root.appendingPathComponent("inbox") }
    public func inbox(_ kind: InputKind) -> URL { inbox.appendingPathComponent(kind.rawValue) }
    public var outbox: URL { root.appendingPathComponent("outbox") }
    public var rejected: URL { outbox.appendingPathComponent("rejected") }
    /// The static site: upload this folder to any static host.
    public var site: URL { outbox.appendingPathComponent("site") }
    public var state: URL { root.appendingPathComponent("state") }
    public var database: URL { state.appendingPathComponent("deferment.sqlite") }
    public var lockFile: URL { state.appendingPathComponent("deferment.lock") }
    /// Claimed files being processed (Postfix's "active" queue).
    public func active(_ kind: InputKind) -> URL { state.appendingPathComponent("queue/active/\(kind.rawValue)") }
    /// Entries found in the queue that are not regular files, moved out of its way (Postfix's
    /// "hold" queue): the operator looks at them; nothing reads them.
    public func hold(_ kind: InputKind) -> URL { state.appendingPathComponent("queue/hold/\(kind.rawValue)") }
    /// Raw inputs, kept forever.
    public var archive: URL { state.appendingPathComponent("archive") }
    /// Operator reports (no personal data).
    public var reports: URL { state.appendingPathComponent("reports") }
    /// Deferment records for the military-service system (個人資料; not served).
    public var exports: URL { outbox.appendingPathComponent("exports") }
    /// Pieces of decision workbooks kept between site builds (derived data; may be deleted).
    public var legacySiteCache: URL { state.appendingPathComponent("site-cache") }
    /// The key that signs decision workbooks' tokens.
    public var decisionKey: URL { state.appendingPathComponent("decision-token.key") }
    /// A county's drop folder for returned decision workbooks.
    public func decisions(county: String) -> URL { inbox(.decisions).appendingPathComponent(county) }

    /// The key that seals account data keys in the database (``HostKey``).
    public var hostKey: URL { state.appendingPathComponent("host.key") }

    /// Folders holding personal data or keys, owner-only (0700, files 0600) whatever the umask.
    public var privateFolders: [URL] { [state, exports, rejected, outbox.appendingPathComponent("mail")] }

    /// Creates every folder the desk uses: the private ones owner-only (and made so, with
    /// everything in them, when an older desk left them readable), the inbox and the site as the
    /// operator's umask says (senders write into the one, a web server reads the other).
    public func createFolders() throws {
        let shared = 0o777 & ~Desk.operatorUmask
        try AtomicFile.makeFolders(outbox, mode: AtomicFile.folderMode(for: 0o644))
        for f in privateFolders {
            var st = stat()
            let existed = lstat(f.path, &st) == 0
            try AtomicFile.makeFolders(f, mode: 0o700)
            if existed && st.st_mode & 0o077 != 0 { Self.makeOwnerOnly(f) }
        }
        try AtomicFile.makeFolders(site, mode: AtomicFile.folderMode(for: 0o644))
        for kind in InputKind.allCases {
            try AtomicFile.makeFolders(inbox(kind), mode: shared)
            try AtomicFile.makeFolders(active(kind), mode: 0o700)
        }
        for f in [archive, reports] { try AtomicFile.makeFolders(f, mode: 0o700) }
    }

    /// Takes group and other access away from `folder` and everything under it (links are
    /// not followed).
    static func makeOwnerOnly(_ folder: URL) {
        chmod(folder.path, 0o700)
        let walker = FileManager.default.enumerator(atPath: folder.path)
        while let relative = walker?.nextObject() as? String {
            let path = folder.path + "/" + relative
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFDIR: chmod(path, 0o700)
            case S_IFREG: chmod(path, st.st_mode & 0o700)
            default: break
            }
        }
    }
}

/// The kinds of files dropped into `inbox/`, in the order a run applies them.
public enum InputKind: String, CaseIterable, Sendable {
    /// 役政資料: registry extracts, applied first so rosters see the newest registry.
    case registry
    /// 名冊: monthly rosters from the student database.
    case rosters
    /// 審核結果: decision workbooks returned by county staff, one subfolder per county code
    /// (`inbox/decisions/<county>/`).
    case decisions
    /// 帳號維護: contact changes and new passwords (移交).
    case accounts

    /// What the file is, in the words of whoever sent it.
    public var label: String {
        switch self {
        case .registry: return "役政資料"
        case .rosters: return "學生名冊"
        case .decisions: return "縣市政府審核名冊"
        case .accounts: return "帳號維護"
        }
    }
}

/// An exclusive lock on a root, so two `deferment` processes never work on it at once.
public final class RootLock {
    private let fd: Int32

    /// Why the lock could not be taken.
    public struct Held: Error, CustomStringConvertible {
        public var root: String
        public var pid: String
        public var description: String {
            "另一個 deferment 程序（PID \(pid)）正在使用 \(root)，同一目錄同時只能有一個程序處理。請等它結束，或先停止它（例如 systemctl stop deferment-watch）後再試。"
        }
    }

    /// Takes the lock or throws ``Held`` at once (never waits).
    public init(paths: DeskPaths) throws {
        try FileManager.default.createDirectory(at: paths.state, withIntermediateDirectories: true)
        let path = paths.lockFile.path
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CocoaError(.fileWriteNoPermission) }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let pid = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
            close(fd)
            throw Held(root: paths.root.path, pid: pid.isEmpty ? "?" : pid)
        }
        ftruncate(fd, 0)
        let text = "\(getpid())\n"
        _ = text.withCString { write(fd, $0, strlen($0)) }
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}

/// File operations of the queue: atomic renames and atomically written small files.
enum QueueFiles {
    /// A path in `folder` named `name`, or `name (2)`, `name (3)` … if that is taken (by any
    /// entry, a dangling link included).
    static func unusedPath(in folder: URL, name: String) -> URL {
        var candidate = folder.appendingPathComponent(name)
        var n = 2
        let ext = (name as NSString).pathExtension
        let stem = (name as NSString).deletingPathExtension
        while EntryType.of(candidate.path) != .missing {
            candidate = folder.appendingPathComponent(ext.isEmpty ? "\(stem) (\(n))" : "\(stem) (\(n)).\(ext)")
            n += 1
        }
        return candidate
    }

    /// Moves a file by `rename(2)`: atomic within one file system. What the queue kept beside a
    /// claimed file (its original name, its hold note) is dropped once the file has left it.
    static func move(_ from: URL, to: URL) throws {
        try FileManager.default.createDirectory(at: to.deletingLastPathComponent(), withIntermediateDirectories: true)
        if rename(from.path, to.path) != 0 {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: from.path])
        }
        forgetOriginalName(of: from)
        unlink(holdNoteFile(of: from).path)
    }

    /// Removes a claimed file (handled, a copy kept instead) with what is kept beside it.
    static func remove(_ url: URL) throws {
        try FileManager.default.removeItem(at: url)
        forgetOriginalName(of: url)
        unlink(holdNoteFile(of: url).path)
    }

    /// Moves a claimed file within the queue (active ⇄ hold) with what is kept beside it.
    static func carry(_ from: URL, to: URL) throws {
        try FileManager.default.createDirectory(at: to.deletingLastPathComponent(), withIntermediateDirectories: true)
        for (a, b) in [(originalNameFile(of: from), originalNameFile(of: to)), (holdNoteFile(of: from), holdNoteFile(of: to))]
            where EntryType.of(a.path) == .regularFile {
            rename(a.path, b.path)
        }
        if rename(from.path, to.path) != 0 {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: from.path])
        }
    }

    private static func holdNoteFile(of claimed: URL) -> URL {
        claimed.deletingLastPathComponent().appendingPathComponent(".\(claimed.lastPathComponent).hold")
    }

    /// Why a claimed file is on hold and when it is tried again (``HoldNote``).
    static func holdNote(of claimed: URL) -> HoldNote? {
        guard let data = FileManager.default.contents(atPath: holdNoteFile(of: claimed).path) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(HoldNote.self, from: data)
    }

    static func keepHoldNote(_ note: HoldNote, of claimed: URL) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AtomicFile.write(try encoder.encode(note), to: holdNoteFile(of: claimed))
    }

    /// Where the original name of a claimed file is kept when its queue name had to be shortened
    /// or cleaned: a dotfile beside it, which no scan picks up.
    static func originalNameFile(of claimed: URL) -> URL {
        claimed.deletingLastPathComponent().appendingPathComponent(".\(claimed.lastPathComponent).name")
    }

    /// Keeps `name` as the original name of the file about to be claimed as `claimed`.
    static func keepOriginalName(_ name: String, of claimed: URL) throws {
        try AtomicFile.write(Data(name.utf8), to: originalNameFile(of: claimed))
    }

    static func forgetOriginalName(of claimed: URL) {
        unlink(originalNameFile(of: claimed).path)
    }

    /// The name a claimed file was dropped under: the one kept beside it, else its queue name
    /// (`<arrival epoch>-<name>`) without the arrival time.
    static func originalName(ofClaimed url: URL) -> String {
        if let data = FileManager.default.contents(atPath: originalNameFile(of: url).path), !data.isEmpty {
            return String(decoding: data, as: UTF8.self)
        }
        let name = url.lastPathComponent
        guard let dash = name.firstIndex(of: "-"), name[..<dash].allSatisfy(\.isNumber) else { return name }
        return String(name[name.index(after: dash)...])
    }

    /// Writes a file under a temporary name and renames it into place.
    static func writeAtomically(_ text: String, to url: URL) throws {
        try AtomicFile.write(Data(text.utf8), to: url)
    }

    /// Whether a name is one the desk never picks up: dotfiles, `*.part`, `*.tmp`.
    static func isIgnored(_ name: String) -> Bool {
        let lower = name.lowercased()
        return name.hasPrefix(".") || lower.hasSuffix(".part") || lower.hasSuffix(".tmp") || name == "README.md"
    }
}
