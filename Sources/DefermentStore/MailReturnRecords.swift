import GRDB

/// Workbooks returned by e-mail (以電子郵件回傳審核名冊): each message taken once, each of its
/// attachments with the sender to send the receipt (收件回條) to.
extension DeskStore {
    static func migrateMailReturns(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE mail_message(message_key TEXT PRIMARY KEY, received_at TEXT NOT NULL) WITHOUT ROWID;
            CREATE TABLE mail_return(
              id INTEGER PRIMARY KEY, message_key TEXT NOT NULL, sender TEXT NOT NULL, county_code TEXT,
              file_name TEXT NOT NULL, file_digest TEXT,
              refusal TEXT,                      -- why it was refused before reaching the runner
              received_at TEXT NOT NULL, receipt_queued INTEGER NOT NULL DEFAULT 0);
            CREATE INDEX mail_return_waiting ON mail_return(id) WHERE receipt_queued = 0;
            """)
    }

    /// Whether a message (by its Message-ID, or its digest) was taken before.
    public static func mailMessageSeen(_ db: Database, key: String) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM mail_message WHERE message_key = ?)", arguments: [key]) ?? false
    }

    public static func recordMailMessage(_ db: Database, key: String) throws {
        try db.execute(sql: """
            INSERT INTO mail_message(message_key, received_at) VALUES (?, datetime('now', 'localtime')) ON CONFLICT DO NOTHING
            """,
                       arguments: [key])
    }

    public static func addMailReturn(_ db: Database, messageKey: String, sender: String, county: String?, fileName: String,
                                     fileDigest: String?, refusal: String?) throws {
        try db.execute(sql: """
            INSERT INTO mail_return(message_key, sender, county_code, file_name, file_digest, refusal, received_at)
            VALUES (?, ?, ?, ?, ?, ?, datetime('now', 'localtime'))
            """, arguments: [messageKey, sender, county, fileName, fileDigest, refusal])
    }

    /// A returned attachment waiting for its receipt.
    public struct WaitingReturn: Sendable {
        public var id: Int64
        public var sender: String
        public var county: String?
        public var fileName: String
        public var fileDigest: String?
        public var refusal: String?
        public var receivedAt: String
    }

    public static func returnsAwaitingReceipt(_ db: Database) throws -> [WaitingReturn] {
        try Row.fetchAll(db, sql: """
            SELECT id, sender, county_code, file_name, file_digest, refusal,
                received_at FROM mail_return WHERE receipt_queued = 0 ORDER BY id
            """).map {
                WaitingReturn(id: $0[0], sender: $0[1], county: $0[2], fileName: $0[3], fileDigest: $0[4], refusal: $0[5],
                              receivedAt: $0[6])
            }
    }

    public static func markReceiptQueued(_ db: Database, id: Int64) throws {
        try db.execute(sql: "UPDATE mail_return SET receipt_queued = 1 WHERE id = ?", arguments: [id])
    }

    /// The newest notice about a file (by digest): accepted, summary and problems.
    public static func notice(_ db: Database, fileDigest: String) throws -> (accepted: Bool, summary: String, problems: [String])? {
        try Row.fetchOne(db, sql: "SELECT accepted, summary, problems FROM county_notice WHERE file_digest = ? ORDER BY id DESC LIMIT 1",
                         arguments: [fileDigest]).map { row in
            let problems: String = row[2]
            return (row[0], row[1], problems.isEmpty ? [] : problems.split(separator: "\n").map(String.init))
        }
    }

    /// Whether the ledger holds a file of this digest (it was applied or refused as a whole).
    public static func ledgerHasFile(_ db: Database, sha256: String) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS(SELECT 1 FROM input_file WHERE sha256 = ?)", arguments: [sha256]) ?? false
    }

    /// The addresses a county's returns are accepted from: its account's contact, the seed's.
    public static func countyAddresses(_ db: Database, county: String) throws -> Set<String> {
        var found: Set<String> = []
        for sql in ["SELECT contact_email FROM account WHERE code = ?", "SELECT email FROM county WHERE code = ?"] {
            if let address = try String.fetchOne(db, sql: sql, arguments: [county]) { found.insert(address.lowercased()) }
        }
        found.remove("")
        return found
    }
}
