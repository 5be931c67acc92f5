import Foundation

/// One row of a spreadsheet or CSV file, as text cells.
public struct TableRow: Sendable {
    /// Row number as a spreadsheet program shows it (the first line of the file is row 1).
    public var number: Int
    /// Cell texts by column index (0 = column A); missing cells are empty strings.
    public var cells: [String]
    /// Indexes of cells whose bytes could not be decoded in the file's encoding.
    public var undecodable: Set<Int>

    public init(number: Int, cells: [String], undecodable: Set<Int> = []) {
        self.number = number
        self.cells = cells
        self.undecodable = undecodable
    }

    /// Whether every cell is blank.
    public var isBlank: Bool { cells.allSatisfy { $0.trimmingSpaces().isEmpty } }
}

/// One row's cells as UTF-8 bytes, for readers that check cells without making a `String` of
/// each: valid only during the call that receives it.
public struct TableRowBytes {
    /// Row number as a spreadsheet program shows it (the first line of the file is row 1).
    public let number: Int
    private let bytes: UnsafeBufferPointer<UInt8>
    /// Where each cell starts in `bytes`; `nil` when each starts where the one before it ends.
    private let starts: UnsafeBufferPointer<Int>?
    private let ends: UnsafeBufferPointer<Int>
    /// Indexes of cells whose bytes could not be decoded in the file's encoding (read as empty).
    public let undecodable: Set<Int>

    /// - Parameters:
    ///   - bytes: the cells' bytes, one after another.
    ///   - ends: where each cell ends in `bytes`.
    public init(number: Int, bytes: UnsafeBufferPointer<UInt8>, ends: UnsafeBufferPointer<Int>, undecodable: Set<Int> = []) {
        self.number = number
        self.bytes = bytes
        self.starts = nil
        self.ends = ends
        self.undecodable = undecodable
    }

    /// Cells anywhere in `bytes` (a CSV record's unquoted cells, where the file's bytes hold
    /// them as they are, with separators between).
    /// - Parameters:
    ///   - starts: where each cell starts in `bytes`.
    ///   - ends: where each cell ends in `bytes`.
    public init(number: Int, bytes: UnsafeBufferPointer<UInt8>, starts: UnsafeBufferPointer<Int>, ends: UnsafeBufferPointer<Int>) {
        precondition(starts.count == ends.count)
        self.number = number
        self.bytes = bytes
        self.starts = starts
        self.ends = ends
        self.undecodable = []
    }

    /// The number of cells.
    public var count: Int { ends.count }

    /// Cell `i`'s bytes (0 = column A); empty for a cell past the row's last.
    public subscript(i: Int) -> UnsafeBufferPointer<UInt8> {
        guard i >= 0, i < ends.count else { return UnsafeBufferPointer(start: nil, count: 0) }
        let start = starts?[i] ?? (i == 0 ? 0 : ends[i - 1])
        return UnsafeBufferPointer(rebasing: bytes[start..<ends[i]])
    }

    /// Whether every cell is blank, as ``TableRow/isBlank`` tells.
    public var isBlank: Bool { (0..<count).allSatisfy { trimmedSpaces(self[$0]).isEmpty } }
}

/// Why a file could not be read at all. Each case explains itself in zh-TW to the person who sent it.
public enum TableFileError: Error, Equatable, Sendable {
    /// Neither CSV nor XLSX (e.g. an old .xls, a PDF, an image).
    case notASpreadsheet(String)
    /// The file has no rows.
    case empty
    /// An XLSX whose parts are missing or broken.
    case brokenWorkbook(String)
    /// A file refused for safety: DOCTYPE/entities, a zip bomb, too many cells or strings.
    case hostile(String)
    /// A CSV record that never ends (an unclosed quote).
    case unterminatedQuote(row: Int)
    /// The file could not be read from disk.
    case io(String)

    /// The problem, in words a school clerk understands.
    public var problem: String {
        switch self {
        case .notASpreadsheet(let what): return "檔案不是 CSV 或 XLSX 格式（\(what)），系統無法讀取。"
        case .empty: return "檔案是空的，沒有任何資料列。"
        case .brokenWorkbook(let what): return "XLSX 活頁簿已損毀或不完整（\(what)）。"
        case .hostile(let what): return "檔案含有不允許的內容，為安全起見拒絕處理（\(what)）。"
        case .unterminatedQuote(let row): return "第 \(row) 列起有未結束的引號（\"），其後內容無法分欄。"
        case .io(let what): return "讀取檔案時發生錯誤（\(what)）。"
        }
    }

