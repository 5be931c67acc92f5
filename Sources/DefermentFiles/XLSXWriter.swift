import Foundation

/// Why a workbook could not be written.
public struct XLSXWriteError: Error, CustomStringConvertible {
    public var description: String
}

/// Writes the desk's workbooks (reports, decision workbooks, roster templates) as Office Open XML
/// spreadsheets (ECMA-376), streaming: a sheet's rows become XML as they are written and are
/// compressed (``DeflatedEntry``) a megabyte at a time, so a million-row sheet never
/// sits in memory uncompressed. The same calls always give the same bytes.
///
/// What it writes is what the desk needs: inline strings, numbers, formulas with a cached text
/// result, cell formats (bold, font colour, fill, wrapping, unlocked), column widths, frozen
/// header rows, autofilters, list dropdowns with a prompt, sheet protection and one column chart.
///
/// Rows of a sheet are written in ascending order, and cells of a row in ascending columns;
/// settings (widths, frozen rows, filters, dropdowns, protection) can come at any time.
public final class XLSXWorkbook {
    /// A cell format (a `cellXfs` entry of the styles part).
    public struct Format: Sendable, Equatable {
        let index: Int
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

    /// A clustered column chart over ranges of a sheet, with the values it shows until the
    /// spreadsheet recalculates.
    public struct ColumnChart {
        public var title: String
        /// The category labels: their range (e.g. `'依縣市統計'!$A$2:$A$5`) and values.
        public var categories: (range: String, values: [String])
        public var series: [(name: String, range: String, values: [Double])]
        public init(title: String, categories: (range: String, values: [String]), series: [(name: String, range: String, values: [Double])]) {
            self.title = title
            self.categories = categories
            self.series = series
        }
    }

    private var formats: [FormatOptions] = []
    private var sheets: [XLSXSheet] = []
    private var title = ""
    private var created = Date(timeIntervalSince1970: 0)
    var charts: [ColumnChart] = []
    private var closed = false

    /// A workbook whose bytes ``data()`` returns.
    public init() {}

    /// Adds a format.
    public func format(_ o: FormatOptions) -> Format {
        formats.append(o)
        return Format(index: formats.count)   // cellXfs 0 is the default format
    }

    /// Adds a worksheet (names are unique, at most 31 characters, without `[]:*?/\`).
    public func addSheet(_ name: String) -> XLSXSheet {
        let sheet = XLSXSheet(name: name, index: sheets.count, workbook: self)
        sheets.append(sheet)
        return sheet
    }

    /// Sets the document's title and creation time (a fixed time keeps the bytes reproducible).
    public func setProperties(title: String, created: Date) {
        self.title = title
        self.created = created
    }

    /// Finishes the workbook and returns its bytes. The workbook cannot be used afterwards.
    public func data() throws -> Data {
        precondition(!closed, "XLSXWorkbook finished twice")
        closed = true
        var zip = ZipArchiveWriter()
        let active = sheets.firstIndex(where: \.isActive) ?? 0
        try zip.add("[Content_Types].xml", bytes: contentTypes())
        try zip.add("_rels/.rels", bytes: Array(Self.packageRels.utf8))
        try zip.add("docProps/app.xml", bytes: Array(Self.appProperties.utf8))
        try zip.add("docProps/core.xml", bytes: coreProperties())
        try zip.add("xl/workbook.xml", bytes: workbookXML(active: active))
        try zip.add("xl/_rels/workbook.xml.rels", bytes: workbookRels())
        try zip.add("xl/styles.xml", bytes: stylesXML())
        var chartNumber = 0
        for sheet in sheets {
            try zip.add("xl/worksheets/sheet\(sheet.index + 1).xml", try sheet.finish(selected: sheet.index == active))
            if !sheet.charts.isEmpty {
                var rels = XMLBytes()
                rels.raw(Self.relsHead)
                rels.raw("<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/drawing\" Target=\"../drawings/drawing\(sheet.index + 1).xml\"/></Relationships>")
                try zip.add("xl/worksheets/_rels/sheet\(sheet.index + 1).xml.rels", bytes: rels.bytes)
                var drawing = XMLBytes()
                var drawingRels = XMLBytes()
                drawing.raw("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<xdr:wsDr xmlns:xdr=\"http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing\" xmlns:a=\"http://schemas.openxmlformats.org/drawingml/2006/main\">")
                drawingRels.raw(Self.relsHead)
                for (k, placed) in sheet.charts.enumerated() {
                    chartNumber += 1
                    drawing.raw("<xdr:twoCellAnchor><xdr:from><xdr:col>\(placed.col)</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>\(placed.row)</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:to><xdr:col>\(placed.col + 8)</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>\(placed.row + 15)</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:to><xdr:graphicFrame macro=\"\"><xdr:nvGraphicFramePr><xdr:cNvPr id=\"\(k + 2)\" name=\"Chart \(k + 1)\"/><xdr:cNvGraphicFramePr/></xdr:nvGraphicFramePr><xdr:xfrm><a:off x=\"0\" y=\"0\"/><a:ext cx=\"0\" cy=\"0\"/></xdr:xfrm><a:graphic><a:graphicData uri=\"http://schemas.openxmlformats.org/drawingml/2006/chart\"><c:chart xmlns:c=\"http://schemas.openxmlformats.org/drawingml/2006/chart\" xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\" r:id=\"rId\(k + 1)\"/></a:graphicData></a:graphic></xdr:graphicFrame><xdr:clientData/></xdr:twoCellAnchor>")
                    drawingRels.raw("<Relationship Id=\"rId\(k + 1)\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/chart\" Target=\"../charts/chart\(chartNumber).xml\"/>")
                    try zip.add("xl/charts/chart\(chartNumber).xml", bytes: chartXML(charts[placed.chart]))
                }
                drawing.raw("</xdr:wsDr>")
                drawingRels.raw("</Relationships>")
                try zip.add("xl/drawings/drawing\(sheet.index + 1).xml", bytes: drawing.bytes)
                try zip.add("xl/drawings/_rels/drawing\(sheet.index + 1).xml.rels", bytes: drawingRels.bytes)
            }
        }
        return try zip.finish()
    }

