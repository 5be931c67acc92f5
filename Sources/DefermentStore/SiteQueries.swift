import Foundation
import GRDB
import DefermentCore

/// One roster row as schools and counties see it: the report's columns (審核結果). A class: the
/// site hands one row to several pages and reports without copying its fields.
public final class ReportRow: Sendable {
    public let uploadDate: String
    public let rosterKind: String
    public let nationalID: String
    public let name: String
    public let birthDate: String
    public let schoolCode: String
    public let program: String
    public let grade: String
    public let status: String
    public let start: String
    public let end: String
    public let countyCode: String
    public let countyName: String
    public let reviewState: String
    public let comment: String
    public let reason: String
    public let checks: String
    public let sourceRow: Int
    /// The row's id (序號 in decision workbooks).
    public let id: Int64
    /// A decision awaiting sign-off (陳核中), shown to the county only.
    public let draftDecision: String?
    public let draftComment: String?
    /// A note from applying a decision (e.g. no open record to end), for the county.
    public let decisionNote: String?
    /// ``reviewState`` and ``draftDecision`` as values (`nil` for none or an unknown word), read
    /// once so that pages and reports compare values, not Chinese text, for every row.
    public let state: ReviewState?
    public let draftState: ReviewState?

    /// The roster (anything but 離校 is read as 申請緩徵), found by comparing bytes: texts read
    /// from SQLite are not known to be normalised, and comparing them as `String`s costs more.
    public var kind: RosterKind { ByteText.sameBytes(rosterKind, RosterKind.leaving.rawValue) ? .leaving : .application }

    /// The state a stored word names, compared byte for byte (the words are the desk's own).
    static func parseState(_ word: String?) -> ReviewState? {
        guard let word else { return nil }
        for s in ReviewState.allCases where ByteText.sameBytes(s.rawValue, word) { return s }
        return nil
    }

    /// 審核狀態 as the county sees it: a decision awaiting sign-off is shown with it.
    public var countyState: String {
        guard let d = draftDecision else { return reviewState }
        return "陳核中：\(d)"
    }

    /// 系統檢核: the reason and the check results joined by ；.
    public var systemChecks: String {
        if reason.isEmpty { return checks }
        if checks.isEmpty { return reason }
        return reason + "；" + checks
    }

    /// The number of ``RosterReport`` columns.
    public static let reportColumnCount = 15

    /// The value of the ``RosterReport`` column at `column` (reports read them one by one, for
    /// millions of rows, without an array per row).
    public func reportValue(_ column: Int) -> String {
        switch column {
        case 0: return uploadDate
        case 1: return rosterKind
        case 2: return nationalID
        case 3: return name
        case 4: return birthDate
        case 5: return schoolCode
        case 6: return program
        case 7: return grade
        case 8: return status
        case 9: return start
        case 10: return end
        case 11: return countyName
        case 12: return reviewState
        case 13: return comment
        default: return systemChecks
        }
    }

    /// The values of ``RosterReport`` columns, in order.
    public var reportValues: [String] { (0..<Self.reportColumnCount).map(reportValue) }

    /// What a query of rows fixes in its condition (an upload date, a school, a county): those
    /// columns are not selected but filled in, and county names come from the county table
    /// rather than a join, so that SQLite reads and sorts fewer columns for a million rows.
    struct Fixed {
        let uploadDate: String?
        let schoolCode: String?
        let countyCode: String?
        /// Every county's name by code, and the fixed county's name.
        let countyNames: [String: String]
        let countyName: String?

        init(uploadDate: String? = nil, schoolCode: String? = nil, countyCode: String? = nil, countyNames: [String: String]) {
            (self.uploadDate, self.schoolCode, self.countyCode, self.countyNames) = (uploadDate, schoolCode, countyCode, countyNames)
            countyName = countyCode.map { countyNames[$0] ?? "" }
        }

        /// The columns to select, in the order ``ReportRow/init(_:fixed:)`` reads them.
        var columns: String {
            var c = [String]()
            if uploadDate == nil { c.append("r.upload_date") }
            if schoolCode == nil { c.append("r.school_code") }
            if countyCode == nil { c.append("COALESCE(r.county_code, '')") }
            c += ["r.roster_kind", "r.national_id", "r.name", "r.birth_date", "r.program", "r.grade", "r.enrolment_status",
                  "r.start_date", "r.end_date", "r.review_state", "r.comment", "COALESCE(r.reason, '')", "r.checks",
                  "r.source_row", "r.id", "r.draft_decision", "r.draft_comment", "r.decision_note"]
            return c.joined(separator: ", ")
        }
    }

