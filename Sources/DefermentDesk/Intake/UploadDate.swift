import Foundation
import GRDB
import DefermentCore
import DefermentFiles
import DefermentStore

/// Where a roster's upload date (上傳日期) came from.
public enum UploadDateSource: String, Sendable {
    case fileName = "檔名"
    case column = "上傳日期欄"
    case arrival = "收檔日"
}

/// Finds the upload date written in a file name as `YYYYMMDD` or `YYYY-MM-DD`: the first one
/// that is a real date from 1990 on, standing apart from other digits (a dash may join it to
/// them, as in `名冊2-20261015.csv` or `20261015-2.csv`).
public func uploadDate(inFileName name: String) -> CivilDate? {
    let chars = Array(name.utf8)
    var i = 0
    while i < chars.count {
        guard chars[i] >= 0x30 && chars[i] <= 0x39 else { i += 1; continue }
        var j = i
        while j < chars.count && ((chars[j] >= 0x30 && chars[j] <= 0x39) || chars[j] == 0x2D) { j += 1 }
        // The run's digit groups between dashes: one group of 8, or three of 4, 2 and 2.
        let groups = chars[i..<j].split(separator: 0x2D, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        for (k, g) in groups.enumerated() {
            var digits: String?
            if g.count == 8 {
                digits = g
            } else if g.count == 4, k + 2 < groups.count, groups[k + 1].count == 2, groups[k + 2].count == 2 {
                digits = g + groups[k + 1] + groups[k + 2]
            }
            if let digits, let y = Int(digits.prefix(4)), let m = Int(digits.dropFirst(4).prefix(2)), let d = Int(digits.suffix(2)),
               y >= 1990, let date = CivilDate(year: y, month: m, day: d) {
                return date
            }
        }
        i = j
    }
    return nil
}
