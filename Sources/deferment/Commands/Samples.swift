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

struct Samples: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Regenerate the deterministic sample files (seeds) or a bulk benchmark input.")

    @Option(name: .long, help: "The desk's root folder; --seeds and --out are relative to it.") var root: String = "."
    @Option(help: "Folder with counties.csv (read) and where samples go.") var seeds: String = "seeds"
    @Option(help: "Bulk mode: number of roster rows (writes --out/roster-20261115.csv and registry.csv).") var rows: Int?
    @Option(help: "Bulk mode: number of schools.") var schools: Int = 500
    @Option(help: "Bulk mode: output folder.") var out: String = "bench/out"
    @Option(help: "Random seed.") var seed: UInt64 = 20261115

    func run() throws {
        let rootURL = URL(fileURLWithPath: root)
        let seedsURL = URL(fileURLWithPath: seeds, relativeTo: rootURL)
        let counties = try ReferenceData.loadCounties(from: seedsURL)
        var generator = SampleGenerator(seed: seed, counties: counties)
        if let rows {
            let outURL = URL(fileURLWithPath: out, relativeTo: rootURL)
            try FileManager.default.createDirectory(at: outURL, withIntermediateDirectories: true)
            try generator.writeBulk(rows: rows, schoolCount: schools,
                                    roster: outURL.appendingPathComponent("roster-20261115.csv"),
                                    registry: outURL.appendingPathComponent("registry.csv"))
            print("已產生 \(rows) 列名冊與對應役政資料於 \(out)")
        } else {
            try generator.writeSeedSamples(to: seedsURL)
            print("已重新產生範例資料於 \(seeds)")
        }
    }
}
