import Foundation
import GRDB
import DefermentCore
import DefermentFiles
import DefermentStore

/// Reads a roster and decides each row (名冊檢核): the same code serves `run` and `check`.
public struct RosterIntake {
    public var reference: ReferenceData
    /// The day of processing (a birth date after it is an error).
    public var today: CivilDate

    public init(reference: ReferenceData, today: CivilDate = Desk.day(of: Date())) {
        self.reference = reference
        self.today = today
    }

    /// A roster row read and checked without the registry, with the upload date it carries.
    ///
    /// A structure of references (the parsed row is an object): rows are sorted by index, not
    /// moved; a class of its own would cost an allocation and a release per row.
    public struct ReadRow: Sendable {
        public let raw: RosterRow
        public let parsed: ParsedRosterRow
        public let stored: StoredRosterFields
        public let uploadDate: CivilDate?

        init(raw: RosterRow, parsed: ParsedRosterRow, stored: StoredRosterFields, uploadDate: CivilDate?) {
            self.raw = raw
            self.parsed = parsed
            self.stored = stored
            self.uploadDate = uploadDate
        }

        /// Whether deciding the row needs the registry's record of the person: not when the
        /// row is refused before that (a malformed ID, a missing field).
        var asksRegistry: Bool { parsed.preRegistryReason == nil }

        /// The roster the row is listed in: a row whose status is unreadable is listed with the
        /// application roster.
        var rosterKind: RosterKind { parsed.rosterKind ?? .application }

        /// What the row is sorted and stored by: its school, upload date (`arrivalDay` when the
        /// row has none), roster and key.
        func storageKey(arrivalDay: CivilDate) -> (school: String, date: CivilDate, kind: RosterKind, key: String) {
            (parsed.schoolCode, uploadDate ?? arrivalDay, rosterKind, stored.key)
        }
    }

    /// Reads a roster file and runs the checks that need no registry, calling `body` for each
    /// row. Throws ``FileRejection`` for a file that cannot be read at all.
    /// - Parameter opened: called with the file's reader before the first row.
    func read(url: URL, originalName: String, opened: (TableReader) -> Void = { _ in },
              body: (ReadRow) throws -> Void) throws -> (format: String, source: UploadDateSource) {
        let reader: TableReader
        do { reader = try TableFile.open(url) } catch let e as TableFileError { throw FileRejection(e) }
        opened(reader)
        let nameDate = uploadDate(inFileName: originalName)
        var source: UploadDateSource = nameDate != nil ? .fileName : .arrival
        let rules = reference.rules, today = self.today
        let header: HeaderMap<RosterColumn>?
        /// Takes the header's columns of a row of `count` cells (`cell(i)`: cell `i`'s text) and
        /// runs the checks that need no registry.
        func emit(_ header: HeaderMap<RosterColumn>, number: Int, count: Int, undecodable: Set<Int>, cell: (Int) -> String) throws {
            var raw = RosterRow(sourceRow: number)
            for (column, index) in header.columns where index < count {
                raw[column] = cell(index)
                if !undecodable.isEmpty && undecodable.contains(index) { raw.markUndecodable(column) }
            }
            var date = nameDate
            if date == nil, let d = CivilDate.parse(raw.text(.uploadDate)) { date = d; source = .column }
            let parsed = RosterRules.parse(raw, rules: rules, today: today)
            try body(ReadRow(raw: raw, parsed: parsed, stored: StoredRosterFields(parsed), uploadDate: date))
        }
        do {
            if reader.handsOverBytes {
                // A UTF-8 CSV: a `String` is made of the roster's own columns only, straight
                // from the bytes read (not of every cell first, in an array per row).
                header = try findHeader(reader, match: RosterColumn.matching(header:), rowBytes: { header, row in
                    try emit(header, number: row.number, count: row.count, undecodable: row.undecodable) {
                        String(decoding: row[$0], as: UTF8.self)
                    }
                })
            } else {
                header = try findHeader(reader, match: RosterColumn.matching(header:)) { header, row in
                    try emit(header, number: row.number, count: row.cells.count, undecodable: row.undecodable) { row.cells[$0] }
                }
            }
        } catch let e as TableFileError {
            throw FileRejection(e)
        }
        _ = try HeaderMap.checked(header, required: RosterColumn.templateOrder.filter(\.isRequired),
            noHeader: FileRejection(problem: "找不到標題列：檔案前 10 列中沒有一列含有名冊欄位名稱（如「身分證字號」「出生年月日」「姓名」）。",
                                    fix: "請使用名冊範本的標題列（\(RosterColumn.templateOrder.map(\.rawValue).joined(separator: "、"))）後重新上傳。"),
            missing: { header, absent in
                FileRejection(problem: "第 \(header.headerRow) 列的標題列缺少必要欄位：\(absent.map(\.rawValue).joined(separator: "、"))。",
                              fix: "請在標題列加上這些欄位（欄名須與名冊範本相同）並填入資料後重新上傳。")
            })
        return (reader.formatDescription, source)
    }