    init(_ c: RawStatement.ColumnReader, fixed: Fixed) {
        var i: Int32 = -1
        func next() -> Int32 { i += 1; return i }
        uploadDate = fixed.uploadDate ?? c.string(next())
        schoolCode = fixed.schoolCode ?? c.string(next())
        let county = fixed.countyCode ?? c.string(next())
        countyCode = county
        countyName = fixed.countyName ?? fixed.countyNames[county] ?? ""
        rosterKind = c.string(next()); nationalID = c.string(next()); name = c.string(next()); birthDate = c.string(next())
        program = c.string(next()); grade = c.string(next()); status = c.string(next()); start = c.string(next())
        end = c.string(next()); reviewState = c.string(next()); comment = c.string(next()); reason = c.string(next())
        checks = c.string(next()); sourceRow = Int(c.int64(next())); id = c.int64(next()); draftDecision = c.text(next())
        draftComment = c.text(next()); decisionNote = c.text(next())
        state = Self.parseState(reviewState); draftState = Self.parseState(draftDecision)
    }
}

/// A school as the site lists it.
public struct SchoolEntry: Sendable {
    public var code: String
    public var name: String
    public var countyCode: String?
    public var email: String?
    public var addedFromRoster: Bool
}

/// A row of the aggregate table `roster_counts`.
public struct RosterCount: Sendable {
    public var schoolCode: String
    public var uploadDate: String
    public var countyCode: String
    public var rosterKind: String
    public var reviewState: String
    public var count: Int
    public var oldestPending: String?
}

extension DeskStore {
    /// Every row of a school, newest upload first, then roster and source row.
    public static func schoolRows(_ db: Database, school: String) throws -> [ReportRow] {
        try reportRows(db, where: "r.school_code = ?", orderBy: "r.upload_date DESC, r.roster_kind DESC, r.source_row, r.id",
                       [school], fixed: .init(schoolCode: school, countyNames: countyNames(db)))
    }

    /// The rows of one school's roster of an upload date, in the order of ``schoolRows(_:school:)``.
    public static func schoolRows(_ db: Database, school: String, uploadDate: String) throws -> [ReportRow] {
        try reportRows(db, where: "r.school_code = ? AND r.upload_date = ?", orderBy: "r.roster_kind DESC, r.source_row, r.id",
                       [school, uploadDate], fixed: .init(uploadDate: uploadDate, schoolCode: school, countyNames: countyNames(db)))
    }

    /// The rows of one county's roster of an upload date, by school (the county's 名冊 page).
    public static func countyRosterRows(_ db: Database, county: String, uploadDate: String) throws -> [ReportRow] {
        try reportRows(db, where: "r.county_code = ? AND r.upload_date = ?",
                       orderBy: "r.school_code, r.national_id, r.roster_kind DESC, r.source_row, r.id", [county, uploadDate],
                       fixed: .init(uploadDate: uploadDate, countyCode: county, countyNames: countyNames(db)))
    }

    /// Every county's name by code.
    static func countyNames(_ db: Database) throws -> [String: String] {
        var names: [String: String] = [:]
        try RawStatement(db, sql: "SELECT code, name FROM county").forEach { names[$0.string(0)] = $0.string(1) }
        return names
    }

    /// Rows as pages and reports show them, read through the raw statement (pages read millions).
    private static func reportRows(_ db: Database, where condition: String, orderBy order: String,
                                   _ arguments: [String], fixed: ReportRow.Fixed) throws -> [ReportRow] {
        var rows: [ReportRow] = []
        try forEachReportRow(db, where: condition, orderBy: order, arguments, fixed: fixed) { rows.append($0) }
        return rows
    }

    private static func forEachReportRow(_ db: Database, where condition: String, orderBy order: String, _ arguments: [String],
                                         fixed: ReportRow.Fixed, _ body: (ReportRow) throws -> Void) throws {
        try RawStatement(db, sql: "SELECT \(fixed.columns) FROM roster_row r WHERE \(condition) ORDER BY \(order)",
                         arguments: arguments).forEach { try body(ReportRow($0, fixed: fixed)) }
    }

    /// Every row of a county (operators' report), newest first; streamed.
    public static func forEachReportRow(_ db: Database, county: String?, school: String?, _ body: (ReportRow) throws -> Void) throws {
        try forEachReportRow(db, where: county != nil ? "r.county_code = ?" : "r.school_code = ?",
                             orderBy: "r.upload_date DESC, r.school_code, r.roster_kind DESC, r.source_row", [county ?? school ?? ""],
                             fixed: .init(schoolCode: county == nil ? school : nil, countyCode: county, countyNames: countyNames(db)),
                             body)
    }

