import Foundation
import GRDB
import DefermentCore
import DefermentFiles
import DefermentStore

/// What a roster file did (名冊處理結果), without personal data.
public struct RosterFileSummary: Sendable {
    public var rows = 0
    private var stateCounts = [Int](repeating: 0, count: ReviewState.allCases.count)
    /// Rows by review state.
    public var byState: [ReviewState: Int] {
        Dictionary(uniqueKeysWithValues: ReviewState.allCases.enumerated().map { ($1, stateCounts[$0]) })
    }
    public var byCounty: [String: Int] = [:]
    public var byReason: [String: Int] = [:]
    public var duplicates = 0
    public var replaced = 0
    public var newSchools: [String] = []
    public var uploadDates: Set<CivilDate> = []
    public var uploadDateSource: UploadDateSource = .arrival
    /// (school code, upload date) pairs the file wrote.
    public var touched: Set<[String]> = []
    /// Counties given a new or changed row (their decision workbooks change).
    public var changedCounties: Set<String> = []

    /// Adds the per-pair tallies of a file's rows.
    mutating func add(_ tallies: [[String]: [OutcomeKey: OutcomeCount]]) {
        for (pair, tally) in tallies {
            touched.insert(pair)
            if let date = CivilDate.parse(pair[1]) { uploadDates.insert(date) }
            for (key, count) in tally {
                rows += count.all
                duplicates += count.duplicates
                replaced += count.replaced
                switch key.state {
                case .notAssigned: stateCounts[0] += count.all
                case .pending: stateCounts[1] += count.all
                case .approved: stateCounts[2] += count.all
                case .refused: stateCounts[3] += count.all
                }
                if let c = key.county {
                    byCounty[c, default: 0] += count.all
                    if count.inserted > 0 || count.replaced > 0 { changedCounties.insert(c) }
                }
                if let r = key.reason { byReason[r.text, default: 0] += count.all }
            }
        }
    }

    /// One line for logs and the ledger: counts only.
    public func line(counties: CountyDirectory) -> String {
        var parts = ["\(rows) 列"]
        for s in ReviewState.allCases { if let n = byState[s], n > 0 { parts.append("\(s.rawValue) \(n)") } }
        if duplicates > 0 { parts.append("重複未再記錄 \(duplicates)") }
        if replaced > 0 { parts.append("更新 \(replaced)") }
        if !newSchools.isEmpty {
            let shown = newSchools.prefix(10).joined(separator: "、")
            parts.append("新增學校 \(shown)" + (newSchools.count > 10 ? " 等 \(newSchools.count) 所" : ""))
        }
        return parts.joined(separator: "，")
    }
}
