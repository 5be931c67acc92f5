import Foundation
import GRDB
import DefermentCore
import DefermentFiles
import DefermentStore

/// Why a whole file was refused (退件), worded for the person who sent it.
public struct FileRejection: Error, Sendable, Equatable {
    /// What is wrong, in zh-TW.
    public var problem: String
    /// What to do, in zh-TW.
    public var fix: String

    public init(problem: String, fix: String) {
        self.problem = problem
        self.fix = fix
    }

    init(_ error: TableFileError) {
        self.init(problem: error.problem, fix: error.fix)
    }
}

/// Where a roster's upload date (上傳日期) came from.
public enum UploadDateSource: String, Sendable {
    case fileName = "檔名"
    case column = "上傳日期欄"
    case arrival = "收檔日"
}

/// Finds the upload date written in a file name as `YYYYMMDD` or `YYYY-MM-DD`.
public func uploadDate(inFileName name: String) -> CivilDate? {
    let chars = Array(name.utf8)
    var i = 0
    while i < chars.count {
        guard chars[i] >= 0x30 && chars[i] <= 0x39 else { i += 1; continue }
        var j = i
        while j < chars.count && ((chars[j] >= 0x30 && chars[j] <= 0x39) || chars[j] == 0x2D) { j += 1 }
        let run = String(decoding: chars[i..<j], as: UTF8.self)
        let digits = run.filter(\.isNumber)
        let isCompact = run.count == 8 && digits.count == 8
        let isDashed = run.count == 10 && run.split(separator: "-").map(\.count) == [4, 2, 2]
        if isCompact || isDashed, let y = Int(digits.prefix(4)), let m = Int(digits.dropFirst(4).prefix(2)),
           let d = Int(digits.suffix(2)), y >= 1990, let date = CivilDate(year: y, month: m, day: d) {
            return date
        }
        i = j
    }
    return nil
}

private struct NoHeader: Error {}

/// Maps header cells to known columns.
struct HeaderMap<Column: Hashable> {
    let indexOf: [Column: Int]
    let headerRow: Int
    /// The same pairs as an array, for the per-row loop.
    let columns: [(Column, Int)]

    init(indexOf: [Column: Int], headerRow: Int) {
        self.indexOf = indexOf
        self.headerRow = headerRow
        columns = indexOf.map { ($0.key, $0.value) }
    }
}

/// Looks for the header among the first rows: the first row naming at least three known columns.
func findHeader<Column: Hashable>(_ reader: TableReader, match: (String) -> Column?,
                                  body: (HeaderMap<Column>, TableRow) throws -> Void) throws -> HeaderMap<Column>? {
    var header: HeaderMap<Column>?
    var looked = 0
    do {
        try reader.forEachRow { row in
            if let header { try body(header, row); return }
            looked += 1
            var map: [Column: Int] = [:]
            for (i, cell) in row.cells.enumerated() {
                if let c = match(cell), map[c] == nil { map[c] = i }
            }
            if map.count >= 3 { header = HeaderMap(indexOf: map, headerRow: row.number) }
            else if looked >= 10 { throw NoHeader() }
        }
    } catch is NoHeader {
        return nil
    }
    return header
}

/// What a roster file did (名冊處理結果), without personal data.
public struct RosterFileSummary: Sendable {
    public var rows = 0
    private var stateCounts = [Int](repeating: 0, count: ReviewState.allCases.count)
    /// Rows by review state.
    public var byState: [ReviewState: Int] {
        Dictionary(uniqueKeysWithValues: ReviewState.allCases.enumerated().map { ($1, stateCounts[$0]) })
    }
    mutating func count(_ state: ReviewState) {
        switch state {
        case .notAssigned: stateCounts[0] += 1
        case .pending: stateCounts[1] += 1
        case .approved: stateCounts[2] += 1
        case .refused: stateCounts[3] += 1
        }
    }
    public var byCounty: [String: Int] = [:]
    public var byReason: [String: Int] = [:]
    public var duplicates = 0
    public var replaced = 0
    public var newSchools: [String] = []
    public var uploadDates: Set<CivilDate> = []
    public var uploadDateSource: UploadDateSource = .arrival
    /// (school code, upload date) pairs the file wrote.
    public var touched: Set<[String]> = []
    /// Counties given a new or changed row (their decision workbooks change).
    public var changedCounties: Set<String> = []

