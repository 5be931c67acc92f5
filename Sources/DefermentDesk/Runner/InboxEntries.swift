import Crypto
import Foundation
import DefermentCore
#if canImport(Glibc)
import Glibc
#endif

/// What a directory entry of the inbox is, told by `lstat` (never following a link): only a
/// regular file is ever claimed; anything else is reported and left where it is.
enum EntryType: Equatable {
    case regularFile
    case directory
    case symbolicLink
    case fifo
    case socket
    case device
    case missing

    /// `lstat` of `path`.
    static func of(_ path: String) -> EntryType {
        var st = stat()
        guard lstat(path, &st) == 0 else { return .missing }
        return of(mode: st.st_mode)
    }

    static func of(mode: mode_t) -> EntryType {
        switch mode & S_IFMT {
        case S_IFREG: return .regularFile
        case S_IFDIR: return .directory
        case S_IFLNK: return .symbolicLink
        case S_IFIFO: return .fifo
        case S_IFSOCK: return .socket
        default: return .device
        }
    }

    /// What the entry is, in the words of the report (退件說明).
    var label: String {
        switch self {
        case .regularFile: return "一般檔案"
        case .directory: return "資料夾"
        case .symbolicLink: return "符號連結（symlink）"
        case .fifo: return "具名管道（FIFO）"
        case .socket: return "通訊端（socket）"
        case .device: return "裝置檔"
        case .missing: return "已不存在的項目"
        }
    }
}

/// The state of a file's bytes as `stat` tells it: a claimed file whose state changed since it
/// was judged complete is put back, not processed.
struct FileState: Equatable {
    var size: Int64
    var mtime: timespec
    var ctime: timespec
    var inode: UInt64

    static func == (a: FileState, b: FileState) -> Bool {
        a.size == b.size && a.inode == b.inode && a.mtime.tv_sec == b.mtime.tv_sec && a.mtime.tv_nsec == b.mtime.tv_nsec
    }

    /// `lstat` of a regular file; `nil` for anything else.
    static func of(_ path: String) -> FileState? {
        var st = stat()
        guard lstat(path, &st) == 0, EntryType.of(mode: st.st_mode) == .regularFile else { return nil }
        return FileState(size: Int64(st.st_size), mtime: st.st_mtim, ctime: st.st_ctim, inode: UInt64(st.st_ino))
    }

    /// Seconds since the bytes last changed.
    var quietSeconds: Double {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Double(now.tv_sec - mtime.tv_sec) + Double(now.tv_nsec - mtime.tv_nsec) / 1e9
    }

    /// Whether the file's metadata changed after its last write (its ctime is later than its
    /// mtime): it was renamed (or linked, or its mode set) once written, as a sender does with
    /// `name.part` then `mv`. Such a file is complete and is taken at once.
    var renamedAfterLastWrite: Bool {
        ctime.tv_sec > mtime.tv_sec || (ctime.tv_sec == mtime.tv_sec && ctime.tv_nsec > mtime.tv_nsec)
    }
}

/// Whether any process has `path` open (Linux: `/proc/<pid>/fd`), so a file written in place
/// is not taken while its writer still holds it. Processes the desk may not look into are
/// passed over.
enum OpenFiles {
    static func isOpen(_ path: String) -> Bool {
        guard let pids = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return false }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        for pid in pids where pid.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            let fdFolder = "/proc/\(pid)/fd"
            guard let dir = opendir(fdFolder) else { continue }
            defer { closedir(dir) }
            while let entry = readdir(dir) {
                let name = withUnsafePointer(to: entry.pointee.d_name) {
                    String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
                }
                if name.hasPrefix(".") { continue }
                let n = readlink(fdFolder + "/" + name, &buffer, buffer.count - 1)
                guard n > 0 else { continue }
                if String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) == path { return true }
            }
        }
        return false
    }
}

/// Names the desk gives the files it keeps (queue, archive, rejected, reports): bounded in
/// length and free of control characters and slashes, whatever the sender called the file. A
/// shortened name keeps its start and extension and gains a digest of the whole name, so two
/// long names never meet; the original name is kept in the ledger and shown in reports.
enum StoredName {
    /// The longest stored name, in UTF-8 bytes: room for a prefix (arrival time, digest) and a
    /// suffix (`.退件說明.txt`) within the 255 bytes of a file name.
    static let limit = 120

    static func of(_ name: String, limit: Int = limit) -> String {
        var clean = ""
        for s in name.unicodeScalars {
            if s == "/" || ShownText.isControl(s) {
                clean += "_"
            } else {
                clean.unicodeScalars.append(s)
            }
        }
        if clean.hasPrefix(".") { clean = "_" + clean.dropFirst() }
        if clean.isEmpty { clean = "_" }
        guard clean.utf8.count > limit else { return clean }
        let ext = (clean as NSString).pathExtension
        let keepExt = !ext.isEmpty && ext.utf8.count <= 8 && ext.utf8.allSatisfy { $0 < 0x80 }
        let mark = "~" + SHA256.hash(data: Data(name.utf8)).prefix(4).map { String(format: "%02x", $0) }.joined()
        let room = limit - mark.utf8.count - (keepExt ? ext.utf8.count + 1 : 0)
        var stem = ""
        for c in (keepExt ? (clean as NSString).deletingPathExtension : clean) {
            if stem.utf8.count + String(c).utf8.count > room { break }
            stem.append(c)
        }
        return stem + mark + (keepExt ? "." + ext : "")
    }
}

/// An inbox entry the desk will not take: not a regular file, or a folder where none belongs.
/// It is left where it is (never followed, never moved across a link) and reported.
struct RefusedEntry: Sendable, Equatable {
    var kind: InputKind
    /// The entry's path relative to the inbox folder of its kind, as found.
    var name: String
    var type: String
    var problem: String
    var fix: String
}

/// An entry of a drop or queue folder, as ``FolderEntry/all(in:countyFolders:)`` finds it.
struct FolderEntry {
    var url: URL
    var name: String
    /// For an entry in a county folder of `decisions`, that county's code.
    var county: String?
    var type: EntryType

    /// Every entry of `folder` the desk does not ignore (``QueueFiles/isIgnored(_:)``), told by
    /// `lstat`. With `countyFolders` (the decisions kind), a folder named by a county code is
    /// entered, one level down, instead of being listed; any other folder is listed as one.
    static func all(in folder: URL, countyFolders: Bool) -> [FolderEntry] {
        var found: [FolderEntry] = []
        func walk(_ folder: URL, county: String?) {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [] where !QueueFiles.isIgnored(name) {
                let url = folder.appendingPathComponent(name)
                let type = EntryType.of(url.path)
                if type == .directory, countyFolders, county == nil, PathGate.accepts(name, as: .countyCode) {
                    walk(url, county: name)
                } else if type != .missing {
                    found.append(FolderEntry(url: url, name: name, county: county, type: type))
                }
            }
        }
        walk(folder, county: nil)
        return found
    }
}

