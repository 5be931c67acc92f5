import Foundation
// Shared by every file of this target: temporary folders, the repository, Python.
@_exported import DefermentTestSupport
import GRDB
@testable import DefermentDesk
@testable import DefermentStore

let seedsFolder = repositoryRoot.appendingPathComponent("seeds")

/// The `deferment` executable built with the tests.
var deferment: URL {
    if let path = ProcessInfo.processInfo.environment["DEFERMENT_BIN"] { return URL(fileURLWithPath: path) }
    return repositoryRoot.appendingPathComponent(".build/debug/deferment")
}

/// Tests derive page keys with fewer PBKDF2 rounds so that the dozens of accounts each fixture
/// creates do not take minutes; the envelope tests and the browser test use the real 600,000.
let fastKeyDerivation: Void = { setenv("DEFERMENT_PBKDF2_ROUNDS", "2000", 0) }()

/// A fresh, empty desk root.
func temporaryRoot(_ name: String = #function) throws -> URL {
    _ = fastKeyDerivation
    return try temporaryFolder(prefix: "deferment-desk", name)
}

/// A fresh root with the registry and roster that `deferment samples --out samples` made
/// waiting in its inbox.
func rootWithSamplesWaiting(_ samples: URL, _ name: String = #function) throws -> URL {
    let root = try temporaryRoot(name)
    let paths = DeskPaths(root: root)
    try paths.createFolders()
    for (file, kind) in [("registry.csv", InputKind.registry), ("roster-20261115.csv", .rosters)] {
        try FileManager.default.copyItem(at: samples.appendingPathComponent(file), to: paths.inbox(kind).appendingPathComponent(file))
    }
    return root
}

/// Opens a desk on `root` with the repository's seeds, claiming files at once.
func openDesk(_ root: URL) throws -> Desk {
    let desk = try Desk(root: root, seeds: seedsFolder)
    desk.settleSeconds = 0
    return desk
}

/// Drops a file into an inbox folder, as a sender would: written under a temporary name, then renamed.
@discardableResult
func drop(_ data: Data, as name: String, into kind: InputKind, root: URL, county: String? = nil) throws -> URL {
    var folder = DeskPaths(root: root).inbox(kind)
    if let county { folder = folder.appendingPathComponent(county) }
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let tmp = folder.appendingPathComponent(".\(name).part")
    try data.write(to: tmp)
    let final = folder.appendingPathComponent(name)
    try FileManager.default.moveItem(at: tmp, to: final)
    return final
}

func drop(_ text: String, as name: String, into kind: InputKind, root: URL) throws {
    try drop(Data(text.utf8), as: name, into: kind, root: root)
}

/// Counts from the database, read by a separate connection.
func count(_ root: URL, _ sql: String) throws -> Int {
    var config = Configuration()
    config.readonly = true
    config.busyMode = .timeout(60)   // a desk may be storing a file meanwhile
    let q = try DatabaseQueue(path: DeskPaths(root: root).database.path, configuration: config)
    return try q.read { try Int.fetchOne($0, sql: sql) ?? -1 }
}

/// Runs the command line (or another program) and returns its exit status, stdout and stderr.
@discardableResult
func runCLI(_ args: [String], stdin: String? = nil, executable: URL = deferment, in folder: URL? = nil,
            environment: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = executable
    p.arguments = args
    if let folder { p.currentDirectoryURL = folder }
    if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    let input = Pipe()
    p.standardInput = input
    try p.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
    try? input.fileHandleForWriting.close()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

/// Registry and roster lines for tests, with valid IDs.
enum Fixture {
    static let registryHeader = "身分證字號,出生年月日,姓名,戶籍縣市代碼,教育程度,兵役狀態,在學緩徵起始日期,在學緩徵終止日期\n"
    static let rosterHeader = "身分證字號,出生年月日,姓名,學校代碼,學校名稱,群科,年級,緩徵起始日期,緩徵終止日期,學籍狀態,是否為非學校型態實驗教育學生\n"

    static func id(_ n: Int, letter: String = "Q") -> String {
        NationalID.withCheckDigit(letter + "1" + String(format: "%07d", n))!
    }
}

import DefermentCore