    /// All schools, by code.
    public static func schools(_ db: Database) throws -> [SchoolEntry] {
        try Row.fetchAll(db, sql: "SELECT code, name, county_code, email, source FROM school ORDER BY code").map {
            SchoolEntry(code: $0[0], name: $0[1], countyCode: $0[2], email: $0[3], addedFromRoster: ($0[4] as String) == "roster")
        }
    }

    /// All counties in the seed order.
    public static func counties(_ db: Database) throws -> [County] {
        try Row.fetchAll(db, sql: "SELECT code, name, office, phone, address, email, is_example FROM county ORDER BY rowid").map {
            County(code: $0[0], name: $0[1], office: $0[2], phone: $0[3], address: $0[4], email: $0[5], isExample: $0[6])
        }
    }

    /// The whole aggregate table (small: schools × dates × counties × states).
    public static func rosterCounts(_ db: Database) throws -> [RosterCount] {
        // Read every build (tens of thousands of rows): through the raw statement.
        var counts: [RosterCount] = []
        let sql = "SELECT school_code, upload_date, county_code, roster_kind, review_state, n, oldest_pending FROM roster_counts"
        try RawStatement(db, sql: sql).forEach { c in
            counts.append(RosterCount(schoolCode: c.string(0), uploadDate: c.string(1), countyCode: c.string(2),
                                      rosterKind: c.string(3), reviewState: c.string(4), count: Int(c.int64(5)), oldestPending: c.text(6)))
        }
        return counts
    }