    // MARK: - Package parts

    static let xmlHead = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
    static let relsHead = xmlHead + "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
    static let packageRels = relsHead
        + "<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"xl/workbook.xml\"/>"
        + "<Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties\" Target=\"docProps/core.xml\"/>"
        + "<Relationship Id=\"rId3\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties\" Target=\"docProps/app.xml\"/></Relationships>"
    static let appProperties = xmlHead
        + "<Properties xmlns=\"http://schemas.openxmlformats.org/officeDocument/2006/extended-properties\"><Application>deferment desk</Application><DocSecurity>0</DocSecurity></Properties>"

    private func contentTypes() -> [UInt8] {
        var x = XMLBytes()
        x.raw(Self.xmlHead)
        x.raw("<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"><Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/><Default Extension=\"xml\" ContentType=\"application/xml\"/>")
        x.raw("<Override PartName=\"/docProps/app.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.extended-properties+xml\"/><Override PartName=\"/docProps/core.xml\" ContentType=\"application/vnd.openxmlformats-package.core-properties+xml\"/><Override PartName=\"/xl/styles.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml\"/><Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>")
        for s in sheets {
            x.raw("<Override PartName=\"/xl/worksheets/sheet\(s.index + 1).xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>")
            if !s.charts.isEmpty {
                x.raw("<Override PartName=\"/xl/drawings/drawing\(s.index + 1).xml\" ContentType=\"application/vnd.openxmlformats-officedocument.drawing+xml\"/>")
            }
        }
        for n in 0..<sheets.reduce(0, { $0 + $1.charts.count }) {
            x.raw("<Override PartName=\"/xl/charts/chart\(n + 1).xml\" ContentType=\"application/vnd.openxmlformats-officedocument.drawingml.chart+xml\"/>")
        }
        x.raw("</Types>")
        return x.bytes
    }

    private func coreProperties() -> [UInt8] {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd'T'HH:mm:ss'Z'"
        let when = f.string(from: created)
        var x = XMLBytes()
        x.raw(Self.xmlHead)
        x.raw("<cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:dcterms=\"http://purl.org/dc/terms/\" xmlns:dcmitype=\"http://purl.org/dc/dcmitype/\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><dc:title>")
        x.text(title)
        x.raw("</dc:title><dcterms:created xsi:type=\"dcterms:W3CDTF\">\(when)</dcterms:created><dcterms:modified xsi:type=\"dcterms:W3CDTF\">\(when)</dcterms:modified></cp:coreProperties>")
        return x.bytes
    }

