import ArgumentParser
import DefermentDesk
import Foundation

struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make a new root: folders, owner-only state, the database and keys, and <root>/seeds/ with the reference data "
            + "and settings to edit.")

    @Option(help: "The new root folder.") var root: String
    @Option(help: "The reference data to start from (default: the installed copy).") var seeds: String?

    func run() throws {
        let shipped = try SharedFiles.locate(.seeds, given: seeds.map { URL(fileURLWithPath: $0) }, root: nil)
        for line in try RootSetup.initialize(root: URL(fileURLWithPath: root), seeds: shipped) { print(line) }
    }
}
