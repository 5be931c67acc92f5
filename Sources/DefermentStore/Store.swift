import Foundation
import GRDB
import CSQLiteTuning
import DefermentCore

/// The desk's SQLite database (狀態資料庫): reference data, the registry, every roster row and
/// the ledger of processed files. One file under `state/`, with a rollback journal
/// (`journal_mode = TRUNCATE`) and ``pageSize``-byte pages.
public final class DeskStore: @unchecked Sendable {
    /// The connection queue; every write goes through it.
    public let queue: DatabaseQueue

    /// Opens (creating and migrating as needed) the database at `path`.
    /// Pass `nil` for a private in-memory database (dry runs and tests).
    public init(path: String?) throws {
        _ = Self.sqliteSettings
        var config = Configuration()
        // Rows reference the ledger entry created in the same transaction; checking that
        // reference for every one of a million rows costs more than it protects.
        config.foreignKeysEnabled = false
        // A reader waits while a long file is being written (rollback journal).
        config.busyMode = .timeout(60)
        config.prepareDatabase { db in
            // Before anything else: a new database takes its page size from its first write
            // (an existing one keeps the size it was made with until a VACUUM).
            try db.execute(sql: "PRAGMA page_size = \(DeskStore.pageSize)")
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA cache_size = -\(DeskStore.cacheKiB)")
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
            try db.execute(sql: "PRAGMA mmap_size = 268435456")
        }
        if let path {
            queue = try DatabaseQueue(path: path, configuration: config)
            try queue.writeWithoutTransaction { db in
                _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = TRUNCATE")
            }
        } else {
            queue = try DatabaseQueue(configuration: config)
        }
        try Self.migrator.migrate(queue)
    }

    /// The page cache of every connection, in KiB (64 MB).
    public static let cacheKiB = 65_536
    /// The page size of a new database, in bytes (SQLite's default is 4,096): a million-row
    /// roster and its registry are written in a quarter of the write calls and B-tree page
    /// splits (measured in `bench/README.md`).
    public static let pageSize = 16_384
    /// The page cache while a registry extract is stored, in KiB (256 MB).
    public static let bulkCacheKiB = 262_144

    /// Applied once, before the process's first connection: see `CSQLiteTuning`.
    private static let sqliteSettings: Int32 = deferment_sqlite_single_connection_threads()