    private func workbookXML(active: Int) -> [UInt8] {
        var x = XMLBytes()
        x.raw(Self.xmlHead)
        x.raw("<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\"><workbookPr/><bookViews><workbookView activeTab=\"\(active)\"/></bookViews><sheets>")
        for s in sheets {
            x.raw("<sheet name=\""); x.attribute(s.name); x.raw("\" sheetId=\"\(s.index + 1)\" r:id=\"rId\(s.index + 1)\"/>")
        }
        x.raw("</sheets>")
        let filtered = sheets.filter { $0.filterRange != nil }
        if !filtered.isEmpty {
            x.raw("<definedNames>")
            for s in filtered {
                x.raw("<definedName name=\"_xlnm._FilterDatabase\" localSheetId=\"\(s.index)\" hidden=\"1\">")
                x.text(s.quotedName + "!" + s.filterRange!.absolute)
                x.raw("</definedName>")
            }
            x.raw("</definedNames>")
        }
        x.raw("<calcPr calcId=\"124519\" fullCalcOnLoad=\"1\"/></workbook>")
        return x.bytes
    }

    private func workbookRels() -> [UInt8] {
        var x = XMLBytes()
        x.raw(Self.relsHead)
        for s in sheets {
            x.raw("<Relationship Id=\"rId\(s.index + 1)\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"worksheets/sheet\(s.index + 1).xml\"/>")
        }
        x.raw("<Relationship Id=\"rId\(sheets.count + 1)\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles\" Target=\"styles.xml\"/></Relationships>")
        return x.bytes
    }

    private static func argb(_ rgb: UInt32) -> String { "FF" + String(format: "%06X", rgb & 0xFFFFFF) }