    /// What to do about it.
    public var fix: String {
        switch self {
        case .notASpreadsheet: return "請以 Excel 或 LibreOffice 開啟後另存為「CSV UTF-8（逗號分隔）」或「Excel 活頁簿（.xlsx）」再重新上傳。"
        case .empty: return "請確認匯出的檔案含標題列與學生資料後重新上傳。"
        case .brokenWorkbook: return "請以 Excel 或 LibreOffice 重新開啟並另存新檔後再上傳。"
        case .hostile: return "請勿修改檔案結構；以 Excel 或 LibreOffice 另存為一般的 .xlsx 或 CSV 後再上傳。"
        case .unterminatedQuote: return "請檢查該列欄位中的引號是否成對，或以試算表程式重新匯出 CSV。"
        case .io: return "請重新上傳檔案；若持續發生，請洽系統管理者。"
        }
    }
}

/// A source of table rows: a CSV or an XLSX file, read as a stream.
public protocol TableReader {
    /// A short description of the format found, e.g. `CSV (CP950)`.
    var formatDescription: String { get }
    /// Calls `body` for each non-blank row, in order, without holding the file in memory.
    func forEachRow(_ body: (TableRow) throws -> Void) throws
    /// While ``forEachRow(_:)`` runs, about how many of the file's bytes are still to be read
    /// (to within one read), when the reader can tell; `nil` when it cannot (a compressed
    /// workbook).
    var bytesLeft: Int? { get }
    /// Calls `body` for each non-blank row, as ``forEachRow(_:)`` does, with the cells as
    /// UTF-8 bytes: a reader of a UTF-8 file hands over the bytes it read, without making a
    /// `String` of each cell.
    func forEachRowBytes(_ body: (TableRowBytes) throws -> Void) throws
    /// Whether ``forEachRowBytes(_:)`` hands over the bytes read, with no `String` made per
    /// cell (a UTF-8 CSV's reader), rather than the cells of ``forEachRow(_:)`` copied back
    /// into bytes.
    var handsOverBytes: Bool { get }
}

extension TableReader {
    public var bytesLeft: Int? { nil }

    public var handsOverBytes: Bool { false }

    public func forEachRowBytes(_ body: (TableRowBytes) throws -> Void) throws {
        try forEachRowBytesDecoded(body)
    }

    /// ``forEachRowBytes(_:)`` through ``forEachRow(_:)``: each row's cells, as decoded, copied
    /// into one buffer.
    func forEachRowBytesDecoded(_ body: (TableRowBytes) throws -> Void) throws {
        var bytes: [UInt8] = []
        var ends: [Int] = []
        try forEachRow { row in
            bytes.removeAll(keepingCapacity: true)
            ends.removeAll(keepingCapacity: true)
            for var cell in row.cells {
                cell.withUTF8 { bytes.append(contentsOf: $0) }
                ends.append(bytes.count)
            }
            try bytes.withUnsafeBufferPointer { b in
                try ends.withUnsafeBufferPointer { e in
                    try body(TableRowBytes(number: row.number, bytes: b, ends: e, undecodable: row.undecodable))
                }
            }
        }
    }
}

/// A file's size in bytes (0 when it cannot be read): how intake judges a file's row count
/// before reading it, and how a reader tells how much is left to read.
public func fileSize(of url: URL) -> Int {
    (try? url.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0
}

/// Opens CSV and XLSX files by their content, not their name.
public enum TableFile {
    /// Chooses a reader by the file's first bytes: a ZIP container is read as XLSX, text as CSV.
    public static func open(_ url: URL, limits: XLSXLimits = .default) throws -> TableReader {
        let handle = FileHandle(fileDescriptor: try CSVReader.openRegularFile(url), closeOnDealloc: true)
        let head = handle.readData(ofLength: 4096)
        try? handle.close()
        guard !head.isEmpty else { throw TableFileError.empty }
        let bytes = [UInt8](head)
        if bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) {
            return try XLSXReader(url: url, limits: limits)
        }
        if bytes.starts(with: [0xD0, 0xCF, 0x11, 0xE0]) { throw TableFileError.notASpreadsheet("舊版 Excel 97-2003 .xls") }
        if bytes.starts(with: Array("%PDF".utf8)) { throw TableFileError.notASpreadsheet("PDF") }
        if bytes.contains(0) { throw TableFileError.notASpreadsheet("含有 NUL 位元組的二進位檔") }
        return try CSVReader(url: url)
    }
}
