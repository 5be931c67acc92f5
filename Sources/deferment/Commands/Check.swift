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
        let paths = DeskPaths(root: options.rootURL)
        let seeds = options.seedsURL ?? paths.root.appendingPathComponent("seeds")
        let reference: ReferenceData
        do { reference = try ReferenceData.load(from: seeds) } catch let e as SeedError {
            FileHandle.standardError.write(Data((e.description + "\n").utf8)); throw ExitCode(Exit.failed)
        }
        // Read the registry from the root's database if there is one (read-only), else from seeds.
        let store: DeskStore
        if FileManager.default.fileExists(atPath: paths.database.path) {
            store = try DeskStore(readOnlyPath: paths.database.path)
        } else {
            store = try DeskStore(path: nil)
            try store.queue.write { db in
                for url in reference.registryFiles { _ = try RegistryIntake(reference: reference).apply(db, fileID: nil, url: url) { _ in } }
            }
        }
        let url = URL(fileURLWithPath: file)
        var counts: [String: Int] = [:]
        do {
            let result = try store.queue.read { db in
                try RosterIntake(reference: reference).assess(url: url, originalName: url.lastPathComponent, arrivalDay: CivilDate(year: 2000, month: 1, day: 1)!,
                                                              lookup: try PersonLookup(db)) { row, _ in
                    let county = row.assessment.countyCode.flatMap { reference.counties.county(code: $0)?.name } ?? ""
                    let detail = row.assessment.summary
                    print("第 \(row.sourceRow) 列\t\(NationalID.masked(row.parsed.nationalID))\t\(row.rosterKind.rawValue)\t\(row.assessment.state.rawValue)\t\(county)\t\(detail)")
                    counts[row.assessment.state.rawValue, default: 0] += 1
                }
            }
            print("格式：\(result.format)；上傳日期來源：\(result.source.rawValue)")
            print(ReviewState.allCases.compactMap { s in counts[s.rawValue].map { "\(s.rawValue) \($0)" } }.joined(separator: "，"))
        } catch let r as FileRejection {
            print("此檔案將被退件：\(r.problem)\n處理方式：\(r.fix)")
            throw ExitCode(Exit.rejected)
        }
    }
}