    /// One line for logs and the ledger: counts only.
    public func line(counties: CountyDirectory) -> String {
        var parts = ["\(rows) 列"]
        for s in ReviewState.allCases { if let n = byState[s], n > 0 { parts.append("\(s.rawValue) \(n)") } }
        if duplicates > 0 { parts.append("重複未再記錄 \(duplicates)") }
        if replaced > 0 { parts.append("更新 \(replaced)") }
        if !newSchools.isEmpty {
            let shown = newSchools.prefix(10).joined(separator: "、")
            parts.append("新增學校 \(shown)" + (newSchools.count > 10 ? " 等 \(newSchools.count) 所" : ""))
        }
        return parts.joined(separator: "，")
    }
}

/// Reads a roster and decides each row (名冊檢核): the same code serves `run` and `check`.
public struct RosterIntake {
    public var reference: ReferenceData

    public init(reference: ReferenceData) {
        self.reference = reference
    }

    /// A roster row read and checked without the registry, with the upload date it carries.
    public struct ReadRow: Sendable {
        public var raw: RosterRow
        public var parsed: ParsedRosterRow
        public var stored: StoredRosterFields
        public var uploadDate: CivilDate?
    }

    /// Reads a roster file and runs the checks that need no registry, calling `body` for each
    /// row. Throws ``FileRejection`` for a file that cannot be read at all.
    func read(url: URL, originalName: String, body: (ReadRow) throws -> Void) throws -> (format: String, source: UploadDateSource) {
        let reader: TableReader
        do { reader = try TableFile.open(url) } catch let e as TableFileError { throw FileRejection(e) }
        let nameDate = uploadDate(inFileName: originalName)
        var source: UploadDateSource = nameDate != nil ? .fileName : .arrival
        let rules = reference.rules
        let header: HeaderMap<RosterColumn>?
        do {
            header = try findHeader(reader, match: RosterColumn.matching(header:)) { header, row in
                var raw = RosterRow(sourceRow: row.number)
                for (column, index) in header.columns where index < row.cells.count {
                    raw[column] = row.cells[index]
                    if !row.undecodable.isEmpty && row.undecodable.contains(index) { raw.markUndecodable(column) }
                }
                var date = nameDate
                if date == nil, let d = CivilDate.parse(raw.text(.uploadDate)) { date = d; source = .column }
                let parsed = RosterRules.parse(raw, rules: rules)
                try body(ReadRow(raw: raw, parsed: parsed, stored: StoredRosterFields(parsed), uploadDate: date))
            }
        } catch let e as TableFileError {
            throw FileRejection(e)
        }
        guard let header else {
            throw FileRejection(problem: "找不到標題列：檔案前 10 列中沒有一列含有名冊欄位名稱（如「身分證字號」「出生年月日」「姓名」）。",
                                fix: "請使用名冊範本的標題列（\(RosterColumn.templateOrder.map(\.rawValue).joined(separator: "、"))）後重新上傳。")
        }
        let missing = RosterColumn.templateOrder.filter { $0.isRequired && header.indexOf[$0] == nil }
        if !missing.isEmpty {
            throw FileRejection(problem: "第 \(header.headerRow) 列的標題列缺少必要欄位：\(missing.map(\.rawValue).joined(separator: "、"))。",
                                fix: "請在標題列加上這些欄位（欄名須與名冊範本相同）並填入資料後重新上傳。")
        }
        return (reader.formatDescription, source)
    }

