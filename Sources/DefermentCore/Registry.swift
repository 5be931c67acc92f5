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
