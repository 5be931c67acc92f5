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

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write one school's or one county's roster rows as CSV to stdout.",
        discussion: "Columns: " + RosterReport.columns.joined(separator: ", ") + "\n\n" + Exit.help)

    @OptionGroup var options: RootOptions
    @Option(help: "School code (學校代碼).") var school: String?
    @Option(help: "County code (縣市代碼), e.g. 63000.") var county: String?
    @Option(help: "Output format; only csv.") var format: String = "csv"

    func validate() throws {
        guard (school == nil) != (county == nil) else { throw ValidationError("Give exactly one of --school or --county.") }
        guard format == "csv" else { throw ValidationError("Only --format csv is supported.") }
    }

    func run() throws {
        _ = options.makeLogger()
        let paths = DeskPaths(root: options.rootURL)
        guard FileManager.default.fileExists(atPath: paths.database.path) else {
            FileHandle.standardError.write(Data("此目錄尚無資料庫（\(paths.database.path)），請先執行 deferment run。\n".utf8))
            throw ExitCode(Exit.failed)
        }
        let store = try DeskStore(readOnlyPath: paths.database.path)
        var scope = RosterReport.Scope.school(school ?? "")
        if let county {
            let seeds = options.seedsURL ?? paths.root.appendingPathComponent("seeds")
            let code = (try? ReferenceData.load(from: seeds))?.counties.normalise(county) ?? county
            scope = .county(code)
        }
        var out = ""
        try RosterReport.writeCSV(store: store, scope: scope) { line in
            out += line
            if out.utf8.count > 1 << 16 { FileHandle.standardOutput.write(Data(out.utf8)); out = "" }
        }
        FileHandle.standardOutput.write(Data(out.utf8))
    }
}