    private func stylesXML() -> [UInt8] {
        var x = XMLBytes()
        x.raw(Self.xmlHead)
        x.raw("<styleSheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">")
        // One font and one fill per format (duplicates are allowed), after the defaults.
        x.raw("<fonts count=\"\(formats.count + 1)\"><font><sz val=\"11\"/><name val=\"Calibri\"/><family val=\"2\"/></font>")
        for f in formats {
            x.raw("<font>")
            if f.bold { x.raw("<b/>") }
            x.raw("<sz val=\"11\"/>")
            if let c = f.fontColor { x.raw("<color rgb=\"\(Self.argb(c))\"/>") }
            x.raw("<name val=\"Calibri\"/><family val=\"2\"/></font>")
        }
        x.raw("</fonts><fills count=\"\(formats.count + 2)\"><fill><patternFill patternType=\"none\"/></fill><fill><patternFill patternType=\"gray125\"/></fill>")
        for f in formats {
            if let c = f.background {
                x.raw("<fill><patternFill patternType=\"solid\"><fgColor rgb=\"\(Self.argb(c))\"/><bgColor indexed=\"64\"/></patternFill></fill>")
            } else {
                x.raw("<fill><patternFill patternType=\"none\"/></fill>")
            }
        }
        x.raw("</fills><borders count=\"1\"><border><left/><right/><top/><bottom/><diagonal/></border></borders>")
        x.raw("<cellStyleXfs count=\"1\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\"/></cellStyleXfs>")
        x.raw("<cellXfs count=\"\(formats.count + 1)\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\"/>")
        for (i, f) in formats.enumerated() {
            x.raw("<xf numFmtId=\"0\" fontId=\"\(i + 1)\" fillId=\"\(i + 2)\" borderId=\"0\" xfId=\"0\" applyFont=\"1\"")
            if f.background != nil { x.raw(" applyFill=\"1\"") }
            if f.wrap { x.raw(" applyAlignment=\"1\"") }
            if f.unlocked { x.raw(" applyProtection=\"1\"") }
            if !f.wrap && !f.unlocked { x.raw("/>"); continue }
            x.raw(">")
            if f.wrap { x.raw("<alignment wrapText=\"1\"/>") }
            if f.unlocked { x.raw("<protection locked=\"0\"/>") }
            x.raw("</xf>")
        }
        x.raw("</cellXfs><cellStyles count=\"1\"><cellStyle name=\"Normal\" xfId=\"0\" builtinId=\"0\"/></cellStyles><dxfs count=\"0\"/><tableStyles count=\"0\"/></styleSheet>")
        return x.bytes
    }

    private func chartXML(_ chart: ColumnChart) -> [UInt8] {
        var x = XMLBytes()
        x.raw(Self.xmlHead)
        x.raw("<c:chartSpace xmlns:c=\"http://schemas.openxmlformats.org/drawingml/2006/chart\" xmlns:a=\"http://schemas.openxmlformats.org/drawingml/2006/main\" xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\"><c:lang val=\"zh-TW\"/><c:chart><c:title><c:tx><c:rich><a:bodyPr/><a:lstStyle/><a:p><a:pPr><a:defRPr/></a:pPr><a:r><a:rPr lang=\"zh-TW\"/><a:t>")
        x.text(chart.title)
        x.raw("</a:t></a:r></a:p></c:rich></c:tx><c:layout/></c:title><c:plotArea><c:layout/><c:barChart><c:barDir val=\"col\"/><c:grouping val=\"clustered\"/>")
        for (i, s) in chart.series.enumerated() {
            x.raw("<c:ser><c:idx val=\"\(i)\"/><c:order val=\"\(i)\"/><c:tx><c:v>"); x.text(s.name)
            x.raw("</c:v></c:tx><c:cat><c:strRef><c:f>"); x.text(chart.categories.range)
            x.raw("</c:f><c:strCache><c:ptCount val=\"\(chart.categories.values.count)\"/>")
            for (k, v) in chart.categories.values.enumerated() { x.raw("<c:pt idx=\"\(k)\"><c:v>"); x.text(v); x.raw("</c:v></c:pt>") }
            x.raw("</c:strCache></c:strRef></c:cat><c:val><c:numRef><c:f>"); x.text(s.range)
            x.raw("</c:f><c:numCache><c:formatCode>General</c:formatCode><c:ptCount val=\"\(s.values.count)\"/>")
            for (k, v) in s.values.enumerated() { x.raw("<c:pt idx=\"\(k)\"><c:v>"); x.number(v); x.raw("</c:v></c:pt>") }
            x.raw("</c:numCache></c:numRef></c:val></c:ser>")
        }
        x.raw("<c:axId val=\"50010001\"/><c:axId val=\"50010002\"/></c:barChart><c:catAx><c:axId val=\"50010001\"/><c:scaling><c:orientation val=\"minMax\"/></c:scaling><c:axPos val=\"b\"/><c:tickLblPos val=\"nextTo\"/><c:crossAx val=\"50010002\"/><c:crosses val=\"autoZero\"/><c:auto val=\"1\"/><c:lblAlgn val=\"ctr\"/><c:lblOffset val=\"100\"/></c:catAx><c:valAx><c:axId val=\"50010002\"/><c:scaling><c:orientation val=\"minMax\"/></c:scaling><c:axPos val=\"l\"/><c:majorGridlines/><c:numFmt formatCode=\"General\" sourceLinked=\"1\"/><c:tickLblPos val=\"nextTo\"/><c:crossAx val=\"50010001\"/><c:crosses val=\"autoZero\"/><c:crossBetween val=\"between\"/></c:valAx></c:plotArea><c:legend><c:legendPos val=\"r\"/><c:layout/></c:legend><c:plotVisOnly val=\"1\"/></c:chart></c:chartSpace>")
        return x.bytes
    }
}

/// A worksheet of an ``XLSXWorkbook``.
public final class XLSXSheet {
    /// A cell range, 0-based and inclusive.
    struct Range {
        var firstRow, firstCol, lastRow, lastCol: Int
        var relative: String { XLSXSheet.cellName(firstRow, firstCol) + ":" + XLSXSheet.cellName(lastRow, lastCol) }
        var absolute: String {
            "$\(XLSXSheet.columnName(firstCol))$\(firstRow + 1):$\(XLSXSheet.columnName(lastCol))$\(lastRow + 1)"
        }
    }

    struct Dropdown {
        var range: Range
        var values: [String]
        var prompt: String?
    }

    let name: String
    let index: Int
    unowned let workbook: XLSXWorkbook
    private var widths: [Int: (width: Double, format: Int?)] = [:]
    private var frozenRows = 0
    private(set) var filterRange: Range?
    private var dropdowns: [Dropdown] = []
    private var protection: Bool? = nil   // nil: unprotected; the value: whether filtering stays allowed
    private(set) var isActive = false
    private(set) var charts: [(row: Int, col: Int, chart: Int)] = []

    /// Rows as XML, not yet compressed (all of a small sheet; a large sheet's latest rows).
    private var rows = XMLBytes()
    /// The compressed sheet, started once `rows` passes the threshold.
    private var entry: DeflatedEntry?
    private var streamError: Error?
    private var currentRow = -1
    /// Whether `<row>` of `currentRow` is open.
    private var rowOpen = false
    /// The current row's number (1-based) as digits, for every cell's name.
    private var rowNumber = XMLBytes()
    private var lastCol = -1
    private var maxRow = -1, maxCol = -1
    static let streamThreshold = 1 << 20

    init(name: String, index: Int, workbook: XLSXWorkbook) {
        self.name = name
        self.index = index
        self.workbook = workbook
    }

