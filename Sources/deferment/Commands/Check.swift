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

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Dry run: print what would happen to each row of a roster. Changes nothing.",
        discussion: "IDs are masked in the output.\n\n" + Exit.help)

    @OptionGroup var options: RootOptions
    @Argument(help: "The roster file (CSV or XLSX).")
    var file: String

    func run() throws {
        _ = options.makeLogger()
        do {
            try DryRun(root: options.rootURL, seeds: options.seedsURL).check(URL(fileURLWithPath: file)) { print($0) }
        } catch let e as SeedError {
            FileHandle.standardError.write(Data((e.description + "\n").utf8))
            throw ExitCode(Exit.failed)
        } catch let r as FileRejection {
            print("此檔案將被退件：\(r.problem)\n處理方式：\(r.fix)")
            throw ExitCode(Exit.rejected)
        }
    }
}
