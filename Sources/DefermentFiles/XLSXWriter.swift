import Foundation
import CXlsxWriter

/// Why a workbook could not be written.
public struct XLSXWriteError: Error, CustomStringConvertible {
    public var description: String
}

/// A thin, safe wrapper over libxlsxwriter for the desk's workbooks (reports, templates).
///
/// Rows of a sheet must be written in order (the workbook uses libxlsxwriter's constant-memory
/// mode, so a million-row sheet never sits in memory).
public final class XLSXWorkbook {
    private var workbook: UnsafeMutablePointer<lxw_workbook>?
    private var cStrings: [UnsafeMutablePointer<CChar>] = []
    private var cStringArrays: [UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>] = []
    public let path: String

    /// Creates a workbook that will be written to `path` on ``close()``.
    public init(path: String, constantMemory: Bool = true) throws {
        self.path = path
        var options = lxw_workbook_options()
        options.constant_memory = constantMemory ? 1 : 0
        options.use_zip64 = 1
        workbook = workbook_new_opt(path, &options)
        guard workbook != nil else { throw XLSXWriteError(description: "cannot create \(path)") }
    }

    deinit {
        if workbook != nil { _ = workbook_close(workbook) }
        for p in cStrings { free(p) }
        for a in cStringArrays { a.deallocate() }
    }

    /// A cell format.
    public struct Format {
        let pointer: UnsafeMutablePointer<lxw_format>
    }

    /// Options of a format.
    public struct FormatOptions {
        public var bold = false
        public var fontColor: UInt32? = nil
        public var background: UInt32? = nil
        public var wrap = false
        public var unlocked = false
        public init(bold: Bool = false, fontColor: UInt32? = nil, background: UInt32? = nil, wrap: Bool = false, unlocked: Bool = false) {
            self.bold = bold
            self.fontColor = fontColor
            self.background = background
            self.wrap = wrap
            self.unlocked = unlocked
        }
    }

    /// Adds a format.
    public func format(_ o: FormatOptions) -> Format {
        let f = workbook_add_format(workbook)!
        if o.bold { format_set_bold(f) }
        if let c = o.fontColor { format_set_font_color(f, c) }
        if let c = o.background { format_set_pattern(f, UInt8(LXW_PATTERN_SOLID.rawValue)); format_set_bg_color(f, c) }
        if o.wrap { format_set_text_wrap(f) }
        if o.unlocked { format_set_unlocked(f) }
        return Format(pointer: f)
    }

    /// Adds a worksheet.
    public func addSheet(_ name: String) -> XLSXSheet {
        XLSXSheet(workbook: self, sheet: workbook_add_worksheet(workbook, name)!)
    }

    /// Sets a custom document property (used for tokens by later stages).
    public func setCustomProperty(_ name: String, _ value: String) {
        _ = workbook_set_custom_property_string(workbook, name, value)
    }

    /// Sets the document's title and creation time (a fixed time keeps the bytes reproducible).
    public func setProperties(title: String, created: Date) {
        var p = lxw_doc_properties()
        p.title = keep(title)
        p.created = time_t(created.timeIntervalSince1970)
        workbook_set_properties(workbook, &p)
    }

    /// A column chart of one or more series on a sheet's ranges.
    public func addColumnChart(title: String, series: [(name: String, categories: String, values: String)]) -> UnsafeMutablePointer<lxw_chart> {
        let chart = workbook_add_chart(workbook, UInt8(LXW_CHART_COLUMN.rawValue))!
        chart_title_set_name(chart, title)
        for s in series {
            let ser = chart_add_series(chart, s.categories, s.values)
            chart_series_set_name(ser, s.name)
        }
        return chart
    }

    func keep(_ s: String) -> UnsafeMutablePointer<CChar> {
        let p = strdup(s)!
        cStrings.append(p)
        return p
    }

    func keepList(_ values: [String]) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> {
        let list = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: values.count + 1)
        for (i, v) in values.enumerated() { list[i] = keep(v) }
        list[values.count] = nil
        cStringArrays.append(list)
        return list
    }

    /// Writes the file. The workbook cannot be used afterwards.
    public func close() throws {
        let rc = workbook_close(workbook)
        workbook = nil
        guard rc == LXW_NO_ERROR else {
            throw XLSXWriteError(description: "writing \(path) failed: \(String(cString: lxw_strerror(rc)))")
        }
    }
}