    /// A row's outcome, with the registry.
    func assessment(of row: ReadRow, lookup: RegistryLookup) throws -> RowAssessment {
        try assessment(of: row, person: row.asksRegistry ? lookup.person(row.parsed.nationalID) : nil, lookup: lookup)
    }

    /// A row's outcome, given the registry's record of the person (looked up when
    /// ``ReadRow/asksRegistry``).
    func assessment(of row: ReadRow, person: RegistryPerson?, lookup: RegistryLookup) throws -> RowAssessment {
        var recorded: [DefermentPeriod] = []
        if person != nil && row.parsed.rosterKind == .application {
            recorded = try lookup.recordedDeferments(row.parsed.nationalID)
        }
        return RosterRules.assess(row.parsed, person: person, recordedDeferments: recorded, rules: reference.rules)
    }

    /// Packs a decided row as it is stored and counts its outcome as inserted (``OutcomeCount/one``,
    /// corrected later if storing finds it stored already): the same step on the reading thread
    /// for a large file and on the storing thread for the rest.
    func pack(_ row: ReadRow, _ a: RowAssessment, startsPair: Bool, keyFirstSeen: Bool, arrivalDay: CivilDate,
              into packed: PackedRosterRows, tally: inout OutcomeTally) {
        let (school, date, kind, _) = row.storageKey(arrivalDay: arrivalDay)
        packed.append(parsed: row.parsed, stored: row.stored, uploadDate: date.iso, rosterKind: kind, assessment: a,
                      startsPair: startsPair, keyFirstSeen: keyFirstSeen)
        tally.add(.one, to: OutcomeKey(county: a.countyCode, kind: kind, state: a.state, reason: a.reason), school: school, date: date)
    }

    /// Completes a row's outcome with the registry.
    func decide(_ row: ReadRow, arrivalDay: CivilDate, lookup: RegistryLookup) throws -> RecordedRosterRow {
        let assessment = try assessment(of: row, lookup: lookup)
        return RecordedRosterRow(sourceRow: row.parsed.sourceRow, uploadDate: row.uploadDate ?? arrivalDay, parsed: row.parsed,
                                 stored: row.stored, rosterKind: row.rosterKind, assessment: assessment)
    }

    /// Streams a roster file, calling `body` with each row's outcome. Registry look-ups go
    /// through `lookup`; nothing is written. Reading and checking run on a second thread.
    public func assess(url: URL, originalName: String, arrivalDay: CivilDate, lookup: RegistryLookup,
                       body: (RecordedRosterRow, RosterRow) throws -> Void) throws -> (format: String, source: UploadDateSource) {
        var result: (format: String, source: UploadDateSource)?
        try PipelinedRows.run(produce: { emit in
            result = try self.read(url: url, originalName: originalName, body: emit)
        }, consume: { (row: ReadRow) in
            try body(try decide(row, arrivalDay: arrivalDay, lookup: lookup), row.raw)
        })
        return result!
    }

    public var tuning = Tuning()
}
