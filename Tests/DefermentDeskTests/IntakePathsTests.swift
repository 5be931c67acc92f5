import Foundation
import GRDB
import Testing
@testable import DefermentDesk
import DefermentCore

/// The two intake paths over the same rules: the plain one (read a row, decide it, store it)
/// and the throughput engine (threads, sorted chunks, packed rows, the filter of keys seen, the
/// registry in memory) record exactly the same for the same files.
@Suite(.serialized)
struct IntakePathsTests {
    /// The ways a roster can be taken.
    enum Path: String, CaseIterable {
        case plain, engineWithLookups, engineWithRegistryInMemory

        var tuning: RosterIntake.Tuning {
            var t = RosterIntake.Tuning()
            switch self {
            case .plain: t.plainBelow = .max
            case .engineWithLookups: t.plainBelow = 0; t.snapshotThreshold = .max
            case .engineWithRegistryInMemory: t.plainBelow = 0; t.alwaysReadRegistryIntoMemory()
            }
            return t
        }
    }

    /// Everything intake records, one text per table, rows in id order.
    func dump(_ root: URL) throws -> [String: String] {
        let q = try DatabaseQueue(path: DeskPaths(root: root).database.path)
        let tables = [
            "roster_row": "SELECT * FROM roster_row ORDER BY id",
            "person": "SELECT * FROM person ORDER BY national_id",
            "roster_counts": "SELECT * FROM roster_counts ORDER BY 1, 2, 3, 4, 5",
            "school": "SELECT * FROM school ORDER BY code",
            "input_file": "SELECT id, kind, original_name, row_count, summary, upload_date, upload_date_source, format FROM input_file ORDER BY id",
            "group_version": "SELECT * FROM group_version ORDER BY 1",
            "mail_queue": "SELECT COUNT(*) FROM mail_queue",
        ]
        return try q.read { db in
            try tables.mapValues { sql in try Row.fetchAll(db, sql: sql).map(\.description).joined(separator: "\n") }
        }
    }

    /// A month of `rows` rows with every outcome, then the same roster's rows again (identical:
    /// duplicates) and resent with another 群科 (replaced), and a second file resending some.
    func inputs(rows: Int) throws -> (registry: Data, roster: Data, resend: Data) {
        let bulk = try temporaryRoot("paths-\(rows)").appendingPathComponent("bulk")
        let gen = try runCLI(["samples", "--seeds", seedsFolder.path, "--rows", String(rows), "--schools", "12", "--out", bulk.path])
        #expect(gen.status == 0, "\(gen.err)")
        let registry = try Data(contentsOf: bulk.appendingPathComponent("registry.csv"))
        let text = try String(contentsOf: bulk.appendingPathComponent("roster-20261115.csv"), encoding: .utf8)
        var lines = text.split(whereSeparator: \.isNewline).map(String.init)   // CRLF, as Excel writes
        let header = lines.removeFirst()
        let programColumn = header.split(separator: ",", omittingEmptySubsequences: false).firstIndex { $0.contains("群科") }!
        func reprogrammed(_ line: String) -> String {
            var cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            cells[programColumn] = "資訊科"
            return cells.joined(separator: ",")
        }
        let some = max(1, rows / 20)
        let roster = ([header] + lines + lines.prefix(some) + lines.dropFirst(some).prefix(some).map(reprogrammed)).joined(separator: "\n") + "\n"
        let resend = ([header] + lines.suffix(some).map(reprogrammed)).joined(separator: "\n") + "\n"
        return (registry, Data(roster.utf8), Data(resend.utf8))
    }

    @Test(arguments: [300, 5_000, 20_000])
    func theEngineRecordsWhatThePlainPathRecords(_ rows: Int) throws {
        let (registry, roster, resend) = try inputs(rows: rows)
        var dumps: [Path: [String: String]] = [:]
        for path in Path.allCases {
            let root = try temporaryRoot("paths-\(rows)-\(path.rawValue)")
            let desk = try openDesk(root)
            desk.rosterTuning = path.tuning
            try drop(registry, as: "registry.csv", into: .registry, root: root)
            try drop(roster, as: "roster-20261115.csv", into: .rosters, root: root)
            let first = try desk.runOnce()
            #expect(first.files.allSatisfy { if case .applied = $0.result { return true }; return false }, "\(path): \(first.files)")
            try drop(resend, as: "resend-20261115.csv", into: .rosters, root: root)
            let second = try desk.runOnce()
            #expect(second.files.allSatisfy { if case .applied = $0.result { return true }; return false }, "\(path): \(second.files)")
            dumps[path] = try dump(root)
        }
        let reference = try #require(dumps[.plain])
        #expect(reference["roster_row"]?.split(separator: "\n").count ?? 0 >= rows)
        #expect(reference["input_file"]?.contains("重複未再記錄") == true)
        for path in Path.allCases where path != .plain {
            for table in reference.keys.sorted() {
                #expect(dumps[path]?[table] == reference[table], "\(path) differs from the plain path in \(table)")
            }
        }
    }
}

extension IntakePathsTests {
    /// When a roster is checked against the registry read into memory: a national roster always;
    /// a month's roster onto a registry of a year's students only when the registry is in memory
    /// already (an extract just applied) or the file has about one row per five people.
    @Test(arguments: [
        (2_354_818, 459_574 as Int?, false),   // 20,000 rows onto a year's registry: looked up
        (2_354_818, nil, true),                // the same after an extract in the same run
        (120_000_000, 1_460_000, true),        // a national roster of a million rows
        (11_100_000, 459_574, true),           // 92,500 rows: one row per five people
        (10_900_000, 459_574, false),
        (1_000_000, nil, false),               // small: the plain path's size
        (2_400_000, 0, true),
    ] as [(Int, Int?, Bool)])
    func aRosterReadsTheRegistryIntoMemoryOnlyWhereThatIsCheaper(_ size: Int, _ people: Int?, _ inMemory: Bool) {
        #expect(RosterIntake.Tuning().readsRegistryIntoMemory(fileSize: size, people: people) == inMemory)
    }
}
