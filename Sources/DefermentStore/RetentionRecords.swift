import GRDB

/// What the purge (個人資料保存期限屆滿刪除) reads and changes in the database. The counts pages
/// show (`roster_counts`) are kept; rows, the people in them and the comments on their decisions
/// go; `purged_month` says which upload dates were purged, when, and of how many rows.
extension DeskStore {
    static func migrateRetention(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE purged_month(upload_date TEXT PRIMARY KEY, purged_at TEXT NOT NULL, rows INTEGER NOT NULL) WITHOUT ROWID;
            """)
    }

    /// Stored roster rows per upload date, with the date each was purged on for purged dates
    /// (`rows` then the number purged).
    public static func uploadDateInventory(_ db: Database) throws -> [(date: String, rows: Int, purgedAt: String?)] {
        var result: [String: (Int, String?)] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT upload_date, COUNT(*) FROM roster_row GROUP BY upload_date") {
            result[row[0]] = (row[1], nil)
        }
        for row in try Row.fetchAll(db, sql: "SELECT upload_date, rows, purged_at FROM purged_month") {
            let date: String = row[0]
            result[date] = ((result[date]?.0 ?? 0) + (row[1] as Int), row[2])
        }
        return result.keys.sorted().map { (date: $0, rows: result[$0]!.0, purgedAt: result[$0]!.1) }
    }

    /// The upload dates purged so far, with their number of rows.
    public static func purgedMonths(_ db: Database) throws -> [String: Int] {
        var result: [String: Int] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT upload_date, rows FROM purged_month") { result[row[0]] = row[1] }
        return result
    }

    /// Deletes the rows of an upload date and records it as purged. Their decision history keeps
    /// its dates, outcome and sign-off, without the comment (which may name the student).
    @discardableResult
    public static func purgeUploadDate(_ db: Database, _ date: String) throws -> Int {
        let rows = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM roster_row WHERE upload_date = ?", arguments: [date]) ?? 0
        try db.execute(sql: """
            UPDATE decision_history SET comment = '' WHERE roster_row_id IN (SELECT id FROM roster_row WHERE upload_date = ?)
            """, arguments: [date])
        try db.execute(sql: "DELETE FROM roster_row WHERE upload_date = ?", arguments: [date])
        try db.execute(sql: """
            INSERT INTO purged_month(upload_date, purged_at, rows) VALUES (?, date('now'), ?)
            ON CONFLICT(upload_date) DO UPDATE SET rows = rows + excluded.rows
            """, arguments: [date, rows])
        return rows
    }

    /// Deferment records that ended, with their end date.
    public static func endedRecords(_ db: Database) throws -> [(id: Int64, end: String)] {
        try Row.fetchAll(db,
            sql: "SELECT id, end_date FROM deferment_record WHERE end_date IS NOT NULL AND end_date <> ''").map { ($0[0], $0[1]) }
    }

    public static func deleteRecords(_ db: Database, ids: [Int64]) throws {
        for chunk in stride(from: 0, to: ids.count, by: 500) {
            let part = ids[chunk..<min(chunk + 500, ids.count)]
            try db.execute(sql: "DELETE FROM deferment_record WHERE id IN (\(part.map { _ in "?" }.joined(separator: ",")))",
                           arguments: StatementArguments(Array(part)))
        }
    }

    /// Registry people (役政資料) whose extract is `fileIDs` (files past their retention) and
    /// whom no stored roster row or deferment record names any more: their purpose has ended.
    /// (`ignoringUploadDates`: rows of those dates count as gone already.)
    public static func peopleNoLongerNeeded(_ db: Database, fileIDs: [Int64], ignoringUploadDates: [String] = []) throws -> Int {
        guard !fileIDs.isEmpty else { return 0 }
        let ignored = ignoringUploadDates.filter { $0.allSatisfy { $0.isNumber || $0 == "-" } }.map { "'\($0)'" }.joined(separator: ",")
        return try Int.fetchOne(db, sql: """
            SELECT COUNT(*) FROM person p WHERE p.file_id IN (\(fileIDs.map(String.init).joined(separator: ",")))
              AND NOT EXISTS (SELECT 1 FROM roster_row r WHERE r.national_id = p.national_id AND r.upload_date NOT IN (\(ignored)))
              AND NOT EXISTS (SELECT 1 FROM deferment_record d WHERE d.national_id = p.national_id)
            """) ?? 0
    }

    public static func deletePeopleNoLongerNeeded(_ db: Database, fileIDs: [Int64]) throws {
        guard !fileIDs.isEmpty else { return }
        try db.execute(sql: """
            DELETE FROM person WHERE file_id IN (\(fileIDs.map(String.init).joined(separator: ",")))
              AND NOT EXISTS (SELECT 1 FROM roster_row r WHERE r.national_id = person.national_id)
              AND NOT EXISTS (SELECT 1 FROM deferment_record d WHERE d.national_id = person.national_id)
            """)
    }

    /// The ledger's files with what decides their retention.
    public static func ledgerFiles(_ db: Database) throws -> [(id: Int64, kind: String, archivedPath: String, receivedAt: String,
        uploadDate: String?)] {
        try Row.fetchAll(db, sql: "SELECT id, kind, archived_path, received_at, upload_date FROM input_file").map { ($0[0], $0[1],
            $0[2], $0[3], $0[4]) }
    }

    /// Forgets where a file's raw copy was (it is being removed).
    public static func forgetArchivedCopy(_ db: Database, fileID: Int64) throws {
        try db.execute(sql: "UPDATE input_file SET archived_path = '' WHERE id = ?", arguments: [fileID])
    }
}
