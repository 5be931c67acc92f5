import CXLSXWriter
import Foundation

/// A worksheet of a ``Workbook`` (工作表): cells, column widths, a frozen header, a filter,
/// dropdown columns, a column chart and protection.
public final class WorkbookSheet {
    let pointer: UnsafeMutablePointer<lxw_worksheet>?
    public let name: String
    private unowned let workbook: Workbook

    init(pointer: UnsafeMutablePointer<lxw_worksheet>?, name: String, workbook: Workbook) {
        self.pointer = pointer
        self.name = name
        self.workbook = workbook
    }

    /// Writes text (an empty text leaves the cell blank, keeping its format).
    public func write(_ row: Int, _ col: Int, _ text: String, _ format: Workbook.Format? = nil) {
        guard let pointer else { return }
        let rc = text.isEmpty
            ? worksheet_write_blank(pointer, lxw_row_t(row), lxw_col_t(col), format?.pointer)
            : worksheet_write_string(pointer, lxw_row_t(row), lxw_col_t(col), text, format?.pointer)
        workbook.check(rc, "\(name)!\(Self.cellName(row, col))")
    }

    /// Writes a number.
    public func write(_ row: Int, _ col: Int, number: Double, _ format: Workbook.Format? = nil) {
        guard let pointer else { return }
        workbook.check(worksheet_write_number(pointer, lxw_row_t(row), lxw_col_t(col), number, format?.pointer),
                       "\(name)!\(Self.cellName(row, col))")
    }

    /// Writes a formula with the text it shows until the spreadsheet recalculates.
    public func write(_ row: Int, _ col: Int, formula: String, result: String, _ format: Workbook.Format? = nil) {
        guard let pointer else { return }
        workbook.check(worksheet_write_formula_str(pointer, lxw_row_t(row), lxw_col_t(col), formula, format?.pointer, result),
                       "\(name)!\(Self.cellName(row, col))")
    }

    /// Sets a column's width in characters.
    public func setColumnWidth(_ col: Int, _ width: Double, _ format: Workbook.Format? = nil) {
        guard let pointer else { return }
        workbook.check(worksheet_set_column(pointer, lxw_col_t(col), lxw_col_t(col), width, format?.pointer), "\(name) 欄寬")
    }

    /// Keeps the first `rows` rows in view when scrolling.
    public func freezeRows(_ rows: Int) {
        guard let pointer else { return }
        worksheet_freeze_panes(pointer, lxw_row_t(rows), 0)
    }

    /// Puts a filter on a header row and the rows below it.
    public func autofilter(firstRow: Int, firstCol: Int, lastRow: Int, lastCol: Int) {
        guard let pointer else { return }
        workbook.check(worksheet_autofilter(pointer, lxw_row_t(firstRow), lxw_col_t(firstCol), lxw_row_t(lastRow), lxw_col_t(lastCol)),
                       "\(name) 篩選")
    }

    /// A dropdown of `values` in a column's rows; anything else is refused with a message that
    /// lists them, and `prompt` shows when a cell is selected.
    public func dropdown(firstRow: Int, lastRow: Int, col: Int, values: [String], prompt: String? = nil) {
        guard let pointer else { return }
        var list: [UnsafeMutablePointer<CChar>?] = values.map { workbook.keep($0) }
        list.append(nil)
        var rule = lxw_data_validation()
        rule.validate = UInt8(LXW_VALIDATION_TYPE_LIST.rawValue)
        if let prompt {
            rule.input_message = workbook.keep(prompt)
            rule.error_title = workbook.keep("輸入值無效")
            rule.error_message = workbook.keep("請從清單中選擇：" + values.joined(separator: "、"))
        }
        list.withUnsafeMutableBufferPointer { buffer in
            rule.value_list = buffer.baseAddress
            workbook.check(worksheet_data_validation_range(pointer, lxw_row_t(firstRow), lxw_col_t(col), lxw_row_t(lastRow),
                lxw_col_t(col), &rule),
                           "\(name) 下拉選單")
        }
    }

    /// Places a clustered column chart with its top-left corner at a cell.
    public func insertChart(_ row: Int, _ col: Int, _ chart: ColumnChart) {
        guard let pointer else { return }
        chart.insert(into: pointer, row: row, col: col, workbook: workbook)
    }

    /// Locks the sheet: only cells of an unlocked format can be edited; with `allowFilter` the
    /// filter, sorting and column widths still work.
    public func protect(allowFilter: Bool = false) {
        guard let pointer else { return }
        var options = lxw_protection()
        if allowFilter {
            options.autofilter = 1
            options.sort = 1
            options.format_columns = 1
        }
        worksheet_protect(pointer, nil, &options)
    }

    /// Makes this the sheet shown when the workbook opens.
    public func activate() {
        guard let pointer else { return }
        worksheet_activate(pointer)
    }

    /// The column's letters (0 → A, 26 → AA).
    public static func columnName(_ col: Int) -> String {
        var n = col + 1
        var name = ""
        while n > 0 {
            n -= 1
            name = String(UnicodeScalar(UInt8(65 + n % 26))) + name
            n /= 26
        }
        return name
    }

    /// A cell's A1 name.
    public static func cellName(_ row: Int, _ col: Int) -> String { columnName(col) + String(row + 1) }

    /// How many character widths a text takes: two for CJK and other wide characters.
    public static func displayWidth(_ text: String) -> Int {
        var width = 0
        // Read as UTF-8 (reports measure every cell): a lead byte starts a character, and only
        // characters of three or four bytes can be wide.
        var scalar: UInt32 = 0, pending = 0
        for b in text.utf8 {
            if b < 0x80 { width += 1; continue }
            if b >= 0xC0 {
                scalar = b >= 0xF0 ? UInt32(b & 0x07) : (b >= 0xE0 ? UInt32(b & 0x0F) : UInt32(b & 0x1F))
                pending = b >= 0xF0 ? 3 : (b >= 0xE0 ? 2 : 1)
                continue
            }
            scalar = scalar << 6 | UInt32(b & 0x3F)
            pending -= 1
            if pending == 0 { width += isWide(scalar) ? 2 : 1 }
        }
        return width
    }

    /// Whether a character takes two widths: CJK and other wide characters.
    static func isWide(_ value: UInt32) -> Bool {
        switch value {
        case 0x1100...0x115F, 0x2E80...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6,
             0x20000...0x3FFFD:
            return true
        default:
            return false
        }
    }
}
