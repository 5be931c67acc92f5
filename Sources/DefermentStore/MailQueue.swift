import Foundation
import GRDB

extension DeskStore {
    /// The notification queue: a message is recorded in the same transaction as the change that
    /// causes it (so a crash never loses one), then written once into the mail spool.
    static func migrateMail(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE mail_queue(
              id INTEGER PRIMARY KEY,
              dedupe_key TEXT NOT NULL UNIQUE,   -- e.g. county-roster:63000:2026-10-15: one message per key, ever
              kind TEXT NOT NULL,                -- the template under templates/mail/
              account TEXT NOT NULL, recipient TEXT NOT NULL,
              context TEXT NOT NULL,             -- JSON: counts and links only, never personal data
              created_at TEXT NOT NULL, spooled_at TEXT);
            CREATE INDEX mail_queue_unspooled ON mail_queue(id) WHERE spooled_at IS NULL;
            """)
    }
}

/// A notification waiting to be written into the spool (通知信).
public struct QueuedMail: Sendable {
    public var id: Int64
    public var kind: String
    public var account: String
    public var recipient: String
    /// JSON object with the template's values.
    public var context: String
    public var createdAt: String
}

extension DeskStore {
    /// Where notifications for an account go: `nil` when it opted out or has no address.
    /// The account's contact e-mail wins over the seed's; an account not created yet notifies.
    public static func notificationAddress(_ db: Database, account: String, fallback: String?) throws -> String? {
        if let row = try Row.fetchOne(db, sql: "SELECT notify, contact_email FROM account WHERE code = ?", arguments: [account]) {
            guard (row[0] as Bool) else { return nil }
            let email: String = row[1]
            if !email.isEmpty { return email }
        }
        guard let fallback, fallback.contains("@") else { return nil }
        return fallback
    }

    /// Queues a message unless one with the same key was ever queued. Returns whether it was new.
    @discardableResult
    public static func queueMail(_ db: Database, key: String, kind: String, account: String, recipient: String,
                                 context: [String: Any]) throws -> Bool {
        let json = String(decoding: try JSONSerialization.data(withJSONObject: context, options: [.sortedKeys]), as: UTF8.self)
        try db.execute(sql: """
            INSERT INTO mail_queue(dedupe_key, kind, account, recipient, context, created_at)
            VALUES (?, ?, ?, ?, ?, datetime('now', 'localtime')) ON CONFLICT(dedupe_key) DO NOTHING
            """, arguments: [key, kind, account, recipient, json])
        return db.changesCount > 0
    }

    /// Messages not yet written into the spool, oldest first.
    public static func unspooledMail(_ db: Database) throws -> [QueuedMail] {
        try Row.fetchAll(db, sql: """
            SELECT id, kind, account, recipient, context, created_at FROM mail_queue WHERE spooled_at IS NULL ORDER BY id
            """).map {
            QueuedMail(id: $0[0], kind: $0[1], account: $0[2], recipient: $0[3], context: $0[4], createdAt: $0[5])
        }
    }

    /// Marks a message as written into the spool.
    public static func markSpooled(_ db: Database, id: Int64) throws {
        try db.execute(sql: "UPDATE mail_queue SET spooled_at = datetime('now', 'localtime') WHERE id = ?", arguments: [id])
    }
}
