import Foundation
import GRDB

/// A query account (查詢帳號) of a school or a county.
public struct AccountRecord: Sendable, Equatable {
    public enum Kind: String, Sendable { case school, county }
    public var code: String
    public var kind: Kind
    public var contactName: String
    public var contactEmail: String
    public var notify: Bool
    /// The 32-byte data key (as stored: sealed under the desk's host key; as the desk hands it
    /// out: in clear). Never leaves `state/`.
    public var dataKey: Data
    /// The password-wrapped data key, as JSON (published as the account's `key.json`).
    public var wrappedKey: String
    public var passwordSetAt: String

    public init(code: String, kind: Kind, contactName: String, contactEmail: String, notify: Bool, dataKey: Data, wrappedKey: String,
                passwordSetAt: String) {
        self.code = code
        self.kind = kind
        self.contactName = contactName
        self.contactEmail = contactEmail
        self.notify = notify
        self.dataKey = dataKey
        self.wrappedKey = wrappedKey
        self.passwordSetAt = passwordSetAt
    }
}

extension DeskStore {
    /// Every account, by code.
    public static func accounts(_ db: Database) throws -> [AccountRecord] {
        try Row.fetchAll(db, sql: """
            SELECT code, kind, contact_name, contact_email, notify, data_key, wrapped_key, password_set_at
            FROM account ORDER BY kind DESC, code
            """).map {
            AccountRecord(code: $0[0], kind: AccountRecord.Kind(rawValue: $0[1]) ?? .school, contactName: $0[2], contactEmail: $0[3],
                          notify: $0[4], dataKey: $0[5], wrappedKey: $0[6], passwordSetAt: $0[7])
        }
    }

    /// Adds an account.
    public static func insertAccount(_ db: Database, _ a: AccountRecord) throws {
        try db.execute(sql: """
            INSERT INTO account(code, kind, contact_name, contact_email, notify, data_key, wrapped_key, password_set_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [a.code, a.kind.rawValue, a.contactName, a.contactEmail, a.notify, a.dataKey, a.wrappedKey, a.passwordSetAt])
    }

    /// Replaces an account's wrapped key (a new password); the data key stays.
    public static func setWrappedKey(_ db: Database, code: String, wrappedKey: String) throws {
        try db.execute(sql: "UPDATE account SET wrapped_key = ?, password_set_at = datetime('now') WHERE code = ?",
                       arguments: [wrappedKey, code])
    }

    /// Replaces an account's stored data key (sealing it under the host key).
    public static func setDataKey(_ db: Database, code: String, dataKey: Data) throws {
        try db.execute(sql: "UPDATE account SET data_key = ? WHERE code = ?", arguments: [dataKey, code])
    }

    /// Updates an account's contact details; `nil` leaves a field as it is.
    /// Sets the contact's phone (帳號維護).
    public static func setPhone(_ db: Database, code: String, phone: String) throws {
        try db.execute(sql: "UPDATE account SET contact_phone = ? WHERE code = ?", arguments: [phone, code])
    }

    /// Each account's contact person, phone and e-mail as clerks keep them (empty when unset).
    public static func contacts(_ db: Database) throws -> [String: (name: String, phone: String, email: String)] {
        var result: [String: (String, String, String)] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT code, contact_name, contact_phone, contact_email FROM account") {
            result[row[0]] = (row[1], row[2], row[3])
        }
        return result
    }

    static func migrateContactPhone(_ db: Database) throws {
        try db.execute(sql: "ALTER TABLE account ADD COLUMN contact_phone TEXT NOT NULL DEFAULT ''")
    }

    public static func setContact(_ db: Database, code: String, name: String?, email: String?, notify: Bool?) throws {
        if let name { try db.execute(sql: "UPDATE account SET contact_name = ? WHERE code = ?", arguments: [name, code]) }
        if let email { try db.execute(sql: "UPDATE account SET contact_email = ? WHERE code = ?", arguments: [email, code]) }
        if let notify { try db.execute(sql: "UPDATE account SET notify = ? WHERE code = ?", arguments: [notify, code]) }
    }
}