    /// Completes a row's outcome with the registry.
    func decide(_ row: ReadRow, arrivalDay: CivilDate, lookup: PersonLookup) throws -> RecordedRosterRow {
        let parsed = row.parsed
        var person: RegistryPerson?
        var recorded: [DefermentPeriod] = []
        if parsed.preRegistryReason == nil {
            person = try lookup.person(parsed.nationalID)
            if person != nil && parsed.rosterKind == .application {
                recorded = try lookup.recordedDeferments(parsed.nationalID)
            }
        }
        let assessment = RosterRules.assess(parsed, person: person, recordedDeferments: recorded, rules: reference.rules)
        // A row whose status is unreadable is listed with the application roster.
        return RecordedRosterRow(sourceRow: parsed.sourceRow, uploadDate: row.uploadDate ?? arrivalDay, parsed: parsed,
                                 stored: row.stored, rosterKind: parsed.rosterKind ?? .application, assessment: assessment)
    }

    /// Streams a roster file, calling `body` with each row's outcome. Registry look-ups go
    /// through `lookup`; nothing is written. Reading and checking run on a second thread.
    public func assess(url: URL, originalName: String, arrivalDay: CivilDate, lookup: PersonLookup,
                       body: (RecordedRosterRow, RosterRow) throws -> Void) throws -> (format: String, source: UploadDateSource) {
        var result: (format: String, source: UploadDateSource)?
        try PipelinedRows.run(produce: { emit in
            result = try self.read(url: url, originalName: originalName, body: emit)
        }, consume: { (row: ReadRow) in
            try body(try decide(row, arrivalDay: arrivalDay, lookup: lookup), row.raw)
        })
        return result!
    }

    /// Applies a roster inside the caller's transaction: every row is recorded with its outcome.
    public func apply(_ db: Database, fileID: Int64, url: URL, originalName: String, arrivalDay: CivilDate,
                      progress: (Int) throws -> Void) throws -> (RosterFileSummary, String) {
        var summary = RosterFileSummary()
        var knownSchools = try DeskStore.schoolCodes(db)
        let writer = try RosterRowWriter(db, fileID: fileID)
        let lookup = try PersonLookup(db)
        var lastPair = ("", CivilDate(year: 1900, month: 1, day: 1)!)
        let result = try assess(url: url, originalName: originalName, arrivalDay: arrivalDay, lookup: lookup) { row, _ in
            let code = row.parsed.schoolCode
            if !code.isEmpty && !knownSchools.contains(code) {
                try DeskStore.addRosterSchool(db, code: code, name: row.parsed.schoolName)
                knownSchools.insert(code)
                summary.newSchools.append(code)
            }
            switch try writer.write(row) {
            case .inserted: if let c = row.assessment.countyCode { summary.changedCounties.insert(c) }
            case .replaced:
                summary.replaced += 1
                if let c = row.assessment.countyCode { summary.changedCounties.insert(c) }
            case .duplicate: summary.duplicates += 1
            }
            summary.rows += 1
            summary.count(row.assessment.state)
            if let c = row.assessment.countyCode { summary.byCounty[c, default: 0] += 1 }
            if let r = row.assessment.reason { summary.byReason[r.text, default: 0] += 1 }
            summary.uploadDates.insert(row.uploadDate)
            if row.parsed.schoolCode != lastPair.0 || row.uploadDate != lastPair.1 {
                lastPair = (row.parsed.schoolCode, row.uploadDate)
                summary.touched.insert([lastPair.0, lastPair.1.iso])
            }
            if summary.rows % 10_000 == 0 { try progress(summary.rows) }
        }
        if summary.rows == 0 {
            throw FileRejection(problem: "檔案只有標題列，沒有任何學生資料。", fix: "請確認匯出範圍後重新上傳。")
        }
        summary.uploadDateSource = result.source
        try DeskStore.refreshCounts(db, pairs: summary.touched, version: fileID, workbookCounties: summary.changedCounties)
        return (summary, result.format)
    }
}

/// A registry row that could not be used (役政資料錯誤), for the operator.
public struct RegistryRowProblem: Sendable {
    public var row: Int
    public var column: String
    public var message: String
}

/// Applies registry extracts (役政資料): each row replaces what the registry said of that person;
/// people the extract does not name keep their records.
public struct RegistryIntake {
    public var reference: ReferenceData

    public init(reference: ReferenceData) {
        self.reference = reference
    }

