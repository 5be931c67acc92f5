import Foundation
import ZIPFoundation

/// Caps that keep a hostile workbook from exhausting memory or time.
public struct XLSXLimits: Sendable {
    /// Largest decompressed size of any one part.
    public var maximumPartBytes: UInt64
    /// Largest compression ratio of a part bigger than `ratioCheckFloor`.
    public var maximumRatio: UInt64
    /// Parts smaller than this are not ratio-checked (tiny parts compress very well).
    public var ratioCheckFloor: UInt64
    /// Most cells in the sheet.
    public var maximumCells: Int
    /// Most shared strings.
    public var maximumSharedStrings: Int

    public init(maximumPartBytes: UInt64, maximumRatio: UInt64, ratioCheckFloor: UInt64, maximumCells: Int, maximumSharedStrings: Int) {
        self.maximumPartBytes = maximumPartBytes
        self.maximumRatio = maximumRatio
        self.ratioCheckFloor = ratioCheckFloor
        self.maximumCells = maximumCells
        self.maximumSharedStrings = maximumSharedStrings
    }

    /// Room for a national roster of several million rows.
    public static let `default` = XLSXLimits(maximumPartBytes: 4 << 30, maximumRatio: 250, ratioCheckFloor: 16 << 20,
                                              maximumCells: 60_000_000, maximumSharedStrings: 20_000_000)
}

/// A streaming reader for the first worksheet of an XLSX workbook, whether Excel, LibreOffice or
/// openpyxl wrote it.
///
/// Reads shared strings (plain and rich-text runs, skipping phonetic runs), inline strings,
/// numbers, booleans, formula results and dates stored as serial numbers in the 1900 and 1904
/// date systems (a numeric cell whose style is a date format comes out as `yyyy-mm-dd`).
/// The worksheet is decompressed and tokenized chunk by chunk; only the shared-string table is
/// kept in memory.
public final class XLSXReader: TableReader {
    public let url: URL
    private let archive: Archive
    private let limits: XLSXLimits
    private(set) var date1904 = false
    private var sheetPath = ""
    private var sharedStrings: [String] = []
    private var dateStyles: [Bool] = []

    public var formatDescription: String { "XLSX" }

    public init(url: URL, limits: XLSXLimits = .default) throws {
        self.url = url
        self.limits = limits
        do {
            archive = try Archive(url: url, accessMode: .read)
        } catch {
            throw TableFileError.brokenWorkbook("無法開啟 ZIP 容器")
        }
        try readWorkbook()
        try readSharedStrings()
        try readStyles()
    }

    /// Streams a part's XML through the tokenizer, enforcing the size and ratio caps.
    private func streamPart(_ path: String, required: Bool, _ handler: @escaping (XMLEvent) throws -> Void) throws {
        guard let entry = archive[path] else {
            if required { throw TableFileError.brokenWorkbook("缺少 \(path)") }
            return
        }
        let declared = entry.uncompressedSize
        let compressed = max(entry.compressedSize, 1)
        if declared > limits.maximumPartBytes || (declared > limits.ratioCheckFloor && declared / compressed > limits.maximumRatio) {
            throw TableFileError.hostile("壓縮比或解壓縮後大小超過上限")
        }
        let tokenizer = StreamingXMLTokenizer(handler: handler)
        var seen: UInt64 = 0
        let maxBytes = limits.maximumPartBytes
        let ratioCap = limits.maximumRatio
        let floor = limits.ratioCheckFloor
        do {
            _ = try archive.extract(entry, bufferSize: 256 * 1024, skipCRC32: true) { data in
                seen += UInt64(data.count)
                // The central directory can lie about sizes: count what actually comes out.
                if seen > maxBytes || (seen > floor && seen / compressed > ratioCap) {
                    throw TableFileError.hostile("壓縮比或解壓縮後大小超過上限")
                }
                try tokenizer.feed(data)
            }
            try tokenizer.finish()
        } catch let e as TableFileError {
            throw e
        } catch let e as XMLSafetyError {
            switch e {
            case .doctype: throw TableFileError.hostile("含 DOCTYPE 或實體宣告")
            case .tokenTooLarge: throw TableFileError.hostile("單一儲存格內容過大")
            case .malformed(let what): throw TableFileError.brokenWorkbook("\(path) 格式錯誤：\(what)")
            }
        } catch {
            throw TableFileError.brokenWorkbook("\(path) 無法解壓縮")
        }
    }

    /// The workbook's sheets in tab order: name and part path.
    public private(set) var sheets: [(name: String, path: String)] = []