    init(existingQueue: DatabaseQueue) throws {
        queue = existingQueue
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
            CREATE TABLE county(
              code TEXT PRIMARY KEY, name TEXT NOT NULL, office TEXT NOT NULL, phone TEXT NOT NULL,
              address TEXT NOT NULL, email TEXT NOT NULL, is_example INTEGER NOT NULL);
            CREATE TABLE school(
              code TEXT PRIMARY KEY, name TEXT NOT NULL, county_code TEXT, email TEXT,
              source TEXT NOT NULL);  -- 'seed' or 'roster' (added from a roster file)
            CREATE TABLE person(
              national_id TEXT PRIMARY KEY, birth_date TEXT NOT NULL, name TEXT NOT NULL,
              county_code TEXT NOT NULL, education TEXT NOT NULL, service_status TEXT NOT NULL,
              deferment_start TEXT, deferment_end TEXT, file_id INTEGER) WITHOUT ROWID;
            CREATE TABLE input_file(
              id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL UNIQUE, kind TEXT NOT NULL,
              original_name TEXT NOT NULL, archived_path TEXT NOT NULL, received_at TEXT NOT NULL,
              upload_date TEXT, upload_date_source TEXT, format TEXT, row_count INTEGER NOT NULL,
              summary TEXT NOT NULL);
            CREATE TABLE roster_row(
              id INTEGER PRIMARY KEY, file_id INTEGER NOT NULL REFERENCES input_file(id),
              source_row INTEGER NOT NULL, upload_date TEXT NOT NULL, school_code TEXT NOT NULL,
              roster_kind TEXT NOT NULL, row_key TEXT NOT NULL, national_id TEXT NOT NULL,
              name TEXT NOT NULL, birth_date TEXT NOT NULL, program TEXT NOT NULL, grade TEXT NOT NULL,
              enrolment_status TEXT NOT NULL, start_date TEXT NOT NULL, end_date TEXT NOT NULL,
              experimental INTEGER NOT NULL, county_code TEXT, review_state TEXT NOT NULL,
              reason TEXT, checks TEXT NOT NULL, comment TEXT NOT NULL DEFAULT '',
              row_hash TEXT NOT NULL);
            CREATE UNIQUE INDEX roster_row_key ON roster_row(school_code, upload_date, roster_kind, row_key);
            CREATE INDEX roster_row_county ON roster_row(county_code, upload_date);
            CREATE TABLE deferment_record(
              id INTEGER PRIMARY KEY, national_id TEXT NOT NULL, school_code TEXT,
              start_date TEXT NOT NULL, end_date TEXT, source TEXT NOT NULL);
            CREATE INDEX deferment_record_id ON deferment_record(national_id);
            CREATE TABLE seed_state(name TEXT PRIMARY KEY, sha256 TEXT NOT NULL, loaded_at TEXT NOT NULL);
            """)
        }
        m.registerMigration("v2-site") { db in
            try db.execute(sql: """
            -- Row counts per school, upload date, county, roster and state: the aggregates pages need,
            -- kept up to date by intake for the (school, upload date) pairs a file touched.
            CREATE TABLE roster_counts(
              school_code TEXT NOT NULL, upload_date TEXT NOT NULL, county_code TEXT NOT NULL,
              roster_kind TEXT NOT NULL, review_state TEXT NOT NULL, n INTEGER NOT NULL,
              oldest_pending TEXT,
              PRIMARY KEY(school_code, upload_date, county_code, roster_kind, review_state)) WITHOUT ROWID;
            CREATE INDEX roster_counts_county ON roster_counts(county_code, upload_date);
            -- The version (ledger id of the last file) of each group of pages' inputs.
            CREATE TABLE group_version(group_key TEXT PRIMARY KEY, version INTEGER NOT NULL) WITHOUT ROWID;
            -- What the site was last rendered from, per group.
            CREATE TABLE site_state(group_key TEXT PRIMARY KEY, version INTEGER NOT NULL, fingerprint TEXT NOT NULL) WITHOUT ROWID;
            """)
        }
        m.registerMigration("v3-accounts") { db in
            try db.execute(sql: """
            -- One query account per school and per county (帳號). The data key encrypts the account's
            -- pages; only its password-wrapped form (wrapped_key, JSON) is ever published.
            CREATE TABLE account(
              code TEXT PRIMARY KEY, kind TEXT NOT NULL, contact_name TEXT NOT NULL DEFAULT '',
              contact_email TEXT NOT NULL DEFAULT '', notify INTEGER NOT NULL DEFAULT 1,
              data_key BLOB NOT NULL, wrapped_key TEXT NOT NULL, password_set_at TEXT NOT NULL) WITHOUT ROWID;
            """)
        }
        m.registerMigration("v4-decisions", migrate: migrateDecisions)
        m.registerMigration("v5-mail", migrate: migrateMail)
        m.registerMigration("v6-person-rowid", migrate: migratePersonToRowidTable)
        // A county's public page names a returned file by its arrival and digest, never its name.
        m.registerMigration("v7-notice-digest") { db in
            try db.execute(sql: "ALTER TABLE county_notice ADD COLUMN file_digest TEXT")
        }
        m.registerMigration("v8-retention", migrate: migrateRetention)
        m.registerMigration("v9-mail-returns", migrate: migrateMailReturns)
        m.registerMigration("v10-contact-phone", migrate: migrateContactPhone)
        return m
    }
}

extension DeskStore {
    /// Stores registry records (役政資料) in a table with row ids and a unique index on the
    /// national ID, instead of a table keyed by the national ID (`WITHOUT ROWID`, as `v1` made
    /// it). An extract's people then go to the end of the table in the order they arrive, and
    /// only the index's small entries (ID and row id) are placed by ID (faster; see
    /// `bench/README.md`). Look-ups by ID read the index, then the row.
    static func migratePersonToRowidTable(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE person_by_rowid(
              national_id TEXT NOT NULL, birth_date TEXT NOT NULL, name TEXT NOT NULL,
              county_code TEXT NOT NULL, education TEXT NOT NULL, service_status TEXT NOT NULL,
              deferment_start TEXT, deferment_end TEXT, file_id INTEGER);
            INSERT INTO person_by_rowid SELECT national_id, birth_date, name, county_code, education, service_status,
              deferment_start, deferment_end, file_id FROM person ORDER BY national_id;
            DROP TABLE person;
            ALTER TABLE person_by_rowid RENAME TO person;
            CREATE UNIQUE INDEX person_national_id ON person(national_id);
            """)
    }
}

/// A processed input file in the ledger (處理紀錄).
public struct LedgerEntry: Sendable, Equatable {
    public var id: Int64
    public var sha256: String
    public var kind: String
    public var originalName: String
    public var archivedPath: String
    public var receivedAt: String
    public var summary: String
}

