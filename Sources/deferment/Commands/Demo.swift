import ArgumentParser
import Crypto
import DefermentCore
import DefermentDesk
import DefermentFiles
import DefermentSite
import DefermentStore
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reset a demo root and play a full month: month-1 roster, counties' decisions (some signed off, one county only 陳核中), month-2 roster; print a summary.",
        discussion: Exit.help)

    @Option(help: "The demo root; it is wiped first.") var root: String = "demo"
    @Option(help: "Reference data and samples.") var seeds: String = "seeds"
    @Option(help: "Page templates.") var templates: String = "templates"

    func run() throws {
        let rootURL = URL(fileURLWithPath: root)
        for sub in ["inbox", "outbox", "state"] { try? FileManager.default.removeItem(at: rootURL.appendingPathComponent(sub)) }
        try DeskPaths(root: rootURL).createFolders()
        let options = try RootOptions.parse(["--root", root, "--seeds", seeds, "--templates", templates])
        let desk = try options.openDesk(logger: options.makeLogger())
        try DemoPlay(desk: desk, seeds: URL(fileURLWithPath: seeds), rootName: root)
            .play(summary: { printSummary($0) }, publish: { try publish(desk) }, say: { print($0) })
    }
}