    var quotedName: String { "'" + name.replacingOccurrences(of: "'", with: "''") + "'" }

    // MARK: Cells

    private func cell(_ row: Int, _ col: Int, _ format: XLSXWorkbook.Format?) {
        precondition(row >= 0 && col >= 0 && row < 1_048_576 && col < 16_384, "cell (\(row), \(col)) is outside a worksheet")
        if row != currentRow {
            precondition(row > currentRow, "sheet \(name): row \(row) written after row \(currentRow)")
            if rowOpen { rows.lit("</row>") }
            flushIfLarge()
            rowNumber.bytes.removeAll(keepingCapacity: true)
            rowNumber.int(row + 1)
            rows.lit("<row r=\""); rows.bytes.append(contentsOf: rowNumber.bytes); rows.lit("\">")
            currentRow = row
            rowOpen = true
            lastCol = -1
        }
        precondition(col > lastCol, "sheet \(name): column \(col) of row \(row) written after column \(lastCol)")
        let follows = col == lastCol + 1
        lastCol = col
        maxRow = max(maxRow, row); maxCol = max(maxCol, col)
        // A cell right after the previous one needs no name (`r` is optional; readers count on).
        if follows {
            rows.lit("<c")
        } else {
            rows.lit("<c r=\""); rows.columnName(col); rows.bytes.append(contentsOf: rowNumber.bytes); rows.lit("\"")
        }
        if let format { rows.lit(" s=\""); rows.int(format.index); rows.lit("\"") }
    }

    /// Writes text; an empty string leaves the cell blank (keeping its format, if any).
    public func write(_ row: Int, _ col: Int, _ text: String, _ format: XLSXWorkbook.Format? = nil) {
        if text.isEmpty {
            if format != nil { cell(row, col, format); rows.lit("/>") }
            return
        }
        cell(row, col, format)
        rows.inlineStringCellEnd(text)
    }

    /// Writes a number.
    public func write(_ row: Int, _ col: Int, number: Double, _ format: XLSXWorkbook.Format? = nil) {
        cell(row, col, format)
        rows.numberCellEnd(number)
    }

    /// Places rows written and compressed apart (``XLSXRows``) after the rows written so far:
    /// they become the next `rows.count` rows. Rows written afterwards come below them.
    public func append(_ fragment: XLSXRowsFragment) {
        guard fragment.count > 0 else { return }
        if rowOpen { rows.lit("</row>"); rowOpen = false }
        do {
            if entry == nil { entry = try DeflatedEntry() }
            if !rows.bytes.isEmpty {
                try entry!.feed(rows.bytes)
                rows.bytes.removeAll(keepingCapacity: true)
            }
            try entry!.fullFlush()
            entry!.append(fragment.deflated)
        } catch {
            streamError = streamError ?? error
        }
        currentRow += fragment.count
        lastCol = -1
        maxRow = max(maxRow, currentRow)
        maxCol = max(maxCol, fragment.width - 1)
    }

    /// Writes a formula (with or without its leading `=`) with the text result shown until the
    /// spreadsheet recalculates.
    public func write(_ row: Int, _ col: Int, formula: String, result: String, _ format: XLSXWorkbook.Format? = nil) {
        cell(row, col, format)
        rows.lit(" t=\"str\"><f>"); rows.text(formula.hasPrefix("=") ? String(formula.dropFirst()) : formula)
        rows.lit("</f><v>"); rows.text(result); rows.lit("</v></c>")
    }

    // MARK: Sheet settings

    /// Sets a column's width in characters.
    public func setColumnWidth(_ col: Int, _ width: Double, _ format: XLSXWorkbook.Format? = nil) {
        widths[col] = (width, format?.index)
    }

    /// Freezes the rows above `row`.
    public func freezeRows(_ row: Int) {
        frozenRows = row
    }

    /// An autofilter over a range.
    public func autofilter(firstRow: Int, firstCol: Int, lastRow: Int, lastCol: Int) {
        filterRange = Range(firstRow: firstRow, firstCol: firstCol, lastRow: lastRow, lastCol: lastCol)
    }

    /// A dropdown of `values` over a range of cells; with a `prompt`, the prompt shows on the
    /// cell and any other value is refused with a message listing the choices.
    public func dropdown(firstRow: Int, lastRow: Int, col: Int, values: [String], prompt: String? = nil) {
        dropdowns.append(Dropdown(range: Range(firstRow: firstRow, firstCol: col, lastRow: lastRow, lastCol: col), values: values, prompt: prompt))
    }

