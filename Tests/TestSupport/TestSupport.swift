import Foundation

/// What the test targets share: temporary folders, the repository's folders, and running the
/// Python helpers that act as independent readers and writers.

/// The repository's root, found from this file's path.
public let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A fresh temporary folder named after the test (`prefix-<test>-<random>`), readable by its
/// owner only (tests write made-up personal data into it), and removed when the test process
/// exits unless `DEFERMENT_KEEP_TEST_FOLDERS` is set (to look into a failure).
public func temporaryFolder(prefix: String, _ name: String) throws -> URL {
    let safe = name.filter { $0.isLetter || $0.isNumber }
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(safe)-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    _ = removedAtExit
    madeFoldersLock.lock()
    madeFolders.append(url)
    madeFoldersLock.unlock()
    return url
}

private let madeFoldersLock = NSLock()
nonisolated(unsafe) private var madeFolders: [URL] = []
private let removedAtExit: Void = {
    guard ProcessInfo.processInfo.environment["DEFERMENT_KEEP_TEST_FOLDERS"] == nil else { return }
    atexit {
        madeFoldersLock.lock()
        let folders = madeFolders
        madeFoldersLock.unlock()
        for folder in folders { try? FileManager.default.removeItem(at: folder) }
    }
}()

/// Runs `python3` with `arguments` (a script file and its arguments, or `-c` and a script) and
/// returns what it printed; throws with its standard error and output when it exits non-zero.
/// `environment` adds variables to the desk's own for that one run.
@discardableResult
public func runPython(_ arguments: [String], environment: [String: String] = [:]) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" } + ["python3"] + arguments
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else {
        throw NSError(domain: "python", code: Int(p.terminationStatus), userInfo: [NSLocalizedDescriptionKey: String(decoding: e, as: UTF8.self) + String(decoding: data, as: UTF8.self)])
    }
    return String(decoding: data, as: UTF8.self)
}