    private func readWorkbook() throws {
        var declared: [(name: String, rid: String)] = []
        var date1904 = false
        try streamPart("xl/workbook.xml", required: true) { event in
            if case let .start(name, attrs, _) = event {
                if name == "workbookPr", let v = attrs.first(where: { $0.0 == "date1904" })?.1 {
                    date1904 = (v == "1" || v.lowercased() == "true")
                }
                if name == "sheet", let rid = attrs.first(where: { $0.0 == "id" })?.1 {
                    declared.append((attrs.first(where: { $0.0 == "name" })?.1 ?? "", rid))
                }
            }
        }
        self.date1904 = date1904
        guard !declared.isEmpty else { throw TableFileError.brokenWorkbook("活頁簿沒有工作表") }
        var targets: [String: String] = [:]
        try streamPart("xl/_rels/workbook.xml.rels", required: true) { event in
            if case let .start(name, attrs, _) = event, name == "Relationship",
               let id = attrs.first(where: { $0.0 == "Id" })?.1, let target = attrs.first(where: { $0.0 == "Target" })?.1 {
                targets[id] = target
            }
        }
        for (name, rid) in declared {
            guard var t = targets[rid] else { continue }
            if t.hasPrefix("/") { t.removeFirst() } else { t = "xl/" + t }
            sheets.append((name, t))
        }
        guard let first = sheets.first else { throw TableFileError.brokenWorkbook("找不到第一個工作表") }
        sheetPath = first.path
    }

    /// Streams the rows of the sheet named `name` (instead of the first sheet).
    /// Throws ``TableFileError/brokenWorkbook(_:)`` if there is no such sheet.
    public func forEachRow(sheet name: String, _ body: (TableRow) throws -> Void) throws {
        guard let sheet = sheets.first(where: { $0.name == name }) else {
            throw TableFileError.brokenWorkbook("找不到工作表「\(name)」")
        }
        let saved = sheetPath
        sheetPath = sheet.path
        defer { sheetPath = saved }
        try forEachRow(body)
    }

    private func readSharedStrings() throws {
        var strings: [String] = []
        var current = ""
        var inT = false
        var phoneticDepth = 0
        let cap = limits.maximumSharedStrings
        try streamPart("xl/sharedStrings.xml", required: false) { event in
            switch event {
            case let .start(name, _, _):
                if name == "si" { current = "" }
                else if name == "rPh" { phoneticDepth += 1 }
                else if name == "t" { inT = true }
            case let .end(name):
                if name == "si" {
                    strings.append(current)
                    if strings.count > cap { throw TableFileError.hostile("共用字串數量超過上限") }
                } else if name == "rPh" { phoneticDepth -= 1 }
                else if name == "t" { inT = false }
            case let .text(s):
                if inT && phoneticDepth == 0 { current += s }
            }
        }
        sharedStrings = strings
    }

    /// Built-in number formats that are dates (ECMA-376 §18.8.30 and the CJK built-ins).
    static let builtinDateFormats: Set<Int> = Set([14, 15, 16, 17, 22, 27, 28, 29, 30, 31, 34, 35, 36, 50, 51, 52, 53, 54, 57, 58])

    /// Whether a custom format code shows a date: it has y, m or d outside quotes and brackets,
    /// and no hour/minute-only or number placeholders.
    static func isDateFormat(_ code: String) -> Bool {
        // "General" (which LibreOffice declares as format 0) and text formats are no dates.
        let lower = code.lowercased()
        if lower.contains("general") || lower == "@" { return false }
        var inQuote = false
        var inBracket = false
        var hasDatePart = false
        for ch in code.lowercased() {
            if ch == "\"" { inQuote.toggle(); continue }
            if inQuote { continue }
            if ch == "[" { inBracket = true; continue }
            if ch == "]" { inBracket = false; continue }
            if inBracket { continue }
            if ch == "y" || ch == "d" || ch == "e" { hasDatePart = true }
            if ch == "0" || ch == "#" || ch == "?" { return false }
        }
        return hasDatePart
    }

    private func readStyles() throws {
        var customDate: [Int: Bool] = [:]
        var styles: [Bool] = []
        var inCellXfs = false
        try streamPart("xl/styles.xml", required: false) { event in
            switch event {
            case let .start(name, attrs, _):
                if name == "numFmt", let id = attrs.first(where: { $0.0 == "numFmtId" }).flatMap({ Int($0.1) }) {
                    customDate[id] = Self.isDateFormat(attrs.first(where: { $0.0 == "formatCode" })?.1 ?? "")
                } else if name == "cellXfs" {
                    inCellXfs = true
                } else if name == "xf" && inCellXfs {
                    let id = attrs.first(where: { $0.0 == "numFmtId" }).flatMap { Int($0.1) } ?? 0
                    styles.append(customDate[id] ?? Self.builtinDateFormats.contains(id))
                }
            case let .end(name):
                if name == "cellXfs" { inCellXfs = false }
            case .text: break
            }
        }
        dateStyles = styles
    }

