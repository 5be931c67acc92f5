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

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Preview outbox/site/ on http://127.0.0.1:PORT/ (loopback only); stop with Ctrl-C.",
        discussion: Exit.help)

    @Option(name: .long, help: "The desk's root folder.") var root: String = "."
    @Option(help: "Port on 127.0.0.1 (0 picks a free one).") var port: UInt16 = 8080

    func run() throws {
        let site = DeskPaths(root: URL(fileURLWithPath: root)).site
        guard FileManager.default.fileExists(atPath: site.appendingPathComponent("index.html").path) else {
            FileHandle.standardError.write(Data("尚未產生網站（\(site.path)），請先執行 deferment run 或 deferment publish。\n".utf8))
            throw ExitCode(Exit.failed)
        }
        InboxWatcher.installSignalHandlers()
        let server = PreviewServer(root: site, port: port)
        let bound = try server.bind()
        print("預覽網站：http://127.0.0.1:\(bound)/index.html（Ctrl-C 結束）")
        fflush(nil)
        server.serve(shouldStop: { InboxWatcher.stopRequested })
    }
}
