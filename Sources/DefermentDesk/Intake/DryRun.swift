import Foundation
import DefermentCore
import DefermentStore

/// A dry run of a roster (`deferment check FILE`, 試算): what would happen to each row, against
/// the root's registry (read-only) or, without a database, the sample registry of `seeds/`.
/// Changes nothing and takes no lock; IDs are masked in what it says.
public struct DryRun {
    public let paths: DeskPaths
    public let reference: ReferenceData

    /// Throws ``SeedError`` when the reference data cannot be read.
    public init(root: URL, seeds: URL?) throws {
        paths = DeskPaths(root: root)
        reference = try ReferenceData.load(from: seeds ?? paths.root.appendingPathComponent("seeds"))
    }

    /// Says one line per row, then the file's format and the counts by outcome. Throws
    /// ``FileRejection`` for a file that would be refused whole.
    public func check(_ file: URL, say: (String) -> Void) throws {
        let store: DeskStore
        if FileManager.default.fileExists(atPath: paths.database.path) {
            store = try DeskStore(readOnlyPath: paths.database.path)
        } else {
            store = try DeskStore(path: nil)
            try store.queue.write { db in
                for url in reference.registryFiles {
                    _ = try RegistryIntake(reference: reference).apply(db, fileID: nil, url: url) { _ in }
                }
            }
        }
        var counts: [String: Int] = [:]
        let result = try store.queue.read { db in
            try RosterIntake(reference: reference).assess(url: file, originalName: file.lastPathComponent,
                                                          arrivalDay: CivilDate(year: 2000, month: 1, day: 1)!,
                                                          lookup: try PersonLookup(db)) { row, _ in
                let county = row.assessment.countyCode.flatMap { reference.counties.county(code: $0)?.name } ?? ""
                say("第 \(row.sourceRow) 列\t\(NationalID.masked(row.parsed.nationalID))\t\(row.rosterKind.rawValue)\t"
                    + "\(row.assessment.state.rawValue)\t\(county)\t\(row.assessment.summary)")
                counts[row.assessment.state.rawValue, default: 0] += 1
            }
        }
        say("格式：\(result.format)；上傳日期來源：\(result.source.rawValue)")
        say(ReviewState.allCases.compactMap { s in counts[s.rawValue].map { "\(s.rawValue) \($0)" } }.joined(separator: "，"))
    }
}