    /// Inserts a column chart with its top left corner at a cell.
    public func insertChart(_ row: Int, _ col: Int, _ chart: XLSXWorkbook.ColumnChart) {
        workbook.charts.append(chart)
        charts.append((row, col, workbook.charts.count - 1))
    }

    /// Protects the sheet: only cells with an unlocked format can be edited. With
    /// `allowFilter`, the autofilter and sorting still work on the protected sheet.
    public func protect(allowFilter: Bool = false) { protection = allowFilter }

    /// Makes this the sheet shown when the workbook opens.
    public func activate() { isActive = true }

    // MARK: Writing

    /// The sheet's opening: everything before `sheetData`.
    private func head(selected: Bool) -> XMLBytes {
        var x = XMLBytes()
        x.raw(XLSXWorkbook.xmlHead)
        x.raw("<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">")
        x.raw("<dimension ref=\"")
        x.raw(maxRow < 0 ? "A1" : Range(firstRow: 0, firstCol: 0, lastRow: maxRow, lastCol: maxCol).relative)
        x.raw("\"/>")
        x.raw("<sheetViews><sheetView")
        if selected { x.raw(" tabSelected=\"1\"") }
        x.raw(" workbookViewId=\"0\"")
        if frozenRows > 0 {
            x.raw("><pane ySplit=\"\(frozenRows)\" topLeftCell=\"A\(frozenRows + 1)\" activePane=\"bottomLeft\" state=\"frozen\"/><selection pane=\"bottomLeft\"/></sheetView>")
        } else {
            x.raw("/>")
        }
        x.raw("</sheetViews><sheetFormatPr defaultRowHeight=\"15\"/>")
        if !widths.isEmpty {
            x.raw("<cols>")
            for col in widths.keys.sorted() {
                let (w, format) = widths[col]!
                x.raw("<col min=\"\(col + 1)\" max=\"\(col + 1)\" width=\""); x.number(Self.excelWidth(w)); x.raw("\"")
                if let format { x.raw(" style=\"\(format)\"") }
                x.raw(" customWidth=\"1\"/>")
            }
            x.raw("</cols>")
        }
        x.raw("<sheetData>")
        return x
    }

    /// A width in characters as Excel stores it: the pixels it takes (7 per character of the
    /// default font, plus 5 of padding), back in characters, to 1/256.
    static func excelWidth(_ width: Double) -> Double {
        guard width > 0 else { return 0 }
        let pixels = width < 1 ? (width * 12 + 0.5).rounded(.down) : (width * 7 + 0.5).rounded(.down) + 5
        return (pixels / 7 * 256).rounded(.down) / 256
    }

    /// Compresses the rows written so far once they pass the threshold.
    private func flushIfLarge() {
        guard rows.bytes.count >= Self.streamThreshold else { return }
        do {
            if entry == nil { entry = try DeflatedEntry() }
            try entry!.feed(rows.bytes)
            rows.bytes.removeAll(keepingCapacity: true)
        } catch {
            // Only memory exhaustion gets here; finish() reports it.
            streamError = streamError ?? error
        }
    }

    /// Finishes the sheet's XML and returns its compressed entry: the rows as compressed, after
    /// them the settings that follow `sheetData`, and before them, stored, the opening.
    func finish(selected: Bool) throws -> DeflatedEntry {
        if let streamError { throw streamError }
        if rowOpen { rows.raw("</row>") }
        rowOpen = false
        currentRow = Int.max
        rows.raw("</sheetData>")
        if let allowFilter = protection {
            rows.raw("<sheetProtection sheet=\"1\" objects=\"1\" scenarios=\"1\"")
            if allowFilter { rows.raw(" formatColumns=\"0\" sort=\"0\" autoFilter=\"0\"") }
            rows.raw("/>")
        }
        if let f = filterRange { rows.raw("<autoFilter ref=\"\(f.relative)\"/>") }
        if !dropdowns.isEmpty {
            rows.raw("<dataValidations count=\"\(dropdowns.count)\">")
            for d in dropdowns {
                rows.raw("<dataValidation type=\"list\" allowBlank=\"1\" showInputMessage=\"1\" showErrorMessage=\"1\"")
                if let prompt = d.prompt {
                    rows.raw(" errorTitle=\"輸入值無效\" error=\""); rows.attribute("請從清單中選擇：" + d.values.joined(separator: "、"))
                    rows.raw("\" prompt=\""); rows.attribute(prompt); rows.raw("\"")
                }
                rows.raw(" sqref=\"\(d.range.relative)\"><formula1>")
                rows.text("\"" + d.values.map { $0.replacingOccurrences(of: "\"", with: "\"\"") }.joined(separator: ",") + "\"")
                rows.raw("</formula1></dataValidation>")
            }
            rows.raw("</dataValidations>")
        }
        rows.raw("<pageMargins left=\"0.7\" right=\"0.7\" top=\"0.75\" bottom=\"0.75\" header=\"0.3\" footer=\"0.3\"/>")
        if !charts.isEmpty { rows.raw("<drawing r:id=\"rId1\"/>") }
        rows.raw("</worksheet>")
        let e = try entry ?? DeflatedEntry()
        try e.feed(rows.bytes, finish: true)
        e.prepend(stored: head(selected: selected).bytes)
        rows = XMLBytes()
        entry = nil
        return e
    }

    // MARK: Names

    /// A column's letters: 0 → A, 25 → Z, 26 → AA.
    public static func columnName(_ col: Int) -> String {
        var x = XMLBytes()
        x.columnName(col)
        return String(decoding: x.bytes, as: UTF8.self)
    }

    /// A cell's name: (0, 0) → A1.
    public static func cellName(_ row: Int, _ col: Int) -> String { columnName(col) + String(row + 1) }

    /// Display width of text in a spreadsheet column: a CJK or full-width character counts as two.
    public static func displayWidth(_ text: String) -> Int {
        var text = text
        return text.withUTF8 { u in
            var w = 0, i = 0
            while i < u.count {
                let b = u[i]
                if b < 0x80 { w += 1; i += 1; continue }
                // Decode the scalar from its UTF-8 bytes (the string is valid UTF-8).
                let v: UInt32, n: Int
                if b < 0xE0 { v = UInt32(b & 0x1F) << 6 | UInt32(u[i + 1] & 0x3F); n = 2 }
                else if b < 0xF0 { v = UInt32(b & 0x0F) << 12 | UInt32(u[i + 1] & 0x3F) << 6 | UInt32(u[i + 2] & 0x3F); n = 3 }
                else { v = UInt32(b & 0x07) << 18 | UInt32(u[i + 1] & 0x3F) << 12 | UInt32(u[i + 2] & 0x3F) << 6 | UInt32(u[i + 3] & 0x3F); n = 4 }
                i += n
                let wide = (v >= 0x1100 && v <= 0x115F) || (v >= 0x2E80 && v <= 0xA4CF) || (v >= 0xAC00 && v <= 0xD7A3)
                    || (v >= 0xF900 && v <= 0xFAFF) || (v >= 0xFE30 && v <= 0xFE4F) || (v >= 0xFF00 && v <= 0xFF60)
                    || (v >= 0xFFE0 && v <= 0xFFE6) || (v >= 0x20000 && v <= 0x3FFFD)
                w += wide ? 2 : 1
            }
            return w
        }
    }
}

/// Worksheet rows written apart from any sheet and without their positions (every row and cell
/// follows the one before it, as the format allows), so that the same rows, compressed once
/// (``XLSXRowsFragment``), can be placed at any row of any sheet of the same workbook layout
/// (``XLSXSheet/append(_:)``). Every cell of a row is written, blank ones as empty cells, from
/// column A on. Formats refer to the workbook's format numbers, so a fragment belongs with
/// workbooks that add the same formats in the same order.
public struct XLSXRows {
    private var xml = XMLBytes()
    /// Rows written.
    public private(set) var count = 0
    /// The most cells in a row.
    public private(set) var width = 0
    private var cells = 0

