import Foundation

/// The two rosters a monthly transmission is split into (名冊類別).
public enum RosterKind: String, Sendable, CaseIterable {
    /// 申請緩徵名冊: students applying for (or continuing) an in-school deferment.
    case application = "申請緩徵"
    /// 離校學生名冊: students who suspended or left school.
    case leaving = "離校"
}

/// The review state of a roster row (審核狀態).
public enum ReviewState: String, Sendable, CaseIterable {
    /// 不分派: given to no county, for the reason recorded with it.
    case notAssigned = "不分派"
    /// 待審核: assigned to a county, awaiting its decision.
    case pending = "待審核"
    /// 核准: approved by the county (final).
    case approved = "核准"
    /// 未核准: refused by the county (final).
    case refused = "未核准"
}

/// A column of the monthly roster (名冊欄位), as the student database sends it.
///
/// This is the one definition of the roster's columns: the parser matches headers against it
/// and the roster templates are generated from it.
public enum RosterColumn: String, Sendable, CaseIterable {
    case nationalID = "身分證字號"
    case birthDate = "出生年月日"
    case name = "姓名"
    case schoolName = "學校名稱"
    case schoolCode = "學校代碼"
    case program = "群科"
    case grade = "年級"
    case start = "緩徵起始日期"
    case end = "緩徵終止日期"
    case status = "學籍狀態"
    case experimental = "是否為非學校型態實驗教育學生"
    case uploadDate = "上傳日期"

    /// Position of the column in `allCases`, for array storage and cheap hashing.
    public var ordinal: Int {
        switch self {
        case .nationalID: 0
        case .birthDate: 1
        case .name: 2
        case .schoolName: 3
        case .schoolCode: 4
        case .program: 5
        case .grade: 6
        case .start: 7
        case .end: 8
        case .status: 9
        case .experimental: 10
        case .uploadDate: 11
        }
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(ordinal) }
    public static func == (a: RosterColumn, b: RosterColumn) -> Bool { a.ordinal == b.ordinal }

    /// Other header spellings accepted for this column.
    public var aliases: [String] {
        switch self {
        case .nationalID: return ["身分證號", "身分證統一編號", "統一編號", "身份證字號"]
        case .birthDate: return ["出生日期", "生日"]
        case .name: return ["學生姓名"]
        case .program: return ["就讀群科", "科別"]
        case .grade: return ["就讀年級"]
        case .experimental: return ["非學校型態實驗教育", "非學校型態實驗教育學生", "是否為非學校型態實驗教育"]
        default: return []
        }
    }

    /// What the column holds, for the template's instructions (欄位說明).
    public var help: String {
        switch self {
        case .nationalID: return "學生之國民身分證統一編號，共 10 碼（英文字母 1 碼＋數字 9 碼）。"
        case .birthDate: return "出生年月日，民國年（如 0970301 或 97/03/01）或西元（如 2008-03-01）皆可。"
        case .name: return "學生姓名。"
        case .schoolName: return "學校全銜。"
        case .schoolCode: return "教育部學校代碼（6 碼）。"
        case .program: return "就讀群科或科別，如 普通科、資訊科。"
        case .grade: return "年級：1、2 或 3（高一至高三）。"
        case .start: return "緩徵起始日期：高一、高二在學生為 19 歲資料首次傳輸日。"
        case .end: return "緩徵終止日期：高一、高二在學生為高三之年 6 月 30 日；休學、退學生為離校日期。"
        case .status: return "學籍狀態：在學、轉科、轉學、復學（申請緩徵名冊）或休學、退學（離校學生名冊）。"
        case .experimental: return "是否為非學校型態實驗教育學生：是 或 否。"
        case .uploadDate: return "上傳日期（選填；檔名已含日期時可省略）。"
        }
    }

    /// Whether a roster without this column cannot be read at all.
    public var isRequired: Bool {
        switch self {
        case .nationalID, .birthDate, .name, .schoolCode, .start, .end, .status: return true
        case .schoolName, .program, .grade, .experimental, .uploadDate: return false
        }
    }

    /// Columns a roster file carries, in the order of the ministry's template.
    public static let templateOrder: [RosterColumn] = [
        .nationalID, .birthDate, .name, .schoolCode, .schoolName, .program, .grade,
        .start, .end, .status, .experimental,
    ]

    /// Finds the column a header cell names, ignoring spaces and full-width/half-width forms.
    public static func matching(header raw: String) -> RosterColumn? {
        let key = normaliseHeader(raw)
        for column in allCases {
            if normaliseHeader(column.rawValue) == key { return column }
            if column.aliases.contains(where: { normaliseHeader($0) == key }) { return column }
        }
        return nil
    }

