/// Why a row was given to no county (不分派原因).
public enum NotAssignedReason: Hashable, Sendable {
    /// 身分證字號格式錯誤: wrong shape or check digit.
    case idFormat
    /// 身分證字號與出生日期不符: the registry has another birth date (manual item 12).
    case birthDateMismatch
    /// 查無役政資料: the ID is not in the registry.
    case notInRegistry
    /// 欄位錯誤：<欄位>: a missing or unreadable value.
    case fieldError(String)

    /// The wording schools see.
    public var text: String {
        switch self {
        case .idFormat: return "身分證字號格式錯誤"
        case .birthDateMismatch: return "身分證字號與出生日期不符"
        case .notInRegistry: return "查無役政資料"
        case .fieldError(let column): return "欄位錯誤：\(column)"
        }
    }

    /// The reason a stored text names, if it is one.
    public init?(text: String) {
        switch text {
        case "身分證字號格式錯誤": self = .idFormat
        case "身分證字號與出生日期不符": self = .birthDateMismatch
        case "查無役政資料": self = .notInRegistry
        default:
            guard text.hasPrefix("欄位錯誤：") else { return nil }
            self = .fieldError(String(text.dropFirst("欄位錯誤：".count)))
        }
    }

    /// What the school must do about it.
    public var remedy: String {
        switch self {
        case .idFormat: return "請至學生基本資料庫更正該生身分證字號，下月名冊將重新報送。"
        case .birthDateMismatch: return "請查明該生正確的身分證字號與出生日期，於學生基本資料庫更正後重新報送。"
        case .notInRegistry: return "役政資訊系統查無此人，請查明身分證字號是否正確後重新報送。"
        case .fieldError(let column): return "請於學生基本資料庫補正「\(column)」欄位後重新報送。"
        }
    }
}

/// A logic check result shown to the county reviewer (系統檢核結果).
public enum CheckResult: Equatable, Sendable {
    /// 就讀同等級或低於原等級學校.
    case sameOrLowerLevel
    /// 逾就學年齡限制, with the limit that applied.
    case overAgeLimit(Int)
    /// 已有未結束之在學緩徵註記.
    case openDeferment
    /// 役別不符：<兵役狀態>.
    case serviceStatus(String)
    /// The ID's sex digit says female.
    case femaleID
    /// A resident-certificate number: not subject to conscription.
    case residentCertificate
    /// Grade 1–2 end date is not 30 June of the grade-12 year.
    case endNotGrade12June30(expected: CivilDate)
    /// The start date is after the end date.
    case startAfterEnd

    /// The wording reviewers and schools see.
    public var text: String {
        switch self {
        case .sameOrLowerLevel: return "就讀同等級或低於原等級學校"
        case .overAgeLimit(let limit): return "逾就學年齡限制（\(limit)歲）"
        case .openDeferment: return "已有未結束之在學緩徵註記"
        case .serviceStatus(let s): return "役別不符：\(s)"
        case .femaleID: return "身分證字號性別碼為女性"
        case .residentCertificate: return "外來人口統一證號，非役政對象"
        case .endNotGrade12June30(let expected): return "緩徵終止日期非高三之年6月30日（應為\(expected.iso)）"
        case .startAfterEnd: return "緩徵起始日期晚於終止日期"
        }
    }
}

/// A roster row after its fields were read: typed values, or the first field that failed.
///
/// A class, immutable once ``RosterRules/parse(_:rules:)`` returns it: rows are handed between
/// threads, sorted and passed through the rules, and a copy of a structure of a dozen strings
/// cost a copy of its bytes and a retain of each string every time.
public final class ParsedRosterRow: @unchecked Sendable {
    public let sourceRow: Int
    /// Normalised 身分證字號 (may be invalid; then `idKind == .invalid`).
    public let nationalID: String
    public let idKind: NationalIDKind
    public let name: String
    /// The birth date as written, for the report when it cannot be read.
    public let birthDateText: String
    public let birthDate: CivilDate?
    public let schoolCode: String
    public let schoolName: String
    public let program: String
    public let grade: String
    public let gradeNumber: Int?
    public let status: String
    public let rosterKind: RosterKind?
    public let startText: String
    public let start: CivilDate?
    public let endText: String
    public let end: CivilDate?
    public let experimental: Bool
    /// The first problem that keeps the row from any county, before the registry is asked.
    public fileprivate(set) var preRegistryReason: NotAssignedReason?

