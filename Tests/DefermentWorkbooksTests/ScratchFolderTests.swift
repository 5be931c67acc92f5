import Foundation
import DefermentTestSupport
import Testing
@testable import DefermentWorkbooks
#if canImport(Glibc)
import Glibc
#endif

/// A workbook's scratch folder carries its process's id; a desk removes those whose process is
/// gone, and nothing else that sits beside them in a folder anyone can write to (`/dev/shm`).
struct ScratchFolderTests {
    /// The id of a process that has ended.
    func endedProcess() throws -> pid_t {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try p.run()
        p.waitUntilExit()
        return p.processIdentifier
    }

    @Test func onlyFoldersOfEndedProcessesNamedAsTheDeskNamesThemAreRemoved() throws {
        let folder = try temporaryFolder(prefix: "deferment-scratch", #function)
        let victim = try temporaryFolder(prefix: "deferment-scratch-victim", #function)
        try Data("keep".utf8).write(to: victim.appendingPathComponent("keep.txt"))
        let ended = try endedProcess()
        let p = "deferment-workbook-"
        // (name, what it is, removed)
        let cases: [(String, String, Bool)] = [
            ("\(p)\(ended)-a1B2c3", "folder", true),
            ("\(p)\(ended)-Zz9Yy8", "folder holding a workbook", true),
            ("\(p)\(getpid())-abcdef", "folder", false),          // this process, still writing
            ("\(p)1-abcdef", "folder", false),                    // a process that runs
            ("\(p)\(ended)-zzzzzz", "link to another folder", false),
            ("\(p)\(ended)-yyyyyy", "file", false),
            ("\(p)\(ended)-abcde", "folder", false),
            ("\(p)\(ended)-abc.ef", "folder", false),
            ("\(p)\(ended)-abcdef-x", "folder", false),
            ("\(p)+\(ended)-abcdef", "folder", false),
            ("\(p)0-abcdef", "folder", false),
            ("\(p)-\(ended)-abcdef", "folder", false),
            ("\(p)\(ended)", "folder", false),
            ("\(p)１２-abcdef", "folder", false),                   // full-width digits
            ("other-\(ended)-abcdef", "folder", false),
        ]
        for (name, kind, _) in cases {
            let url = folder.appendingPathComponent(name)
            switch kind {
            case "link to another folder": try FileManager.default.createSymbolicLink(at: url, withDestinationURL: victim)
            case "file": try Data("x".utf8).write(to: url)
            default:
                try FileManager.default.createDirectory(at: url, withIntermediateDirectories: false)
                if kind == "folder holding a workbook" { try Data("PK".utf8).write(to: url.appendingPathComponent("book.xlsx")) }
            }
        }
        let removed = Workbook.removeAbandoned(in: folder.path)
        #expect(Set(removed) == Set(cases.filter(\.2).map(\.0)))
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: folder.path))
        for (name, kind, gone) in cases { #expect(left.contains(name) != gone, "\(name) (\(kind))") }
        #expect(try String(contentsOf: victim.appendingPathComponent("keep.txt"), encoding: .utf8) == "keep")
    }
}