/// A worksheet of an ``XLSXWorkbook``.
public struct XLSXSheet {
    let workbook: XLSXWorkbook
    let sheet: UnsafeMutablePointer<lxw_worksheet>

    /// Writes text; an empty string leaves the cell blank.
    public func write(_ row: Int, _ col: Int, _ text: String, _ format: XLSXWorkbook.Format? = nil) {
        if text.isEmpty {
            if let format { worksheet_write_blank(sheet, lxw_row_t(row), lxw_col_t(col), format.pointer) }
            return
        }
        worksheet_write_string(sheet, lxw_row_t(row), lxw_col_t(col), text, format?.pointer)
    }

    /// Writes a number.
    public func write(_ row: Int, _ col: Int, number: Double, _ format: XLSXWorkbook.Format? = nil) {
        worksheet_write_number(sheet, lxw_row_t(row), lxw_col_t(col), number, format?.pointer)
    }

    /// Sets a column's width in characters.
    public func setColumnWidth(_ col: Int, _ width: Double, _ format: XLSXWorkbook.Format? = nil) {
        worksheet_set_column(sheet, lxw_col_t(col), lxw_col_t(col), width, format?.pointer)
    }

    /// Freezes the rows above `row`.
    public func freezeRows(_ row: Int) { worksheet_freeze_panes(sheet, lxw_row_t(row), 0) }

    /// An autofilter over a range.
    public func autofilter(firstRow: Int, firstCol: Int, lastRow: Int, lastCol: Int) {
        worksheet_autofilter(sheet, lxw_row_t(firstRow), lxw_col_t(firstCol), lxw_row_t(lastRow), lxw_col_t(lastCol))
    }

    /// A dropdown of `values` over a range of cells.
    public func dropdown(firstRow: Int, lastRow: Int, col: Int, values: [String], prompt: String? = nil) {
        var v = lxw_data_validation()
        v.validate = UInt8(LXW_VALIDATION_TYPE_LIST.rawValue)
        v.value_list = workbook.keepList(values)
        if let prompt {
            v.input_message = workbook.keep(prompt)
            v.error_message = workbook.keep("請從清單中選擇：" + values.joined(separator: "、"))
            v.error_title = workbook.keep("輸入值無效")
        }
        worksheet_data_validation_range(sheet, lxw_row_t(firstRow), lxw_col_t(col), lxw_row_t(lastRow), lxw_col_t(col), &v)
    }

    /// Inserts a chart at a cell.
    public func insertChart(_ row: Int, _ col: Int, _ chart: UnsafeMutablePointer<lxw_chart>) {
        worksheet_insert_chart(sheet, lxw_row_t(row), lxw_col_t(col), chart)
    }

    /// Protects the sheet: only cells with an unlocked format can be edited. With
    /// `allowFilter`, the autofilter and sorting still work on the protected sheet.
    public func protect(allowFilter: Bool = false) {
        guard allowFilter else { worksheet_protect(sheet, nil, nil); return }
        var options = lxw_protection()
        options.autofilter = 1
        options.sort = 1
        options.format_columns = 1
        worksheet_protect(sheet, nil, &options)
    }

    /// Writes a formula with the text result shown until the spreadsheet recalculates.
    public func write(_ row: Int, _ col: Int, formula: String, result: String, _ format: XLSXWorkbook.Format? = nil) {
        worksheet_write_formula_str(sheet, lxw_row_t(row), lxw_col_t(col), formula, format?.pointer, result)
    }

    /// Makes this the sheet shown when the workbook opens.
    public func activate() { worksheet_activate(sheet) }

    /// Hides the sheet.
    public func hide() { worksheet_hide(sheet) }

    /// Display width of text in a spreadsheet column: a CJK or full-width character counts as two.
    public static func displayWidth(_ text: String) -> Int {
        var w = 0
        for u in text.unicodeScalars {
            let v = u.value
            let wide = (v >= 0x1100 && v <= 0x115F) || (v >= 0x2E80 && v <= 0xA4CF) || (v >= 0xAC00 && v <= 0xD7A3)
                || (v >= 0xF900 && v <= 0xFAFF) || (v >= 0xFE30 && v <= 0xFE4F) || (v >= 0xFF00 && v <= 0xFF60)
                || (v >= 0xFFE0 && v <= 0xFFE6) || (v >= 0x20000 && v <= 0x3FFFD)
            w += wide ? 2 : 1
        }
        return w
    }
}