    fileprivate init(sourceRow: Int, nationalID: String, idKind: NationalIDKind, name: String, birthDateText: String,
                     birthDate: CivilDate?, schoolCode: String, schoolName: String, program: String, grade: String,
                     gradeNumber: Int?, status: String, rosterKind: RosterKind?, startText: String, start: CivilDate?,
                     endText: String, end: CivilDate?, experimental: Bool) {
        self.sourceRow = sourceRow
        self.nationalID = nationalID
        self.idKind = idKind
        self.name = name
        self.birthDateText = birthDateText
        self.birthDate = birthDate
        self.schoolCode = schoolCode
        self.schoolName = schoolName
        self.program = program
        self.grade = grade
        self.gradeNumber = gradeNumber
        self.status = status
        self.rosterKind = rosterKind
        self.startText = startText
        self.start = start
        self.endText = endText
        self.end = end
        self.experimental = experimental
    }

    /// The birth date as stored and reported: ISO when readable, else as written.
    public var birthDateStored: String { birthDate?.iso ?? birthDateText }
    /// The start date as stored and reported.
    public var startStored: String { start?.iso ?? startText }
    /// The end date as stored and reported.
    public var endStored: String { end?.iso ?? endText }
}

/// What happens to a row (核處結果): its review state, county and system checks.
public struct RowAssessment: Equatable, Sendable {
    /// `notAssigned` or `pending` (decisions come later from counties).
    public var state: ReviewState
    /// The reason, for a row given to no county.
    public var reason: NotAssignedReason?
    /// The county the row was assigned to (戶籍縣市代碼).
    public var countyCode: String?
    /// Check results for the reviewer.
    public var checks: [CheckResult]

    /// 系統檢核: the reason and check results joined by ；.
    public var summary: String {
        var parts: [String] = []
        if let reason { parts.append(reason.text) }
        parts += checks.map(\.text)
        return parts.joined(separator: "；")
    }
}

/// The roster rules of docs/rules.md, as pure functions.
public enum RosterRules {
    /// Reads a raw row into typed values and finds the first problem that needs no registry.
    /// `today` is the day of processing: a birth date after it is 欄位錯誤：出生年月日.
    public static func parse(_ row: RosterRow, rules: DefermentRules, today: CivilDate) -> ParsedRosterRow {
        let rawID = row.text(.nationalID)
        let id = NationalID.normalise(rawID)
        let idKind = NationalID.classify(id)
        let birthText = row.text(.birthDate)
        let startText = row.text(.start)
        let endText = row.text(.end)
        let status = row.text(.status)
        let grade = row.text(.grade)
        let parsed = ParsedRosterRow(
            sourceRow: row.sourceRow, nationalID: id, idKind: idKind, name: row.text(.name),
            birthDateText: birthText, birthDate: CivilDate.parse(birthText),
            schoolCode: row.text(.schoolCode), schoolName: row.text(.schoolName),
            program: row.text(.program), grade: grade, gradeNumber: parseGrade(grade),
            status: status, rosterKind: rules.rosterKindByStatus[status],
            startText: startText, start: CivilDate.parse(startText),
            endText: endText, end: CivilDate.parse(endText),
            experimental: parseYesNo(row.text(.experimental)) ?? false)

        // The first failing field, in the roster's column order.
        func fieldError() -> NotAssignedReason? {
            if let bad = RosterColumn.templateOrder.first(where: { row.isUndecodable($0) }) {
                return .fieldError(bad.rawValue)
            }
            if rawID.isEmpty { return .fieldError(RosterColumn.nationalID.rawValue) }
            guard let birth = parsed.birthDate, birth <= today else { return .fieldError(RosterColumn.birthDate.rawValue) }
            if parsed.name.isEmpty { return .fieldError(RosterColumn.name.rawValue) }
            // The code names the school's folder on the site: only the one whitelisted form.
            if !PathGate.accepts(parsed.schoolCode, as: .schoolCode) { return .fieldError(RosterColumn.schoolCode.rawValue) }
            guard let kind = parsed.rosterKind else { return .fieldError(RosterColumn.status.rawValue) }
            // A leaving row may leave the start empty; anything written must be a date.
            if parsed.start == nil && (kind == .application || !startText.isEmpty) {
                return .fieldError(RosterColumn.start.rawValue)
            }
            if parsed.end == nil { return .fieldError(RosterColumn.end.rawValue) }
            if row[.experimental] != nil, parseYesNo(row.text(.experimental)) == nil {
                return .fieldError(RosterColumn.experimental.rawValue)
            }
            return nil
        }
        if !rawID.isEmpty && idKind != .citizen(male: true) && idKind != .citizen(male: false) {
            parsed.preRegistryReason = .idFormat
        } else {
            parsed.preRegistryReason = fieldError()
        }
        return parsed
    }