extension DeskStore {
    /// The ledger entry of a file with these bytes, if it was applied before.
    public func ledgerEntry(sha256: String) throws -> LedgerEntry? {
        try queue.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM input_file WHERE sha256 = ?", arguments: [sha256]).map {
                LedgerEntry(id: $0["id"], sha256: $0["sha256"], kind: $0["kind"], originalName: $0["original_name"],
                            archivedPath: $0["archived_path"], receivedAt: $0["received_at"], summary: $0["summary"])
            }
        }
    }

    /// The hash recorded for a seed file when it was last loaded.
    public func seedHash(_ name: String) throws -> String? {
        try queue.read { db in try String.fetchOne(db, sql: "SELECT sha256 FROM seed_state WHERE name = ?", arguments: [name]) }
    }

    /// Records that a seed file with this hash was loaded.
    public static func recordSeed(_ db: Database, name: String, sha256: String) throws {
        try db.execute(sql: """
            INSERT INTO seed_state(name, sha256, loaded_at) VALUES (?, ?, datetime('now'))
            ON CONFLICT(name) DO UPDATE SET sha256 = excluded.sha256, loaded_at = excluded.loaded_at
            """,
                       arguments: [name, sha256])
    }

    /// Replaces the county list.
    public static func saveCounties(_ db: Database, _ counties: [County]) throws {
        let stmt = try db.makeStatement(sql: """
            INSERT INTO county(code, name, office, phone, address, email, is_example) VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT(code) DO UPDATE SET name = excluded.name, office = excluded.office, phone = excluded.phone,
              address = excluded.address, email = excluded.email, is_example = excluded.is_example
            """)
        for c in counties {
            try stmt.execute(arguments: [c.code, c.name, c.office, c.phone, c.address, c.email, c.isExample])
        }
    }

    /// Inserts or updates a school from the seed file.
    public static func saveSeedSchool(_ db: Database, code: String, name: String, countyCode: String, email: String) throws {
        try db.execute(sql: """
            INSERT INTO school(code, name, county_code, email, source) VALUES (?, ?, ?, ?, 'seed')
            ON CONFLICT(code) DO UPDATE SET name = excluded.name, county_code = excluded.county_code,
              email = excluded.email, source = 'seed'
            """, arguments: [code, name, countyCode, email])
    }

    /// Adds a school first seen in a roster (name from the file).
    public static func addRosterSchool(_ db: Database, code: String, name: String) throws {
        let code = try PathGate.component(code, as: .schoolCode)
        try db.execute(sql: """
            INSERT INTO school(code, name, county_code, email, source) VALUES (?, ?, NULL, NULL, 'roster') ON CONFLICT(code) DO NOTHING
            """,
                       arguments: [code, name.isEmpty ? "（學校代碼 \(code)）" : name])
    }

    /// Codes of every known school.
    public static func schoolCodes(_ db: Database) throws -> Set<String> {
        Set(try String.fetchAll(db, sql: "SELECT code FROM school"))
    }

    /// Adds a processed file to the ledger and returns its id.
    public static func addLedgerEntry(_ db: Database, sha256: String, kind: String, originalName: String,
                                      archivedPath: String, uploadDate: String?, uploadDateSource: String?,
                                      format: String) throws -> Int64 {
        try db.execute(sql: """
            INSERT INTO input_file(sha256, kind, original_name, archived_path, received_at, upload_date, upload_date_source, format,
                                   row_count, summary)
            VALUES (?, ?, ?, ?, datetime('now'), ?, ?, ?, 0, '')
            """, arguments: [sha256, kind, originalName, archivedPath, uploadDate, uploadDateSource, format])
        return db.lastInsertedRowID
    }

    /// Completes a ledger entry with what reading the file found: row count, summary, format and,
    /// for a roster, its upload date and where that date came from.
    public static func finishLedgerEntry(_ db: Database, id: Int64, rowCount: Int, summary: String, format: String,
                                         uploadDate: String? = nil, uploadDateSource: String? = nil) throws {
        try db.execute(sql: """
            UPDATE input_file SET row_count = ?, summary = ?, format = ?, upload_date = ?, upload_date_source = ? WHERE id = ?
            """, arguments: [rowCount, summary, format, uploadDate, uploadDateSource, id])
    }
}

extension DeskStore {
    /// Opens an existing database for reading only (dry runs and reports).
    public convenience init(readOnlyPath path: String) throws {
        _ = Self.sqliteSettings
        try self.init(existingQueue: {
            var config = Configuration()
            config.readonly = true
            config.busyMode = .timeout(60)
            return try DatabaseQueue(path: path, configuration: config)
        }())
    }
}
