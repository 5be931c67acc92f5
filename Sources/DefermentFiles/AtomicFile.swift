import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writing a file so that no reader ever sees half of it: the bytes go to a temporary name in
/// the same folder (a dotfile ending in `.tmp`, which the inbox and the site ignore), then
/// `rename(2)` puts them in place.
public enum AtomicFile {
    public static func write(_ data: Data, to url: URL) throws {
        let folder = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let tmp = folder.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString.prefix(8)).tmp")
        try data.write(to: tmp)
        guard rename(tmp.path, url.path) == 0 else {
            try? FileManager.default.removeItem(at: tmp)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
        }
    }
}
