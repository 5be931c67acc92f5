import Foundation
import GRDB
import GRDBSQLite

/// SQLite's "copy the bytes" destructor.
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// The hot-path view of a GRDB statement: binds and steps through the C API directly, without
/// building `StatementArguments` for every row, and reads columns without GRDB's generic
/// decoding. Used for the per-row statements of intake and the site's large reads.
struct RawStatement {
    let statement: Statement
    private let handle: OpaquePointer
    private let connection: OpaquePointer

    init(_ db: Database, sql: String, arguments: [String] = []) throws {
        statement = try db.makeStatement(sql: sql)
        handle = statement.sqliteStatement
        connection = db.sqliteConnection!
        for (i, a) in arguments.enumerated() { bind(Int32(i + 1), a) }
    }

    func bind(_ index: Int32, _ value: String?) {
        guard let value else { sqlite3_bind_null(handle, index); return }
        var v = value
        v.withUTF8 { buf in
            _ = sqlite3_bind_text(handle, index, UnsafeRawPointer(buf.baseAddress!).assumingMemoryBound(to: CChar.self), Int32(buf.count),
                                  transient)
        }
    }

    func bind(_ index: Int32, _ value: Int64?) {
        guard let value else { sqlite3_bind_null(handle, index); return }
        sqlite3_bind_int64(handle, index, value)
    }

    /// Binds the texts gathered in `texts` without copying them and runs the statement; the
    /// buffer is emptied for the next row. Saves the two copies and allocation per value that
    /// binding each `String` on its own costs.
    func execute(texts: inout TextBindings) throws {
        defer { texts.reset() }
        try texts.bytes.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
            for slot in texts.slots {
                if slot.count < 0 { sqlite3_bind_null(handle, slot.index) }
                else { sqlite3_bind_text(handle, slot.index, base + slot.offset, Int32(slot.count), nil) }
            }
            for (index, value) in texts.integers { sqlite3_bind_int64(handle, index, value) }
            try execute()
        }
    }

    private func error(_ rc: Int32) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(connection)), sql: statement.sql)
    }

    /// The connection's count of rows changed since it opened (`sqlite3_total_changes64`), read
    /// straight from SQLite: GRDB's own accessor checks which queue it runs on at each call, a
    /// cost a per-row writer pays a million times.
    var totalChanges: Int64 { sqlite3_total_changes64(connection) }

    /// Rows changed by the connection's last statement (`sqlite3_changes64`).
    var changes: Int64 { sqlite3_changes64(connection) }

    /// The row id of the connection's last insert (`sqlite3_last_insert_rowid`), read the same way.
    var lastInsertedRowID: Int64 { sqlite3_last_insert_rowid(connection) }

    /// Runs a statement that returns no rows.
    func execute() throws {
        let rc = sqlite3_step(handle)
        sqlite3_reset(handle)
        guard rc == SQLITE_DONE else { throw error(rc) }
    }

    /// Steps once; calls `read` with a column reader when a row came back.
    func fetchOne<T>(_ read: (ColumnReader) throws -> T) throws -> T? {
        defer { sqlite3_reset(handle) }
        let rc = sqlite3_step(handle)
        if rc == SQLITE_DONE { return nil }
        guard rc == SQLITE_ROW else { throw error(rc) }
        return try read(ColumnReader(handle: handle))
    }

    /// Steps through every row.
    func forEach(_ read: (ColumnReader) throws -> Void) throws {
        defer { sqlite3_reset(handle) }
        while true {
            let rc = sqlite3_step(handle)
            if rc == SQLITE_DONE { return }
            guard rc == SQLITE_ROW else { throw error(rc) }
            try read(ColumnReader(handle: handle))
        }
    }

    /// Reads columns of the current row.
    struct ColumnReader {
        let handle: OpaquePointer
        func text(_ i: Int32) -> String? {
            guard let p = sqlite3_column_text(handle, i) else { return nil }
            let n = Int(sqlite3_column_bytes(handle, i))
            return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
        }
        /// A text column that is never NULL (or whose NULL reads as empty).
        func string(_ i: Int32) -> String { text(i) ?? "" }
        func int64(_ i: Int32) -> Int64 { sqlite3_column_int64(handle, i) }
    }
}

/// The values of one or more rows' parameters, texts gathered in one buffer so they can be bound
/// without copies (`SQLITE_STATIC`) for the one step that reads them: see
/// ``RawStatement/execute(texts:)``.
struct TextBindings {
    fileprivate var bytes: [UInt8] = [0]
    fileprivate var slots: [(index: Int32, offset: Int, count: Int)] = []
    fileprivate var integers: [(index: Int32, value: Int64)] = []

    init() {
        bytes.reserveCapacity(1024)
        slots.reserveCapacity(32)
    }

    /// Adds parameter `index`'s value; `nil` binds NULL.
    mutating func add(_ index: Int32, _ value: String?) {
        guard var value else { return add(index, bytes: nil) }
        value.withUTF8 { add(index, bytes: $0) }
    }

    /// Adds parameter `index`'s value, text given as UTF-8 bytes; `nil` binds NULL.
    mutating func add(_ index: Int32, bytes value: UnsafeBufferPointer<UInt8>?) {
        guard let value else { slots.append((index, 0, -1)); return }
        let offset = bytes.count
        bytes.append(contentsOf: value)
        slots.append((index, offset, value.count))
    }

    /// Adds parameter `index`'s value: `value` as 16 lowercase hex digits, as text.
    mutating func add(_ index: Int32, hex value: UInt64) {
        let offset = bytes.count
        for shift in stride(from: 60, through: 0, by: -4) {
            let digit = UInt8(truncatingIfNeeded: value >> UInt64(shift)) & 0xF
            bytes.append(digit < 10 ? 0x30 + digit : 0x57 + digit)
        }
        slots.append((index, offset, 16))
    }

    /// Adds the texts packed at `offset` of `packed` (``PackedRosterRows``'s layout): the `k`th
    /// value as parameter `base + parameters[k]` (not bound when that is 0). The values' bytes
    /// are copied in one piece.
    mutating func add(packed: UnsafeBufferPointer<UInt8>, from offset: Int, parameters: [Int32], base: Int32) {
        let shift = bytes.count - offset
        let end = PackedRosterRows.walk(packed, from: offset, values: parameters.count) { v, start, n in
            let p = parameters[v]
            if p > 0 { slots.append((base + p, start + shift, n)) }   // n < 0: NULL
        }
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: packed[offset..<end]))
    }

    /// Adds parameter `index`'s value, an integer.
    mutating func add(_ index: Int32, _ value: Int64) {
        integers.append((index, value))
    }

    fileprivate mutating func reset() {
        bytes.removeSubrange(1...)
        slots.removeAll(keepingCapacity: true)
        integers.removeAll(keepingCapacity: true)
    }
}
