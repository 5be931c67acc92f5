import Foundation
import GRDB
import DefermentCore
import DefermentStore

/// The operator's CSV export of roster rows (審核結果報表): one school's or one county's rows.
public enum RosterReport {
    /// The columns, in order, exactly as schools and counties know them.
    public static let columns = ["上傳日期", "名冊類別", "身分證字號", "姓名", "出生年月日", "學校代碼", "群科", "年級", "學籍狀態",
                                 "緩徵起始日期", "緩徵終止日期", "分派縣市", "審核狀態", "審核意見", "系統檢核"]

    /// Whose rows to export.
    public enum Scope: Sendable {
        case school(String)
        case county(String)
    }

    /// Writes the rows of `scope` as CSV (RFC 4180, UTF-8 with a BOM so that Excel reads it, CRLF,
    /// formula injection neutralised: the form of the site's `report.csv`) to `write`.
    public static func writeCSV(store: DeskStore, scope: Scope, write: (String) -> Void) throws {
        write("\u{FEFF}" + columns.map(csvField).joined(separator: ",") + "\r\n")
        try store.queue.read { db in
            let (county, school): (String?, String?) = switch scope {
            case .school(let code): (nil, code)
            case .county(let code): (code, nil)
            }
            try DeskStore.forEachReportRow(db, county: county, school: school) { row in
                write(row.reportValues.map { csvField(SpreadsheetText.neutralised($0)) }.joined(separator: ",") + "\r\n")
            }
        }
    }

    /// Whether a byte makes a CSV field need quotes: a comma, quote or line break.
    static func needsQuotes(_ b: UInt8) -> Bool { b == 0x2C || b == 0x22 || b == 0x0A || b == 0x0D }

    /// Quotes a field when it holds a comma, quote or line break.
    public static func csvField(_ s: String) -> String {
        guard s.utf8.contains(where: needsQuotes) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
