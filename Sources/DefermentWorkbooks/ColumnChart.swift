import CXLSXWriter
import Foundation

/// A clustered column chart (直條圖) over a block of one sheet: category labels in one column and
/// one series per column of numbers, each named by its header.
public struct ColumnChart: Sendable {
    public var title: String
    /// The sheet the data is on.
    public var sheet: String
    /// The 0-based rows of the categories and values (the header row above them names the series).
    public var rows: ClosedRange<Int>
    /// The column of the category labels.
    public var categoryColumn: Int
    /// Each series: its name and the column of its values.
    public var series: [(name: String, column: Int)]

    public init(title: String, sheet: String, rows: ClosedRange<Int>, categoryColumn: Int, series: [(name: String, column: Int)]) {
        self.title = title
        self.sheet = sheet
        self.rows = rows
        self.categoryColumn = categoryColumn
        self.series = series
    }

    func insert(into worksheet: UnsafeMutablePointer<lxw_worksheet>, row: Int, col: Int, workbook: Workbook) {
        guard let chart = workbook.addChart(type: UInt8(LXW_CHART_COLUMN.rawValue)) else {
            workbook.note("圖表無法建立：\(title)")
            return
        }
        chart_title_set_name(chart, workbook.keep(title))
        let sheetName = workbook.keep(sheet)
        for s in series {
            let added = chart_add_series(chart, nil, nil)
            chart_series_set_categories(added, sheetName, lxw_row_t(rows.lowerBound), lxw_col_t(categoryColumn),
                                        lxw_row_t(rows.upperBound), lxw_col_t(categoryColumn))
            chart_series_set_values(added, sheetName, lxw_row_t(rows.lowerBound), lxw_col_t(s.column),
                                    lxw_row_t(rows.upperBound), lxw_col_t(s.column))
            chart_series_set_name(added, workbook.keep(s.name))
        }
        workbook.check(worksheet_insert_chart(worksheet, lxw_row_t(row), lxw_col_t(col), chart), "\(sheet) 圖表")
    }
}