    /// A registry row: a person to store, or why it could not be used.
    enum ReadRow {
        case person(RegistryPerson)
        case problem(RegistryRowProblem)
    }

    /// Reads and validates an extract, calling `body` for each row.
    func read(url: URL, body: (ReadRow) throws -> Void) throws -> String {
        let reader: TableReader
        do { reader = try TableFile.open(url) } catch let e as TableFileError { throw FileRejection(e) }
        let rules = reference.rules
        let counties = reference.counties
        let header: HeaderMap<RegistryColumn>?
        do {
            header = try findHeader(reader, match: RegistryColumn.matching(header:)) { header, row in
                func cell(_ c: RegistryColumn) -> String {
                    guard let i = header.indexOf[c], i < row.cells.count else { return "" }
                    return row.cells[i].trimmingSpaces()
                }
                func problem(_ c: RegistryColumn, _ message: String) throws {
                    try body(.problem(RegistryRowProblem(row: row.number, column: c.rawValue, message: message)))
                }
                let id = NationalID.normalise(cell(.nationalID))
                guard case .citizen = NationalID.classify(id) else { return try problem(.nationalID, "身分證字號格式錯誤") }
                guard let birth = CivilDate.parse(cell(.birthDate)) else { return try problem(.birthDate, "日期無法辨識") }
                let name = cell(.name)
                guard !name.isEmpty else { return try problem(.name, "空白") }
                guard let county = counties.normalise(cell(.countyCode)) else { return try problem(.countyCode, "不在縣市代碼表中") }
                let education = cell(.education)
                guard rules.educationIsSameOrHigher[education] != nil else { return try problem(.education, "不是已知的教育程度") }
                let service = cell(.serviceStatus)
                guard rules.serviceStatusBlocks[service] != nil else { return try problem(.serviceStatus, "不是已知的兵役狀態") }
                var deferment: DefermentPeriod?
                let startText = cell(.defermentStart)
                let endText = cell(.defermentEnd)
                if !startText.isEmpty {
                    guard let start = CivilDate.parse(startText) else { return try problem(.defermentStart, "日期無法辨識") }
                    var end: CivilDate?
                    if !endText.isEmpty {
                        guard let e = CivilDate.parse(endText) else { return try problem(.defermentEnd, "日期無法辨識") }
                        end = e
                    }
                    deferment = DefermentPeriod(start: start, end: end)
                }
                try body(.person(RegistryPerson(nationalID: id, birthDate: birth, name: name, countyCode: county,
                                                education: education, serviceStatus: service, deferment: deferment)))
            }
        } catch let e as TableFileError {
            throw FileRejection(e)
        }
        guard let header else {
            throw FileRejection(problem: "找不到標題列：檔案前 10 列中沒有役政資料欄位名稱。",
                                fix: "請確認標題列含有：\(RegistryColumn.allCases.filter(\.isRequired).map(\.rawValue).joined(separator: "、"))。")
        }
        let missing = RegistryColumn.allCases.filter { $0.isRequired && header.indexOf[$0] == nil }
        if !missing.isEmpty {
            throw FileRejection(problem: "標題列缺少必要欄位：\(missing.map(\.rawValue).joined(separator: "、"))。",
                                fix: "請補上這些欄位後重新提供役政資料檔。")
        }
        return reader.formatDescription
    }

    /// Applies an extract inside the caller's transaction; reading runs on a second thread.
    public func apply(_ db: Database, fileID: Int64?, url: URL, progress: (Int) throws -> Void) throws -> (rows: Int, problems: [RegistryRowProblem], format: String) {
        let writer = try PersonWriter(db, fileID: fileID)
        var rows = 0
        var problems: [RegistryRowProblem] = []
        var format = ""
        try PipelinedRows.run(produce: { emit in
            format = try self.read(url: url, body: emit)
        }, consume: { (row: ReadRow) in
            switch row {
            case .person(let p):
                try writer.save(p)
                rows += 1
                if rows % 10_000 == 0 { try progress(rows) }
            case .problem(let p):
                problems.append(p)
            }
        })
        return (rows, problems, format)
    }
}
