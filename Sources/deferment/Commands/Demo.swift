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
        abstract: "Reset a demo root and play a full month: month-1 roster, counties' decisions (some signed off, one county "
            + "only 陳核中), month-2 roster; print a summary.",
        discussion: Exit.help)

    @Option(help: "The demo root; it is wiped first.") var root: String = "demo"
    @Option(help: "Reference data (default: the installed copy).") var seeds: String?
    @Option(help: "Sample rosters and registry extract (default: the installed copy).") var samples: String?
    @Option(help: "Page templates (default: the installed copy).") var templates: String?

    func run() throws {
        let rootURL = URL(fileURLWithPath: root)
        let shipped = try SharedFiles.locate(.seeds, given: seeds.map { URL(fileURLWithPath: $0) }, root: nil)
        let sampleFolder = try SharedFiles.locate(.samples, given: samples.map { URL(fileURLWithPath: $0) }
            ?? (FileManager.default.fileExists(atPath: shipped.appendingPathComponent("rosters").path) ? shipped : nil), root: nil)
        for sub in ["inbox", "outbox", "state", "seeds"] { try? FileManager.default.removeItem(at: rootURL.appendingPathComponent(sub)) }
        try DeskPaths(root: rootURL).createFolders()
        // The demo root keeps its own reference data (with the sample registry), so that the
        // plain commands work on it afterwards.
        try DemoPlay.copySeeds(from: shipped, samples: sampleFolder, into: rootURL.appendingPathComponent("seeds"))
        let options = try RootOptions.parse(["--root", root] + (templates.map { ["--templates", $0] } ?? []))
        let desk = try options.openDesk(logger: options.makeLogger())
        try DemoPlay(desk: desk, seeds: sampleFolder, rootName: root)
            .play(summary: { printSummary($0) }, publish: { try publish(desk) }, say: { print($0) })
    }
}