    public init() {}

    /// Starts the next row.
    public mutating func startRow() {
        if count > 0 { xml.lit("</row>") }
        xml.lit("<row>")
        count += 1
        cells = 0
    }

    private mutating func cell(_ format: XLSXWorkbook.Format?) {
        precondition(count > 0, "XLSXRows: a cell before the first row")
        cells += 1
        width = max(width, cells)
        xml.lit("<c")
        if let format { xml.lit(" s=\""); xml.int(format.index); xml.lit("\"") }
    }

    /// The next cell: text (an empty string gives a blank cell, keeping its format).
    public mutating func text(_ text: String, _ format: XLSXWorkbook.Format? = nil) {
        cell(format)
        if text.isEmpty { xml.lit("/>") } else { xml.inlineStringCellEnd(text) }
    }

    /// The next cell: a number.
    public mutating func number(_ v: Double, _ format: XLSXWorkbook.Format? = nil) {
        cell(format)
        xml.numberCellEnd(v)
    }

    /// The rows compressed (ISA-L, level 1) as a piece to place into sheets. Consumes the rows
    /// (their XML is closed and compressed in place, not copied).
    public consuming func compressed() throws -> XLSXRowsFragment {
        if count > 0 { xml.lit("</row>") }
        return XLSXRowsFragment(deflated: try DeflateFragment(compressing: xml.bytes), count: count, width: width)
    }
}

/// Compressed worksheet rows without positions (``XLSXRows/compressed()``), to place into a
/// sheet with ``XLSXSheet/append(_:)``.
public struct XLSXRowsFragment: Sendable, Equatable {
    /// The rows' XML, compressed on its own.
    public var deflated: DeflateFragment
    /// How many rows.
    public var count: Int
    /// The most cells in a row.
    public var width: Int

