/// A period of in-school deferment (在學緩徵期間). `end == nil` means open-ended.
public struct DefermentPeriod: Hashable, Sendable {
    public var start: CivilDate
    public var end: CivilDate?

    public init(start: CivilDate, end: CivilDate?) {
        self.start = start
        self.end = end
    }

    /// Whether two periods share at least one day.
    public func overlaps(_ other: DefermentPeriod) -> Bool {
        let selfEndsBeforeOther = end.map { $0 < other.start } ?? false
        let otherEndsBeforeSelf = other.end.map { $0 < start } ?? false
        return !selfEndsBeforeOther && !otherEndsBeforeSelf
    }
}

/// One person in the military-service registry extract (役政資料).
public struct RegistryPerson: Sendable, Equatable {
    /// 身分證字號.
    public var nationalID: String
    /// 出生年月日.
    public var birthDate: CivilDate
    /// 姓名.
    public var name: String
    /// 戶籍縣市代碼, normalised to a five-digit official code.
    public var countyCode: String
    /// 教育程度, one of the levels in the rules file.
    public var education: String
    /// 兵役狀態, one of the statuses in the rules file.
    public var serviceStatus: String
    /// An in-school deferment already on record (在學緩徵註記), if any.
    public var deferment: DefermentPeriod?

    public init(nationalID: String, birthDate: CivilDate, name: String, countyCode: String,
                education: String, serviceStatus: String, deferment: DefermentPeriod?) {
        self.nationalID = nationalID
        self.birthDate = birthDate
        self.name = name
        self.countyCode = countyCode
        self.education = education
        self.serviceStatus = serviceStatus
        self.deferment = deferment
    }
}

/// A column of a registry extract (役政資料檔).
public enum RegistryColumn: String, Sendable, CaseIterable {
    case nationalID = "身分證字號"
    case birthDate = "出生年月日"
    case name = "姓名"
    case countyCode = "戶籍縣市代碼"
    case education = "教育程度"
    case serviceStatus = "兵役狀態"
    case defermentStart = "在學緩徵起始日期"
    case defermentEnd = "在學緩徵終止日期"

    /// Whether an extract without this column cannot be read at all.
    public var isRequired: Bool {
        self != .defermentStart && self != .defermentEnd
    }

    /// Position in `allCases`; hashing by it avoids hashing the Chinese raw value.
    public var ordinal: Int {
        switch self {
        case .nationalID: 0
        case .birthDate: 1
        case .name: 2
        case .countyCode: 3
        case .education: 4
        case .serviceStatus: 5
        case .defermentStart: 6
        case .defermentEnd: 7
        }
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(ordinal) }
    public static func == (a: RegistryColumn, b: RegistryColumn) -> Bool { a.ordinal == b.ordinal }

    /// Finds the column a header cell names.
    public static func matching(header: String) -> RegistryColumn? {
        let key = RosterColumn.normaliseHeader(header)
        return allCases.first { RosterColumn.normaliseHeader($0.rawValue) == key }
    }
}

/// The registry extract's row rules (役政資料檢核), as a pure function over a row's cells: a
/// usable row's typed values, or the first column that makes it unusable and why.
public enum RegistryRules {
    /// A usable row. Name, education and service status stay the caller's cells (bytes, as
    /// written and trimmed); the rest is typed.
    public struct Checked: Equatable {
        /// The national ID, normalised (a citizen's).
        public var nationalID: String
        public var birthDate: CivilDate
        /// The household county as its five-digit code (台→臺, 9020→09020, 63→63000).
        public var countyCode: String
        public var deferment: DefermentPeriod?
    }

    /// Why a row cannot be used: its column and the message for the operator.
    public struct Problem: Error, Equatable {
        public var column: RegistryColumn
        public var message: String
    }

    /// Checks one row. `cell` gives a column's cell, trimmed, as UTF-8 bytes.
    public static func check(_ cell: (RegistryColumn) -> UnsafeBufferPointer<UInt8>, rules: DefermentRules,
                             counties: CountyDirectory) -> Result<Checked, Problem> {
        // Short cells (IDs, dates, codes) as strings: fifteen bytes or less are held inline.
        func text(_ c: RegistryColumn) -> String { String(decoding: cell(c), as: UTF8.self) }
        func problem(_ c: RegistryColumn, _ message: String) -> Result<Checked, Problem> { .failure(Problem(column: c, message: message)) }
        let id = NationalID.normalise(text(.nationalID))
        guard case .citizen = NationalID.classify(id) else { return problem(.nationalID, "身分證字號格式錯誤") }
        guard let birth = CivilDate.parse(text(.birthDate)) else { return problem(.birthDate, "日期無法辨識") }
        guard !cell(.name).isEmpty else { return problem(.name, "空白") }
        guard let county = counties.normalise(text(.countyCode)) else { return problem(.countyCode, "不在縣市代碼表中") }
        guard rules.educationIsSameOrHigher[utf8: cell(.education)] != nil else { return problem(.education, "不是已知的教育程度") }
        guard rules.serviceStatusBlocks[utf8: cell(.serviceStatus)] != nil else { return problem(.serviceStatus, "不是已知的兵役狀態") }
        var deferment: DefermentPeriod?
        let startText = text(.defermentStart), endText = text(.defermentEnd)
        if !startText.isEmpty {
            guard let start = CivilDate.parse(startText) else { return problem(.defermentStart, "日期無法辨識") }
            var end: CivilDate?
            if !endText.isEmpty {
                guard let e = CivilDate.parse(endText) else { return problem(.defermentEnd, "日期無法辨識") }
                end = e
            }
            deferment = DefermentPeriod(start: start, end: end)
        }
        return .success(Checked(nationalID: id, birthDate: birth, countyCode: county, deferment: deferment))
    }
}
