import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import DefermentCore
import DefermentFiles

/// One file of the published site, as the manifest lists it.
public struct ManifestEntry: Codable, Sendable, Equatable {
    public var path: String
    public var size: Int
    public var sha256: String
}

/// Writes the static site into `outbox/site/` so that a static host never serves half a file:
/// every file is written under a temporary name in its folder and renamed into place, and a file
/// whose bytes did not change is not written at all. Files are not flushed to disk one by one
/// (the site is derived data); a file that a crash lost or cut short no longer has its recorded
/// size, and the next build writes it again.
///
/// `manifest.json` lists every file with its size and SHA-256, so a deploy can check it is
/// complete; it is written last. Files that the build no longer produces are removed.
public final class SitePublisher: @unchecked Sendable {
    public let root: URL
    private let lock = NSLock()
    /// The last build's files in path order, as its manifest lists them, and by path.
    private var previousInOrder: [ManifestEntry] = []
    private var previous: [String: ManifestEntry] = [:]
    /// The files published in this build.
    private var current: [String: ManifestEntry] = [:]
    /// Groups whose files this build keeps as they are (``keep(group:)``).
    private var keptGroups: Set<String> = []
    /// Set by ``finish()``: a publisher serves one build (the next reads the manifest again).
    private var finished = false
    /// Pages held until every other file is written (``linksToOthers(_:)``).
    private var deferredPages: [(String, Data)] = []
    /// Present while a build writes into the site: a build that did not finish (a full disk, a
    /// kill) may have left temporary files, which the next build removes.
    private var unfinishedMarker: URL { root.appendingPathComponent(".publishing") }
    /// Paths written (new or changed) in this build.
    public private(set) var written: [String] = []
    /// Folders made (or found) in this build, so each is made once.
    private var folders: Set<String> = []
    public static let manifestName = "manifest.json"
    /// The site is public (pages with personal data are sealed): its files are readable by the
    /// web server whatever the desk's umask (which keeps everything else owner-only).
    public static let publicMode: mode_t = 0o644

    /// The root as a path ending in `/`, for joining with site paths without `URL`.
    private let rootPath: String

    /// Names the boot that the last finished build's files were written in: `site.published`
    /// beside the site folder (never served with it).
    private var bootMarker: URL { URL(fileURLWithPath: String(rootPath.dropLast()) + ".published") }