    /// Whether any roster row of this school and upload date (ISO) is stored.
    public static func hasRows(_ db: Database, schoolCode: String, uploadDate: String) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM roster_row WHERE school_code = ? AND upload_date = ?)",
                          arguments: [schoolCode, uploadDate]) ?? false
    }

    /// Recomputes the aggregates of some (school, upload date ISO) pairs and bumps the versions of
    /// the schools concerned to `version`, and of the decision workbooks of their counties and
    /// those dates. (County pages are small and rendered on every build.)
    ///
    /// - Parameters:
    ///   - workbookCounties: counties given a new or changed row. Only their workbooks and those
    ///     of counties whose counts changed (a row that moved away) are bumped: a file that
    ///     rewrote one school's rows of a few counties leaves the other counties' workbooks
    ///     alone. `nil` bumps every county the pairs have rows for.
    ///   - fresh: counts already known for pairs that had no rows before and got only new rows
    ///     (the caller counted them while storing): stored as they are, without reading the rows back.
    public static func refreshCounts(_ db: Database, pairs: Set<[String]>, version: Int64, workbookCounties: Set<String>? = nil,
                                     fresh: [[String]: [RosterCountKey: Int]] = [:]) throws {
        func snapshot(_ pair: [String]) throws -> [String: Set<String>] {
            var result: [String: Set<String>] = [:]
            for row in try Row.fetchAll(db, sql: """
                SELECT county_code, roster_kind || '|' || review_state || '|' || n FROM roster_counts
                WHERE school_code = ? AND upload_date = ?
                """,
                                        arguments: [pair[0], pair[1]]) {
                result[row[0], default: []].insert(row[1])
            }
            return result
        }
        let insertCount = try db.makeStatement(sql: """
            INSERT INTO roster_counts(school_code, upload_date, county_code, roster_kind, review_state, n, oldest_pending)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """)
        for pair in pairs {
            // The counties whose decision workbook of this upload date changed.
            var workbooks: Set<String>
            if let counts = fresh[pair] {
                // No rows before: every county with a row now is a change.
                workbooks = workbookCounties ?? []
                for (key, n) in counts {
                    try insertCount.execute(arguments: [pair[0], pair[1], key.county, key.kind, key.state, n,
                                                        key.state == ReviewState.pending.rawValue ? pair[1] : nil])
                    workbooks.insert(key.county)
                }
            } else {
                let before = workbookCounties == nil ? [:] : try snapshot(pair)
                try db.execute(sql: "DELETE FROM roster_counts WHERE school_code = ? AND upload_date = ?", arguments: [pair[0], pair[1]])
                try db.execute(sql: """
                    INSERT INTO roster_counts(school_code, upload_date, county_code, roster_kind, review_state, n, oldest_pending)
                    SELECT school_code, upload_date, COALESCE(county_code, ''), roster_kind, review_state, COUNT(*),
                           CASE WHEN review_state = '待審核' THEN MIN(upload_date) END
                    FROM roster_row WHERE school_code = ? AND upload_date = ?
                    GROUP BY COALESCE(county_code, ''), roster_kind, review_state
                    """, arguments: [pair[0], pair[1]])
                workbooks = Set(try String.fetchAll(db, sql: """
                    SELECT DISTINCT county_code FROM roster_counts WHERE school_code = ? AND upload_date = ?
                    """,
                                                    arguments: [pair[0], pair[1]]))
                if let only = workbookCounties {
                    let after = try snapshot(pair)
                    workbooks = only.union(Set(before.keys).union(after.keys).filter { before[$0] != after[$0] })
                }
            }
            for c in workbooks where !c.isEmpty {
                try bumpVersion(db, workbookKey(county: c, uploadDate: pair[1]), version)
            }
            try bumpVersion(db, "school:" + pair[0], version)
            try bumpVersion(db, rosterKey(school: pair[0], uploadDate: pair[1]), version)
        }
    }

    /// What `roster_counts` counts rows under: county code ('' for none), roster and review state.
    public struct RosterCountKey: Hashable, Sendable {
        public var county: String
        public var kind: String
        public var state: String
        public init(county: String, kind: String, state: String) {
            self.county = county
            self.kind = kind
            self.state = state
        }
    }

    /// The group key of a county's decision workbook for one upload date (ISO).
    public static func workbookKey(county: String, uploadDate: String) -> String { "workbook:\(county):\(uploadDate)" }

    /// The group key of one school's roster of an upload date (ISO): its details and search piece.
    public static func rosterKey(school: String, uploadDate: String) -> String { "roster:\(school):\(uploadDate)" }

    /// The generation a county's decision workbook of an upload date is written at: the last
    /// file that changed its rows or their decisions (its group version, or where none is
    /// recorded the newest file among its rows and their decisions), so the same rows give the
    /// same workbook in any build.
    public static func workbookGeneration(_ db: Database, county: String, uploadDate: String) throws -> Int64 {
        if let v = try Int64.fetchOne(db, sql: "SELECT version FROM group_version WHERE group_key = ?",
                                      arguments: [workbookKey(county: county, uploadDate: uploadDate)]), v > 0 { return v }
        return try Int64.fetchOne(db, sql: """
            SELECT MAX(COALESCE((SELECT MAX(file_id) FROM roster_row WHERE county_code = ?1 AND upload_date = ?2), 0),
                       COALESCE((SELECT MAX(h.file_id) FROM decision_history h JOIN roster_row r ON r.id = h.roster_row_id
                                 WHERE r.county_code = ?1 AND r.upload_date = ?2), 0))
            """, arguments: [county, uploadDate]) ?? 0
    }

    /// Marks a group of pages as changed at `version`.
    public static func bumpVersion(_ db: Database, _ key: String, _ version: Int64) throws {
        try db.execute(sql: """
            INSERT INTO group_version(group_key, version) VALUES (?, ?)
            ON CONFLICT(group_key) DO UPDATE SET version = MAX(version, excluded.version)
            """,
                       arguments: [key, version])
    }

    /// When an input file was received (stored in UTC), as a date; `nil` for an unknown file.
    public static func receivedAt(_ db: Database, file id: Int64) throws -> Date? {
        let sql = "SELECT received_at FROM input_file WHERE id = ?"
        return try String.fetchOne(db, sql: sql, arguments: [id]).flatMap(DeskTime.moment(fromUTC:))
    }

    /// Versions of every group.
    public static func groupVersions(_ db: Database) throws -> [String: Int64] {
        Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT group_key, version FROM group_version")
            .map { ($0[0] as String, $0[1] as Int64) })
    }

    /// What each group was last rendered from.
    public static func siteState(_ db: Database) throws -> [String: (Int64, String)] {
        Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT group_key, version, fingerprint FROM site_state").map {
            ($0[0] as String, ($0[1] as Int64, $0[2] as String))
        })
    }

    /// Records what a group was rendered from.
    public static func recordSiteState(_ db: Database, _ key: String, version: Int64, fingerprint: String) throws {
        try db.execute(sql: """
            INSERT INTO site_state(group_key, version, fingerprint) VALUES (?, ?, ?)
            ON CONFLICT(group_key) DO UPDATE SET version = excluded.version, fingerprint = excluded.fingerprint
            """,
                       arguments: [key, version, fingerprint])
    }
}
