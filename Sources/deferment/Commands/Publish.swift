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

/// Regenerates the site and says where it is.
func publish(_ desk: Desk, force: Bool = false) throws {
    try failing("網站產生失敗", explain: SiteFailure.explain) {
        let r = try desk.publishSite(force: force)
        let rendered = "重繪 \(r.schoolsRendered) 校、\(r.rostersRendered) 份名冊，沿用 \(r.schoolsKept) 校、\(r.rostersKept) 份名冊"
        print("網站：\(desk.paths.site.path)（寫入 \(r.written) 個檔案，\(rendered)）")
    }
}

struct Publish: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Regenerate the static site in outbox/site/ (only what changed, unless --force).",
        discussion: Exit.help)

    @OptionGroup var options: RootOptions
    @Flag(help: "Render every page again, even if its inputs did not change.") var force = false

    func run() throws {
        let desk = try options.openDesk(logger: options.makeLogger())
        try publish(desk, force: force)
    }
}