    /// The running kernel's boot id (Linux), or `nil` where there is none.
    static func currentBoot() -> String? {
        guard let id = try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8) else { return nil }
        let trimmed = id.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
    }

    /// Whether the manifest can be taken at its word for the files it lists: the last build
    /// finished, and in this boot. Files reach the disk when the kernel writes them; only a
    /// crash of the machine (which starts a new boot) can lose one that a finished build wrote,
    /// so otherwise a kept group's files are not checked one by one (``stillPresent(group:)``).
    public private(set) var trustsManifest = false
    /// This boot's id, read once.
    private let boot: String?

    public init(root: URL) throws {
        self.root = root
        rootPath = root.path.hasSuffix("/") ? root.path : root.path + "/"
        boot = Self.currentBoot()
        try AtomicFile.makeFolders(root, mode: AtomicFile.folderMode(for: Self.publicMode))
        let unfinished = access(unfinishedMarker.path, F_OK) == 0
        if unfinished { Self.removeTemporaryFiles(in: root) }
        trustsManifest = !unfinished && boot != nil && (try? String(contentsOf: bootMarker, encoding: .utf8)) == boot
        unlink(bootMarker.path)
        guard FileManager.default.createFile(atPath: unfinishedMarker.path, contents: nil) else {
            throw SiteError("無法寫入網站資料夾 \(root.path)")
        }
        let manifestURL = root.appendingPathComponent(Self.manifestName)
        guard let data = try? Data(contentsOf: manifestURL) else { return }
        let entries = Self.readManifestEntries(data)
        previous = Dictionary(entries.map { ($0.path, $0) }, uniquingKeysWith: { $1 })
        // In path order, one entry per path (as ``finish()`` writes it; another tool's may not be).
        let ordered = zip(entries, entries.dropFirst()).allSatisfy { $0.path < $1.path }
        previousInOrder = ordered ? entries : previous.values.sorted { $0.path < $1.path }
    }

    /// The entries of a manifest by path (empty for anything that is not one).
    public static func readManifest(_ data: Data) -> [String: ManifestEntry] {
        Dictionary(readManifestEntries(data).map { ($0.path, $0) }, uniquingKeysWith: { $1 })
    }

    /// The entries of a manifest in the order it lists them (empty for anything that is not one).
    static func readManifestEntries(_ data: Data) -> [ManifestEntry] {
        if let entries = readOwnManifest(data) { return entries }
        // A manifest written by something else (or edited): read it as any JSON.
        var found: [ManifestEntry] = []
        for e in (try? JSONSerialization.jsonObject(with: data) as? [[String: Any]]) ?? [] {
            guard let path = e["path"] as? String, let size = e["size"] as? Int, let sha = e["sha256"] as? String else { continue }
            found.append(ManifestEntry(path: path, size: size, sha256: sha))
        }
        return found
    }

    /// Removes the temporary files (`.*.tmp`) an unfinished build left anywhere in the site.
    static func removeTemporaryFiles(in root: URL) {
        let walker = FileManager.default.enumerator(atPath: root.path)
        while let p = walker?.nextObject() as? String {
            let name = (p as NSString).lastPathComponent
            if name.hasPrefix(".") && name.hasSuffix(".tmp") { unlink(root.path + "/" + p) }
        }
    }

    /// Reads the manifest as ``finish()`` writes it, one entry per line:
    /// `  {"path": "…", "sha256": "…", "size": N},`; `nil` if any line is otherwise (then the
    /// general JSON reader takes over). Paths with escapes are left to that reader too.
    static func readOwnManifest(_ data: Data) -> [ManifestEntry]? {
        let prefix = Array("  {\"path\": \"".utf8), shaMark = Array("\", \"sha256\": \"".utf8), sizeMark = Array("\", \"size\": ".utf8)
        var entries: [ManifestEntry] = []
        let ok: Bool = data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Bool in
            let u = raw.bindMemory(to: UInt8.self)
            // One line per file: size the table once instead of growing it.
            var lines = 0
            for b in u where b == 0x0A { lines += 1 }
            entries.reserveCapacity(lines)
            func matches(_ mark: [UInt8], at i: Int) -> Bool {
                guard i + mark.count <= u.count else { return false }
                for k in 0..<mark.count where u[i + k] != mark[k] { return false }
                return true
            }
            var i = 0
            while i < u.count {
                var end = i
                while end < u.count && u[end] != 0x0A { end += 1 }
                defer { i = end + 1 }
                let length = end - i
                if length == 0 || (length == 1 && (u[i] == 0x5B || u[i] == 0x5D)) { continue }   // "[", "]"
                guard matches(prefix, at: i) else { return false }
                // The path: up to the closing quote; an escape sends the whole file to JSON.
                var p = i + prefix.count
                let pathStart = p
                while p < end && u[p] != 0x22 { if u[p] == 0x5C { return false }; p += 1 }
                guard matches(shaMark, at: p) else { return false }
                let path = String(decoding: UnsafeBufferPointer(rebasing: u[pathStart..<p]), as: UTF8.self)
                let shaStart = p + shaMark.count
                guard shaStart + 64 <= end, matches(sizeMark, at: shaStart + 64) else { return false }
                let sha = String(decoding: UnsafeBufferPointer(rebasing: u[shaStart..<(shaStart + 64)]), as: UTF8.self)
                var q = shaStart + 64 + sizeMark.count
                var size = 0, digits = 0
                while q < end && u[q] >= 0x30 && u[q] <= 0x39 { size = size * 10 + Int(u[q] - 0x30); q += 1; digits += 1 }
                guard digits > 0, q < end, u[q] == 0x7D, q + 1 == end || (q + 2 == end && u[q + 1] == 0x2C) else { return false }
                entries.append(ManifestEntry(path: path, size: size, sha256: sha))
            }
            return true
        }
        return ok ? entries : nil
    }

    /// Whether a published file is on disk with the size it was published with (a stat, without
    /// building a URL). Site files are not flushed one by one: one lost or cut short by a crash
    /// fails this check, so the next build writes it again.
    private func intact(_ path: String, size: Int) -> Bool {
        var st = stat()
        return stat(rootPath + path, &st) == 0 && Int(st.st_size) == size
    }

    /// Whether a previously published file is still there as published.
    private func intact(_ path: String) -> Bool {
        lock.lock()
        let size = previous[path]?.size
        lock.unlock()
        guard let size else { return false }
        return intact(path, size: size)
    }

    static func sha256(_ data: Data) -> String {
        SHA256.hash(data: data).lowercaseHex
    }

    /// Publishes `data` at `path` (relative, `/`-separated) unless the same bytes are there already.
    public func publish(_ path: String, _ data: Data) throws {
        // The last line of defence: whatever a page's path was built from, only safe ASCII
        // components reach the file system (codes and dates from data passed ``PathGate`` already).
        guard PathGate.isSafeRelativePath(path) else { throw SiteError("網站檔案路徑不合規定，未寫入：\(ShownText.escaped(path))") }
        let hash = Self.sha256(data)
        let entry = ManifestEntry(path: path, size: data.count, sha256: hash)
        lock.lock()
        let old = previous[path]
        current[path] = entry
        lock.unlock()
        if old == entry, intact(path, size: entry.size) { return }
        if Self.linksToOthers(path) {
            // Pages are written once everything they may link to is in place (``finish()``).
            lock.lock()
            deferredPages.append((path, data))
            lock.unlock()
            return
        }
        try write(path, data)
    }

    /// Whether a file is a page that links to other files of the site (every `.html`): such
    /// pages are written after every other file, so that a page never links to a file that is
    /// not there yet, even when a build stops half way (a full disk, a kill).
    public static func linksToOthers(_ path: String) -> Bool { path.hasSuffix(".html") }

    /// The group a held page is written in, in increasing order: pages that are no folder's
    /// index first (0), then indexes from the deepest folder up, the home page last. A page
    /// links only to files written before its group.
    public static func pageGroup(_ p: String) -> Int {
        return p.hasSuffix("index.html") ? 1_000 - p.split(separator: "/").count : 0
    }

    /// Writes the held pages group by group (``pageGroup(_:)``), each group's pages on all
    /// cores; a group starts once the one before it is written.
    private func writeHeldPages() throws {
        let groups = Dictionary(grouping: deferredPages) { Self.pageGroup($0.0) }
        deferredPages = []
        final class FirstError: @unchecked Sendable {
            let lock = NSLock()
            var error: Error?
            func keep(_ e: Error) { lock.withLock { if error == nil { error = e } } }
        }
        for key in groups.keys.sorted() {
            let pages = groups[key]!, failure = FirstError()
            DispatchQueue.concurrentPerform(iterations: pages.count) { i in
                do { try write(pages[i].0, pages[i].1) } catch { failure.keep(error) }
            }
            if let error = failure.error { throw error }
        }
    }

    /// Faults put into the writer by tests, by site root: called with each path about to be
    /// written, one throws as a full disk would.
    nonisolated(unsafe) private static var injectedFaults: [String: (String) throws -> Void] = [:]
    private static let faultLock = NSLock()

    /// Injects (or, with `nil`, removes) a fault into every write under `root`.
    static func injectFault(root: URL, _ fault: ((String) throws -> Void)?) {
        faultLock.withLock { injectedFaults[root.standardizedFileURL.path] = fault }
    }

    /// Writes a file under a temporary name and renames it into place.
    private func write(_ path: String, _ data: Data) throws {
        if let fault = Self.faultLock.withLock({ Self.injectedFaults.isEmpty ? nil : Self.injectedFaults[root.standardizedFileURL.path] }) {
            try fault(path)
        }
        let url = root.appendingPathComponent(path)
        // Not flushed file by file (see ``intact(_:size:)``): the site can always be built again.
        let folder = (path as NSString).deletingLastPathComponent
        lock.lock()
        let folderKnown = folders.contains(folder)
        lock.unlock()
        try AtomicFile.write(data, to: url, durable: false, createFolder: !folderKnown, mode: Self.publicMode)
        if !folderKnown { lock.lock(); folders.insert(folder); lock.unlock() }
        lock.lock()
        written.append(path)
        lock.unlock()
    }

    /// Publishes text as UTF-8.
    public func publish(_ path: String, text: String) throws {
        try publish(path, Data(text.utf8))
    }

    private var groupIndex: [String: [String]]?
    /// The group of each file of ``previousInOrder`` (``indexGroups(_:)``).
    private var previousGroups: [String?] = []

    /// Indexes the previous files by the group a function assigns them (e.g. a school's code),
    /// so that ``stillPresent(group:)`` looks only at the group's own files and ``finish()``
    /// knows which files a kept group holds.
    public func indexGroups(_ groupOf: (String) -> String?) {
        var index: [String: [String]] = [:]
        var groups: [String?] = []
        groups.reserveCapacity(previousInOrder.count)
        for entry in previousInOrder {
            let g = groupOf(entry.path)
            groups.append(g)
            if let g { index[g, default: []].append(entry.path) }
        }
        (groupIndex, previousGroups) = (index, groups)
    }

    /// Keeps, unchanged, every previously published file of a group (a file of it published
    /// again in this build is listed as published).
    public func keep(group: String) {
        lock.withLock { _ = keptGroups.insert(group) }
    }

    /// Whether a group had files and every one of them is still on disk as published. When
    /// ``trustsManifest``, only the folder of its first file is looked at, once per build (a
    /// folder removed by hand is noticed; a single file removed by hand comes back with
    /// `publish --force`).
    public func stillPresent(group: String) -> Bool {
        guard let paths = groupIndex?[group], let first = paths.first else { return false }
        guard trustsManifest else { return paths.allSatisfy { intact($0) } }
        let folder = first.lastIndex(of: "/").map { String(first[..<$0]) } ?? ""
        return lock.withLock {
            if let known = presentFolders[folder] { return known }
            var st = stat()
            let present = stat(rootPath + folder, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
            presentFolders[folder] = present
            return present
        }
    }

    /// Folders of the site looked at by ``stillPresent(group:)`` in this build, and whether each
    /// is there.
    private var presentFolders: [String: Bool] = [:]

    /// Removes files no longer produced and writes the manifest, which ends the build. Returns
    /// the removed paths.
    @discardableResult
    public func finish() throws -> [String] {
        precondition(!finished, "a site publisher serves one build")
        try writeHeldPages()
        // The last build's files in their order, each as published now, kept, or removed;
        // then the new files merged in. Paths in Unicode scalar order (as `String` compares them).
        var listed: [ManifestEntry] = [], removed: [String] = []
        listed.reserveCapacity(previousInOrder.count + current.count)
        for (i, entry) in previousInOrder.enumerated() {
            if let now = current[entry.path] {
                listed.append(now)
            } else if i < previousGroups.count, let g = previousGroups[i], keptGroups.contains(g) {
                listed.append(entry)
            } else {
                try? FileManager.default.removeItem(at: root.appendingPathComponent(entry.path))
                removed.append(entry.path)
            }
        }
        let new = current.values.filter { previous[$0.path] == nil }.sorted { $0.path < $1.path }
        let entries = Self.merged(listed, new)
        // Written by hand as bytes (a JSON array, one entry per line): the site has tens of
        // thousands of files.
        var out: [UInt8] = []
        out.reserveCapacity(entries.count * 140 + 4)
        out.append(contentsOf: "[\n".utf8)
        for (i, e) in entries.enumerated() {
            JSONText.raw("  {\"path\": ", to: &out)
            JSONText.append(e.path, to: &out)
            JSONText.raw(", \"sha256\": \"", to: &out)
            out.append(contentsOf: e.sha256.utf8)
            JSONText.raw("\", \"size\": ", to: &out)
            out.append(contentsOf: String(e.size).utf8)
            JSONText.raw("}", to: &out)
            if i < entries.count - 1 { out.append(0x2C) }
            out.append(0x0A)
        }
        out.append(contentsOf: "]\n".utf8)
        try AtomicFile.write(Data(out), to: root.appendingPathComponent(Self.manifestName), mode: Self.publicMode)
        unlink(unfinishedMarker.path)
        if let boot { try? AtomicFile.write(Data(boot.utf8), to: bootMarker, durable: false, mode: 0o600) }
        finished = true
        return removed
    }

    /// Two lists sorted by path merged into one.
    static func merged(_ a: [ManifestEntry], _ b: [ManifestEntry]) -> [ManifestEntry] {
        if b.isEmpty { return a }
        var out: [ManifestEntry] = []
        out.reserveCapacity(a.count + b.count)
        var (i, j) = (0, 0)
        while i < a.count && j < b.count {
            if b[j].path < a[i].path { out.append(b[j]); j += 1 } else { out.append(a[i]); i += 1 }
        }
        out += a[i...]
        out += b[j...]
        return out
    }
}
