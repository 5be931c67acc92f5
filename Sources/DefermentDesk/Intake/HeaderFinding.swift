import Foundation
import GRDB
import DefermentCore
import DefermentFiles
import DefermentStore

private struct NoHeader: Error {}

/// Maps header cells to known columns.
struct HeaderMap<Column: Hashable> {
    let indexOf: [Column: Int]
    let headerRow: Int
    /// The same pairs as an array, for the per-row loop.
    let columns: [(Column, Int)]

    init(indexOf: [Column: Int], headerRow: Int) {
        self.indexOf = indexOf
        self.headerRow = headerRow
        columns = indexOf.map { ($0.key, $0.value) }
    }
}

extension HeaderMap {
    /// The header a file must have: refused with `noHeader` when none was found among the first
    /// rows, or with what `missing` says when a column of `required` is not in it.
    static func checked(_ header: HeaderMap?, required: [Column], noHeader: FileRejection,
                        missing: (HeaderMap, [Column]) -> FileRejection) throws -> HeaderMap {
        guard let header else { throw noHeader }
        let absent = required.filter { header.indexOf[$0] == nil }
        if !absent.isEmpty { throw missing(header, absent) }
        return header
    }
}

/// Looks for the header among the first rows: the first row naming at least three known columns.
/// Calls `body` with each row after it; returns the header, or `nil` when the first ten rows
/// hold none.
func findHeader<Column: Hashable>(_ reader: TableReader, match: (String) -> Column?,
                                  body: (HeaderMap<Column>, TableRow) throws -> Void) throws -> HeaderMap<Column>? {
    var finder = HeaderFinder<Column>()
    do {
        try reader.forEachRow { row in
            if let header = finder.header { return try body(header, row) }
            try finder.look(at: row.cells, number: row.number, match: match)
        }
    } catch is NoHeader {
        return nil
    }
    return finder.header
}

/// ``findHeader(_:match:body:)`` for a reader of cells as bytes (``TableReader/forEachRowBytes(_:)``).
func findHeader<Column: Hashable>(_ reader: TableReader, match: (String) -> Column?,
                                  rowBytes body: (HeaderMap<Column>, TableRowBytes) throws -> Void) throws -> HeaderMap<Column>? {
    var finder = HeaderFinder<Column>()
    do {
        try reader.forEachRowBytes { row in
            if let header = finder.header { return try body(header, row) }
            try finder.look(at: (0..<row.count).map { String(decoding: row[$0], as: UTF8.self) }, number: row.number, match: match)
        }
    } catch is NoHeader {
        return nil
    }
    return finder.header
}

/// The search for a header row, one row at a time.
private struct HeaderFinder<Column: Hashable> {
    var header: HeaderMap<Column>?
    var looked = 0

    /// Takes a row as the header when it names at least three known columns; throws
    /// ``NoHeader`` after the tenth row without one.
    /// A header naming one column twice is refused (which of the two holds the data is a guess).
    mutating func look(at cells: [String], number: Int, match: (String) -> Column?) throws {
        looked += 1
        var map: [Column: Int] = [:]
        var repeated: (cell: String, first: Int, again: Int)?
        for (i, cell) in cells.enumerated() {
            guard let c = match(cell) else { continue }
            if let first = map[c] { if repeated == nil { repeated = (cell, first, i) } } else { map[c] = i }
        }
        if map.count >= 3 {
            if let r = repeated {
                throw FileRejection(problem: "第 \(number) 列的標題列有重複的欄位「\(ShownText.escaped(r.cell.trimmingSpaces()))」"
                                        + "（第 \(r.first + 1) 欄與第 \(r.again + 1) 欄），無法判斷應採用哪一欄。",
                                    fix: "請刪除或更名其中一欄，使每個欄位名稱只出現一次，再重新上傳。")
            }
            header = HeaderMap(indexOf: map, headerRow: number)
        } else if looked >= 10 { throw NoHeader() }
    }
}