    public init(deflated: DeflateFragment, count: Int, width: Int) {
        self.deflated = deflated
        self.count = count
        self.width = width
    }
}

/// UTF-8 XML built byte by byte: markup appended as is, text escaped.
struct XMLBytes {
    var bytes: [UInt8] = []

    mutating func raw(_ s: String) {
        var s = s
        s.withUTF8 { bytes.append(contentsOf: $0) }
    }

    /// Markup known at compile time (the per-cell pieces): a plain copy of its bytes.
    mutating func lit(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Element text: `&`, `<`, `>` escaped; control characters XML cannot carry written as
    /// Excel's `_xHHHH_` escapes.
    mutating func text(_ s: String) { escaped(s, quotes: false) }

    /// Attribute text: also `"`.
    mutating func attribute(_ s: String) { escaped(s, quotes: true) }

    private mutating func escaped(_ s: String, quotes: Bool) {
        var s = s
        s.withUTF8 { u in
            var start = 0
            for i in 0..<u.count {
                let b = u[i]
                guard b < 0x3F else { continue }   // fast path: every byte to escape is below '?'
                let rep: StaticString
                switch b {
                case 0x26: rep = "&amp;"
                case 0x3C: rep = "&lt;"
                case 0x3E: rep = "&gt;"
                case 0x22 where quotes: rep = "&quot;"
                case 0x09, 0x0A, 0x0D: if quotes { rep = b == 0x09 ? "&#9;" : (b == 0x0A ? "&#10;" : "&#13;") } else { continue }
                case 0x00..<0x20:
                    bytes.append(contentsOf: UnsafeBufferPointer(rebasing: u[start..<i]))
                    let hex = String(b, radix: 16, uppercase: true)
                    raw("_x00" + (hex.count == 1 ? "0" : "") + hex + "_")
                    start = i + 1
                    continue
                default: continue
                }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: u[start..<i]))
                rep.withUTF8Buffer { bytes.append(contentsOf: $0) }
                start = i + 1
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: u[start..<u.count]))
        }
    }

    /// The rest of an inline-string cell after its name and format: type, text, end tag.
    mutating func inlineStringCellEnd(_ text: String) {
        lit(" t=\"inlineStr\"><is><t")
        if let f = text.utf8.first, let l = text.utf8.last, f == 0x20 || f == 0x09 || f == 0x0A || l == 0x20 || l == 0x09 || l == 0x0A {
            lit(" xml:space=\"preserve\"")
        }
        lit(">"); self.text(text); lit("</t></is></c>")
    }

    /// The rest of a number cell after its name and format.
    mutating func numberCellEnd(_ v: Double) {
        lit("><v>"); number(v); lit("</v></c>")
    }

    mutating func int(_ v: Int) {
        if v < 0 { bytes.append(0x2D); int(0 - v); return }
        var n = 1, limit = 10
        while v >= limit && n < 19 { n += 1; limit &*= 10 }
        let end = bytes.count + n
        bytes.append(contentsOf: repeatElement(UInt8(0x30), count: n))
        var x = v
        bytes.withUnsafeMutableBufferPointer { b in
            var i = end - 1
            while x > 0 { b[i] = 0x30 + UInt8(x % 10); x /= 10; i -= 1 }
        }
    }

    /// A number as a spreadsheet stores it: integers without a fraction.
    mutating func number(_ v: Double) {
        if v == v.rounded(), abs(v) < 1e15 { int(Int(v)) } else { raw(v.isFinite ? "\(v)" : "0") }
    }

    mutating func columnName(_ col: Int) {
        if col >= 26 { columnName(col / 26 - 1) }
        bytes.append(0x41 + UInt8(col % 26))
    }
}
