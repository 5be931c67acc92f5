import Crypto
import Foundation
import GRDB
import DefermentFiles
import DefermentStore
#if canImport(Glibc)
import Glibc
#endif

/// A backup of a root (備份): what cannot be made again from anything else. The database as one
/// consistent snapshot (SQLite's online backup API, taken while `watch` runs, without its lock),
/// the keys (`state/host.key` seals the accounts' data keys, `state/decision-token.key` signs the
/// workbooks' tokens), the root's own reference data and settings (`seeds/`), and the raw archive
/// of every input. `backup-manifest.json` lists each file with its size and SHA-256; a restore
/// checks every one before it writes anything. The site, the exports and the mail are derived and
/// made again by the restore.
public enum RootBackup {
    /// One file of a backup.
    public struct Entry: Codable, Equatable, Sendable {
        public var path: String
        public var size: Int
        public var sha256: String
    }

    /// What a backup holds.
    public struct Manifest: Codable, Sendable {
        /// When it was taken (ISO 8601, UTC).
        public var taken: String
        public var files: [Entry]
    }

    /// Why a backup or a restore stopped.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public static let manifestName = "backup-manifest.json"
    static let databasePath = "state/deferment.sqlite"
    static let keyPaths = ["state/host.key", "state/decision-token.key"]
    /// Folders copied whole, when the root has them.
    static let folders = ["seeds", "templates", "state/archive"]

    /// Backs `root` up into the new folder `target` (owner-only).
    @discardableResult
    public static func backup(root: URL, to target: URL) throws -> Manifest {
        let fm = FileManager.default
        let previous = umask(0o077)
        defer { umask(previous) }
        if let existing = try? fm.contentsOfDirectory(atPath: target.path), !existing.isEmpty {
            throw Failure(description: "備份資料夾 \(target.path) 不是空的；請指定新的資料夾")
        }
        let paths = DeskPaths(root: root)
        guard fm.fileExists(atPath: paths.database.path) else { throw Failure(description: "\(root.path) 沒有資料庫（state/deferment.sqlite）") }
        try AtomicFile.makeFolders(target.appendingPathComponent("state"), mode: 0o700)
        // The database first: the archive copied after it holds every file the snapshot names.
        let source = try DeskStore(readOnlyPath: paths.database.path)
        let copy = try DatabaseQueue(path: target.appendingPathComponent(databasePath).path)
        try source.queue.backup(to: copy)
        try copy.close()
        for key in keyPaths where fm.fileExists(atPath: paths.root.appendingPathComponent(key).path) {
            try fm.copyItem(at: paths.root.appendingPathComponent(key), to: target.appendingPathComponent(key))
        }
        for folder in folders where fm.fileExists(atPath: paths.root.appendingPathComponent(folder).path) {
            try fm.copyItem(at: paths.root.appendingPathComponent(folder), to: target.appendingPathComponent(folder))
        }
        let manifest = Manifest(taken: ISO8601DateFormatter().string(from: Date()), files: try entries(in: target))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AtomicFile.write(try encoder.encode(manifest), to: target.appendingPathComponent(manifestName), mode: 0o600)
        return manifest
    }

    /// Checks a backup against its manifest: every file listed, of its size and digest, and
    /// nothing else. Returns the problems (empty when it is whole).
    public static func verify(_ backup: URL) throws -> (Manifest, [String]) {
        guard let data = try? Data(contentsOf: backup.appendingPathComponent(manifestName)),
              let manifest = try? JSONDecoder().decode(Manifest.self, from: data) else {
            throw Failure(description: "\(backup.path) 沒有可讀的 \(manifestName)：不是 deferment backup 產生的備份")
        }
        let found = Dictionary(uniqueKeysWithValues: try entries(in: backup).map { ($0.path, $0) })
        var problems: [String] = []
        for e in manifest.files {
            guard let f = found[e.path] else { problems.append("缺少 \(e.path)"); continue }
            if f != e { problems.append("\(e.path) 與備份時不同（大小或 SHA-256 不符）") }
        }
        let listed = Set(manifest.files.map(\.path))
        for path in found.keys.sorted() where !listed.contains(path) { problems.append("多出未列於清單的檔案 \(path)") }
        if !listed.contains(databasePath) { problems.append("備份中沒有資料庫") }
        return (manifest, problems)
    }

    /// Restores a verified backup into `root`, which must not hold a database yet. The caller
    /// then opens the desk and rebuilds the site.
    public static func restore(from backup: URL, into root: URL) throws -> Manifest {
        let (manifest, problems) = try verify(backup)
        guard problems.isEmpty else { throw Failure(description: "備份不完整，未還原：\n" + problems.joined(separator: "\n")) }
        let paths = DeskPaths(root: root)
        let fm = FileManager.default
        if fm.fileExists(atPath: paths.database.path) {
            throw Failure(description: "\(root.path) 已有資料庫；請還原到新的根目錄")
        }
        let previous = umask(0o077)
        defer { umask(previous) }
        try AtomicFile.makeFolders(paths.state, mode: 0o700)
        for e in manifest.files {
            let target = paths.root.appendingPathComponent(e.path)
            let shared = e.path.hasPrefix("seeds/") || e.path.hasPrefix("templates/")
            try AtomicFile.makeFolders(target.deletingLastPathComponent(), mode: shared ? 0o755 : 0o700)
            try fm.copyItem(at: backup.appendingPathComponent(e.path), to: target)
            chmod(target.path, shared ? 0o644 : 0o600)
        }
        return manifest
    }

    /// Every regular file under a folder but the manifest, with its size and digest.
    static func entries(in folder: URL) throws -> [Entry] {
        var found: [Entry] = []
        let base = folder.standardizedFileURL.path
        guard let walker = FileManager.default.enumerator(atPath: base) else { return [] }
        while let relative = walker.nextObject() as? String {
            guard relative != manifestName, walker.fileAttributes?[.type] as? FileAttributeType == .typeRegular else { continue }
            let url = URL(fileURLWithPath: base + "/" + relative)
            let data = try Data(contentsOf: url, options: .alwaysMapped)
            found.append(Entry(path: relative, size: data.count, sha256: SHA256.hash(data: data).map { String(format: "%02x",
                $0) }.joined()))
        }
        return found.sorted { $0.path < $1.path }
    }
}
