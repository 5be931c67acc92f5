import Foundation
import DefermentCore
import DefermentFiles
import DefermentStore
import DefermentSite

/// A decided (or undecided) row as read back from a returned workbook.
public struct ReturnedRow: Sendable {
    /// The sheet it came from (the file name for a CSV).
    public var sheet: String
    /// Its row number in that sheet (1-based, as the spreadsheet shows it).
    public var rowNumber: Int
    /// 序號 as written; `nil` if unreadable.
    public var id: Int64?
    public var identity: [DecisionColumn: String]
    public var decision: String
    public var comment: String
}

/// What a returned decision workbook (or a CSV exported from it) holds.
public struct ReturnedDecisions: Sendable {
    public var tokenText: String?
    public var signOff = SignOff(reviewer: "", approver: "", approvedOn: nil)
    /// 核定日期 as written when it could not be read as a date.
    public var unreadableApprovalDate: String?
    public var rows: [ReturnedRow] = []
    /// Whether any sheet had the roster header.
    public var foundHeader = false
    public var format = ""

    /// Reads a returned file with the streaming readers (the file was saved by Excel,
    /// LibreOffice or another program, not by us). Throws ``TableFileError`` for an unreadable
    /// or hostile file.
    public static func read(_ url: URL, limits: XLSXLimits = .default) throws -> ReturnedDecisions {
        var result = ReturnedDecisions()
        let reader = try TableFile.open(url, limits: limits)
        result.format = reader.formatDescription
        var fromCover: [String: String] = [:]
        var fromSheets: [String: String] = [:]
        if let xlsx = reader as? XLSXReader {
            for sheet in xlsx.sheets {
                try xlsx.forEachRow(sheet: sheet.name) { row in
                    if sheet.name == DecisionWorkbook.coverSheet { collectLabels(row, into: &fromCover) }
                    else { try result.take(row, sheet: sheet.name, labels: &fromSheets) }
                }
            }
        } else {
            let name = url.lastPathComponent
            try reader.forEachRow { row in try result.take(row, sheet: name, labels: &fromSheets) }
        }
        // The cover's fields win; a CSV carries them in its second row.
        func field(_ label: String) -> String {
            let a = fromCover[label] ?? "", b = fromSheets[label] ?? ""
            return a.isEmpty ? b : a
        }
        let dateText = field(DecisionWorkbook.approvedOnLabel)
        let date = CivilDate.parse(dateText)
        if !dateText.isEmpty && date == nil { result.unreadableApprovalDate = dateText }
        result.signOff = SignOff(reviewer: field(DecisionWorkbook.reviewerLabel), approver: field(DecisionWorkbook.approverLabel),
                                 approvedOn: date)
        if result.tokenText == nil { result.tokenText = fromCover["token"] ?? fromSheets["token"] }
        return result
    }

    private static let labels: Set<String> = [DecisionWorkbook.reviewerLabel, DecisionWorkbook.approverLabel,
                                              DecisionWorkbook.approvedOnLabel]

    /// Label–value pairs of rows above the header: the token and the sign-off fields.
    private static func collectLabels(_ row: TableRow, into out: inout [String: String]) {
        let cells = row.cells.map { $0.trimmingSpaces() }
        for (i, cell) in cells.enumerated() {
            if cell.hasPrefix("驗證碼") {
                if let token = cells.dropFirst(i + 1).first(where: { !$0.isEmpty }), out["token"] == nil { out["token"] = token }
            } else if labels.contains(cell), i + 1 < cells.count, (out[cell] ?? "").isEmpty {
                out[cell] = cells[i + 1]
            }
        }
    }

    /// Column positions of each sheet's header, in `DecisionColumn.allCases` order (-1: absent).
    private var headers: [String: [Int]] = [:]
    /// The header of the sheet being read (looked up once per sheet, not per row).
    private var current: (sheet: String, map: [Int])?

    private static let columnOrder = DecisionColumn.allCases
    private static func position(_ c: DecisionColumn) -> Int { columnOrder.firstIndex(of: c)! }
    private static let rowIDAt = position(.rowID), decisionAt = position(.decision), commentAt = position(.comment)
    private static let identityAt = DecisionColumn.identity.map { ($0, position($0)) }

    private mutating func take(_ row: TableRow, sheet: String, labels: inout [String: String]) throws {
        if current?.sheet != sheet { current = headers[sheet].map { (sheet, $0) } }
        guard let map = current?.map else {
            var found = [Int](repeating: -1, count: Self.columnOrder.count)
            for (i, cell) in row.cells.enumerated() {
                if let c = DecisionColumn(rawValue: cell.trimmingSpaces()) {
                    let k = Self.position(c)
                    if found[k] < 0 { found[k] = i }
                }
            }
            if found[Self.rowIDAt] >= 0 && found[Self.decisionAt] >= 0 {
                headers[sheet] = found
                current = (sheet, found)
                foundHeader = true
            } else {
                Self.collectLabels(row, into: &labels)
            }
            return
        }
        if row.isBlank { return }
        let cells = row.cells
        func cell(_ k: Int) -> String {
            let i = map[k]
            return i >= 0 && i < cells.count ? cells[i] : ""
        }
        var identity: [DecisionColumn: String] = [:]
        for (c, k) in Self.identityAt { identity[c] = cell(k).trimmingSpaces() }
        rows.append(ReturnedRow(sheet: sheet, rowNumber: row.number, id: Int64(cell(Self.rowIDAt).trimmingSpaces()), identity: identity,
                                decision: cell(Self.decisionAt), comment: cell(Self.commentAt)))
    }
}