    /// Column index of a cell reference such as `AB12` (A = 0).
    static func columnIndex(_ ref: String) -> Int? {
        var index = 0
        var any = false
        for u in ref.utf8 {
            if u >= 65 && u <= 90 { index = index * 26 + Int(u - 64); any = true }
            else if u >= 97 && u <= 122 { index = index * 26 + Int(u - 96); any = true }
            else { break }
        }
        return any ? index - 1 : nil
    }

    /// The text of a number as a clerk would read it: integers without `.0`.
    static func numberText(_ raw: String) -> String {
        guard let d = Double(raw) else { return raw }
        if d == d.rounded(), abs(d) < 1e15 { return String(Int64(d)) }
        return raw
    }

    /// Names of the worksheet's elements and attributes, told apart by their bytes (no string
    /// comparison in the per-cell path).
    private enum Name: UInt8 {
        case row, c, v, t, rPh, other
        init(_ s: String) {
            let u = s.utf8
            switch u.count {
            case 1:
                switch u.first! {
                case UInt8(ascii: "c"): self = .c
                case UInt8(ascii: "v"): self = .v
                case UInt8(ascii: "t"): self = .t
                default: self = .other
                }
            case 3: self = s == "row" ? .row : (s == "rPh" ? .rPh : .other)
            default: self = .other
            }
        }
    }

    /// A cell's type attribute (`t`).
    private enum CellType {
        case number, shared, inline, boolean, error, date
        init(_ s: String) {
            switch s {
            case "s": self = .shared
            case "inlineStr", "str": self = .inline
            case "b": self = .boolean
            case "e": self = .error
            case "d": self = .date
            default: self = .number
            }
        }
    }

    public func forEachRow(_ body: (TableRow) throws -> Void) throws {
        var cells: [String] = []
        var rowNumber = 0
        var cellType = CellType.number
        var cellStyle = 0
        var cellColumn = 0
        var value = ""
        var inValue = false
        var inInlineT = false
        var phoneticDepth = 0
        var cellCount = 0
        let strings = sharedStrings
        let dateStyles = self.dateStyles
        let date1904 = self.date1904
        let maxCells = limits.maximumCells
        // The tokenizer calls back synchronously; rows are handed on from inside it.
        try withoutActuallyEscaping(body) { body in
            try streamPart(sheetPath, required: true) { event in
                switch event {
                case let .start(name, attrs, _):
                    switch Name(name) {
                    case .row:
                        var r: Int? = nil
                        for (k, v) in attrs where k.utf8.count == 1 && k.utf8.first == UInt8(ascii: "r") { r = Int(v) }
                        rowNumber = r ?? rowNumber + 1
                        cells.removeAll(keepingCapacity: true)
                    case .c:
                        cellType = .number; cellStyle = 0
                        var column: Int? = nil
                        for (k, v) in attrs where k.utf8.count == 1 {
                            switch k.utf8.first! {
                            case UInt8(ascii: "t"): cellType = CellType(v)
                            case UInt8(ascii: "s"): cellStyle = Int(v) ?? 0
                            case UInt8(ascii: "r"): column = Self.columnIndex(v)
                            default: break
                            }
                        }
                        cellColumn = column ?? cells.count
                        value = ""
                        cellCount += 1
                        if cellCount > maxCells { throw TableFileError.hostile("儲存格數量超過上限") }
                    case .v: inValue = true
                    case .rPh: phoneticDepth += 1
                    case .t: inInlineT = true
                    case .other: break
                    }
                case let .end(name):
                    switch Name(name) {
                    case .v: inValue = false
                    case .t: inInlineT = false
                    case .rPh: phoneticDepth -= 1
                    case .c:
                        var text: String
                        switch cellType {
                        case .shared:
                            guard let i = Int(value), i >= 0, i < strings.count else {
                                throw TableFileError.brokenWorkbook("共用字串索引錯誤（第 \(rowNumber) 列）")
                            }
                            text = strings[i]
                        case .inline: text = value
                        case .boolean: text = value == "1" ? "TRUE" : "FALSE"
                        case .error: text = ""
                        case .date: text = String(value.prefix(10))
                        case .number:
                            if cellStyle < dateStyles.count, dateStyles[cellStyle], let serial = Double(value),
                               let date = CivilDate(excelSerial: serial, date1904: date1904) {
                                text = date.iso
                            } else {
                                text = Self.numberText(value)
                            }
                        }
                        if cellColumn >= cells.count {
                            if cellColumn > 16384 { throw TableFileError.brokenWorkbook("欄位位置錯誤") }
                            cells.append(contentsOf: repeatElement("", count: cellColumn - cells.count + 1))
                        }
                        cells[cellColumn] = text
                    case .row:
                        let row = TableRow(number: rowNumber, cells: cells)
                        if !row.isBlank { try body(row) }
                    case .other: break
                    }
                case let .text(s):
                    if inValue || (inInlineT && phoneticDepth == 0) {
                        if value.isEmpty { value = s } else { value += s }
                    }
                }
            }
        }
    }
}
