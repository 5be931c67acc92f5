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
    public static func write(_ data: Data, to url: URL, durable: Bool = true, createFolder: Bool = true) throws {
        let folder = url.deletingLastPathComponent()
        if createFolder { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
        let tmp = folder.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString.prefix(8)).tmp")
        if durable {
            try data.write(to: tmp)
        } else {
            try writeWithoutSync(data, to: tmp.path)
        }
        guard rename(tmp.path, url.path) == 0 else {
            try? FileManager.default.removeItem(at: tmp)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
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
                    unlink(path)
                    throw CocoaError(.fileWriteOutOfSpace, userInfo: [NSFilePathErrorKey: path])
                }
                offset += n
            }
        }
    }
}