    /// Header normalisation: drop BOM, spaces and asterisks marking required fields; 身份→身分.
    public static func normaliseHeader(_ raw: String) -> String {
        var s = String.UnicodeScalarView()
        for u in raw.unicodeScalars {
            switch u.value {
            case 0xFEFF, 0x20, 0x09, 0x3000, 0x2A, 0xFF0A, 0x0D, 0x0A: continue
            default: s.append(u)
            }
        }
        return String(s).replacingOccurrences(of: "身份", with: "身分")
    }
}

/// A roster row as read from a file: the raw text of each known column and the source row number.
public struct RosterRow: Sendable {
    /// The row's number in the source file, counting the header as row 1 (as a spreadsheet shows it).
    public var sourceRow: Int
    /// Text by column ordinal; `nil` for a column the file does not have.
    private var cells: [String?]
    /// Columns whose bytes could not be decoded (CP950 files with stray bytes), as a bit set.
    private var undecodableBits: UInt32

    public init(sourceRow: Int) {
        self.sourceRow = sourceRow
        cells = Array(repeating: nil, count: RosterColumn.allCases.count)
        undecodableBits = 0
    }

    public init(sourceRow: Int, values: [RosterColumn: String], undecodable: Set<RosterColumn> = []) {
        self.init(sourceRow: sourceRow)
        for (k, v) in values { self[k] = v }
        for c in undecodable { markUndecodable(c) }
    }

    /// The raw text of a column, `nil` when the file has no such column.
    public subscript(column: RosterColumn) -> String? {
        get { cells[column.ordinal] }
        set { cells[column.ordinal] = newValue }
    }

    /// Records that a column's bytes could not be decoded.
    public mutating func markUndecodable(_ column: RosterColumn) { undecodableBits |= 1 << UInt32(column.ordinal) }

    /// Whether a column's bytes could not be decoded.
    public func isUndecodable(_ column: RosterColumn) -> Bool { undecodableBits & (1 << UInt32(column.ordinal)) != 0 }

    /// Trimmed text of a column, empty when absent.
    public func text(_ column: RosterColumn) -> String {
        guard let v = cells[column.ordinal] else { return "" }
        return v.trimmingSpaces()
    }
}

/// Trims what ``Swift/String/trimmingSpaces()`` trims (ASCII spaces, tabs and line breaks, U+3000,
/// U+FEFF and U+00A0) from both ends of UTF-8 bytes, without making a `String`: the one
/// definition of a cell's blank ends, used by readers that work on a file's bytes.
public func trimmedSpaces(_ bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
    var from = 0, to = bytes.count
    /// The length of the space that starts at `i`, or 0.
    func spaceAt(_ i: Int) -> Int {
        let b = bytes[i]
        if b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A { return 1 }
        if b == 0xC2, i + 1 < to, bytes[i + 1] == 0xA0 { return 2 }
        if b == 0xE3, i + 2 < to, bytes[i + 1] == 0x80, bytes[i + 2] == 0x80 { return 3 }
        if b == 0xEF, i + 2 < to, bytes[i + 1] == 0xBB, bytes[i + 2] == 0xBF { return 3 }
        return 0
    }
    /// The length of the space that ends just before `end`, or 0.
    func spaceBefore(_ end: Int) -> Int {
        let b = bytes[end - 1]
        if b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A { return 1 }
        if b == 0xA0, end - 2 >= from, bytes[end - 2] == 0xC2 { return 2 }
        if end - 3 >= from {
            let b0 = bytes[end - 3], b1 = bytes[end - 2]
            if (b0 == 0xE3 && b1 == 0x80 && b == 0x80) || (b0 == 0xEF && b1 == 0xBB && b == 0xBF) { return 3 }
        }
        return 0
    }
    while from < to { let n = spaceAt(from); if n == 0 { break }; from += n }
    while to > from { let n = spaceBefore(to); if n == 0 { break }; to -= n }
    return UnsafeBufferPointer(rebasing: bytes[from..<to])
}

extension String {
    /// Trims ASCII and full-width spaces, tabs, line breaks and BOMs at both ends
    /// (``trimmedSpaces(_:)`` over the string's UTF-8).
    public func trimmingSpaces() -> String {
        var copy = self
        return copy.withUTF8 { u -> String in
            let t = trimmedSpaces(u)
            return t.count == u.count ? self : String(decoding: t, as: UTF8.self)
        }
    }
}
