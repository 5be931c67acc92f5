import ArgumentParser
import DefermentDesk
import Foundation

struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Back a root up into a new folder while watch runs: a consistent database snapshot, the keys, seeds and the "
            + "raw archive, with a manifest of SHA-256 digests.")

    @Option(help: "The desk's root folder.") var root: String = "."
    @Option(help: "The new backup folder (holds personal data and keys: keep it as safe as the root).") var to: String

    func run() throws {
        try failing("備份失敗") {
            let manifest = try RootBackup.backup(root: URL(fileURLWithPath: root), to: URL(fileURLWithPath: to))
            print("已備份 \(manifest.files.count) 個檔案到 \(to)（清單 \(RootBackup.manifestName)）")
        }
    }
}

struct Restore: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a backup's digests, restore it into a new root and rebuild the site.")

    @Option(help: "The backup folder.") var from: String
    @OptionGroup var options: RootOptions

    func run() throws {
        try failing("還原失敗") {
            let manifest = try RootBackup.restore(from: URL(fileURLWithPath: from), into: options.rootURL)
            print("已還原 \(manifest.files.count) 個檔案（備份時間 \(manifest.taken)）到 \(options.root)")
        }
        let desk = try options.openDesk(logger: options.makeLogger())
        try publish(desk, force: true)
    }
}
