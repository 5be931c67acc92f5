import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writing a file so that no reader ever sees half of it: the bytes go to a temporary name in
/// the same folder (a dotfile ending in `.tmp`, which the inbox and the site ignore), then
/// `rename(2)` puts them in place.
public enum AtomicFile {
    /// Writes `data` to `url` atomically. With `durable` (the default) the bytes are on disk
    /// (`fsync`) before the rename; without, they reach the disk when the kernel writes them
    /// back (for derived files that a caller can check and write again, such as the site's).
    /// `createFolder: false` skips making the folder (a caller that knows it is there).
    /// `mode`, when given, is the file's mode whatever the umask (folders made get it plus the
    /// search bits), e.g. 0644 for the public site or 0600 for a key.
    public static func write(_ data: Data, to url: URL, durable: Bool = true, createFolder: Bool = true, mode: mode_t? = nil) throws {
        let folder = url.deletingLastPathComponent()
        if createFolder { try makeFolders(folder, mode: mode.map(folderMode(for:))) }
        let tmp = folder.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString.prefix(8)).tmp")
        do {
            if durable {
                try data.write(to: tmp)
            } else {
                try writeWithoutSync(data, to: tmp.path)
            }
            if let mode, chmod(tmp.path, mode) != 0 { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: tmp.path]) }
        } catch {
            unlink(tmp.path)   // a full disk leaves no temporary file behind
            throw error
        }
        guard rename(tmp.path, url.path) == 0 else {
            try? FileManager.default.removeItem(at: tmp)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
        }
    }

    /// The mode of a folder holding files of `mode`: the read bits also allow search.
    public static func folderMode(for mode: mode_t) -> mode_t {
        mode | ((mode & 0o444) >> 2)
    }

    /// Makes `folder` and any missing parents; with `mode`, each folder made gets that mode
    /// whatever the umask (folders already there are left as they are).
    public static func makeFolders(_ folder: URL, mode: mode_t?) throws {
        guard let mode else { return try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
        var missing: [String] = []
        var path = folder.path
        while !path.isEmpty && path != "/" {
            var st = stat()
            if lstat(path, &st) == 0 { break }
            missing.append(path)
            path = (path as NSString).deletingLastPathComponent
        }
        for p in missing.reversed() {
            if mkdir(p, mode) != 0 && errno != EEXIST { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: p]) }
            chmod(p, mode)
        }
    }

    private static func writeWithoutSync(_ data: Data, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path]) }
        defer { close(fd) }
        try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < buffer.count {
                let n = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    let code = errno
                    unlink(path)
                    if code == ENOSPC || code == EDQUOT { throw CocoaError(.fileWriteOutOfSpace, userInfo: [NSFilePathErrorKey: path]) }
                    throw NSError(domain: NSPOSIXErrorDomain, code: Int(code), userInfo: [NSFilePathErrorKey: path])
                }
                offset += n
            }
        }
    }
}