    /// Decides a row's outcome from its parsed values, the registry's record of the person (if
    /// any) and the deferment periods already on record for him.
    public static func assess(_ row: ParsedRosterRow, person: RegistryPerson?,
                              recordedDeferments: [DefermentPeriod], rules: DefermentRules) -> RowAssessment {
        var checks: [CheckResult] = []
        if row.idKind == .residentCertificate { checks.append(.residentCertificate) }
        if let reason = row.preRegistryReason {
            return RowAssessment(state: .notAssigned, reason: reason, countyCode: nil, checks: checks)
        }
        guard let person else {
            return RowAssessment(state: .notAssigned, reason: .notInRegistry, countyCode: nil, checks: checks)
        }
        guard person.birthDate == row.birthDate else {
            return RowAssessment(state: .notAssigned, reason: .birthDateMismatch, countyCode: nil, checks: checks)
        }
        if row.idKind == .citizen(male: false) { checks.append(.femaleID) }
        if let start = row.start, let end = row.end, start > end { checks.append(.startAfterEnd) }
        if row.rosterKind == .application, let start = row.start, let end = row.end, let birth = row.birthDate {
            if rules.educationIsSameOrHigher[person.education] == true { checks.append(.sameOrLowerLevel) }
            if let limit = rules.ageLimit(experimental: row.experimental), start.year - birth.year > limit {
                checks.append(.overAgeLimit(limit))
            }
            let requested = DefermentPeriod(start: start, end: end)
            // The desk's record of a deferment the registry holds (same start: one a signed
            // leaving row ended, or one the desk approved) is more current than the registry's.
            let registry = person.deferment.flatMap { held in recordedDeferments.contains { $0.start == held.start } ? nil : held }
            let onRecord = recordedDeferments + (registry.map { [$0] } ?? [])
            if onRecord.contains(where: { $0.overlaps(requested) }) { checks.append(.openDeferment) }
            if rules.serviceStatusBlocks[person.serviceStatus] == true {
                checks.append(.serviceStatus(person.serviceStatus))
            }
            if let grade = row.gradeNumber, grade == 1 || grade == 2 {
                let expected = expectedEnd(grade: grade, start: start)
                if expected != end { checks.append(.endNotGrade12June30(expected: expected)) }
            }
        }
        return RowAssessment(state: .pending, reason: nil, countyCode: person.countyCode, checks: checks)
    }

    /// 30 June of the grade-12 year for a student in grade 1 or 2 whose deferment starts on
    /// `start`. A school year runs from 1 August to 31 July.
    public static func expectedEnd(grade: Int, start: CivilDate) -> CivilDate {
        let schoolYear = start.month >= 8 ? start.year : start.year - 1
        return CivilDate(year: schoolYear + (3 - grade) + 1, month: 6, day: 30)!
    }

    /// Reads a grade as schools write it: `1`, `10`, `一`, `高一`, `一年級`, `1年級`.
    public static func parseGrade(_ raw: String) -> Int? {
        // A single digit, as national files write it, without comparing against each spelling.
        if raw.utf8.count == 1, let d = raw.utf8.first, d >= 0x31 && d <= 0x34 { return Int(d - 0x30) }
        let s = raw.trimmingSpaces()
        switch s {
        case "1", "10", "一", "高一", "一年級", "1年級", "高1": return 1
        case "2", "11", "二", "高二", "二年級", "2年級", "高2": return 2
        case "3", "12", "三", "高三", "三年級", "3年級", "高3": return 3
        case "4", "四", "四年級", "4年級": return 4
        default: return nil
        }
    }

    /// Reads 是/否 as files write it (是, 否, Y, N, 1, 0, V, empty = 否).
    public static func parseYesNo(_ raw: String) -> Bool? {
        // 否 and 是 as files write them, told by their bytes (``ByteText``).
        if raw.isEmpty || ByteText.sameBytes(raw, "否") { return false }
        if ByteText.sameBytes(raw, "是") { return true }
        switch raw.trimmingSpaces().uppercased() {
        case "是", "Y", "YES", "1", "V", "TRUE", "Ｙ": return true
        case "否", "N", "NO", "0", "", "FALSE", "Ｎ": return false
        default: return nil
        }
    }
}
