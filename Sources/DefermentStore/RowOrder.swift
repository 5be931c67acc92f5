import Foundation

/// Orders report rows in memory as SQLite's `ORDER BY` would (texts compared by their UTF-8
/// bytes, its BINARY collation), with integer keys: SQLite sorted tens of thousands of wide
/// rows per roster in a temporary B-tree, a few percent of a full site build.
enum RowOrder {
    /// A key per text whose order is the texts' byte order: the text itself packed into an
    /// integer when every text is at most 12 digits and capital letters (codes, national IDs),
    /// else its rank among the distinct texts.
    static func binaryKeys(_ texts: [String]) -> [UInt64] {
        var packed: [UInt64] = []
        packed.reserveCapacity(texts.count)
        for t in texts {
            guard let p = pack(t) else { return ranks(texts) }
            packed.append(p)
        }
        return packed
    }

    /// `0`–`9` and `A`–`Z` as base-37 digits 1…36 (0 ends a shorter text), most significant first:
    /// integer order is byte order for such texts of up to 12 characters.
    static func pack(_ text: String) -> UInt64? {
        var value: UInt64 = 0, count = 0
        for b in text.utf8 {
            let digit: UInt64
            switch b {
            case 0x30...0x39: digit = UInt64(b - 0x30) + 1
            case 0x41...0x5A: digit = UInt64(b - 0x41) + 11
            default: return nil
            }
            count += 1
            if count > 12 { return nil }
            value = value * 37 + digit
        }
        for _ in count..<12 { value *= 37 }
        return value
    }

    /// Each text's rank among the distinct texts in byte order. Texts are told apart by their
    /// bytes, as SQLite does (`String` equality would merge canonically equal texts, and hashing
    /// a text that is not ASCII normalises it first): a column of a few values (a roster kind)
    /// is matched against them, one of many values through a table of their bytes.
    static func ranks(_ texts: [String]) -> [UInt64] {
        var distinct: [String] = []
        var table: [[UInt8]: Int]? = nil
        var ordinals: [Int] = []
        ordinals.reserveCapacity(texts.count)
        for t in texts {
            if table == nil, let k = distinct.firstIndex(where: { $0.utf8.elementsEqual(t.utf8) }) {
                ordinals.append(k)
                continue
            }
            if table == nil && distinct.count >= 8 {
                table = Dictionary(uniqueKeysWithValues: distinct.enumerated().map { (Array($1.utf8), $0) })
            }
            if table != nil, let k = table![Array(t.utf8)] {
                ordinals.append(k)
                continue
            }
            table?[Array(t.utf8)] = distinct.count
            ordinals.append(distinct.count)
            distinct.append(t)
        }
        let order = distinct.indices.sorted { distinct[$0].utf8.lexicographicallyPrecedes(distinct[$1].utf8) }
        var rank = [UInt64](repeating: 0, count: distinct.count)
        for (r, k) in order.enumerated() { rank[k] = UInt64(r) }
        return ordinals.map { rank[$0] }
    }

    /// Keys that order texts in descending byte order.
    static func descending(_ keys: [UInt64]) -> [UInt64] { keys.map { UInt64.max - $0 } }

    /// A school's roster: `roster_kind DESC, source_row, id`.
    static func schoolRoster(_ rows: [ReportRow]) -> [ReportRow] {
        let kind = descending(binaryKeys(rows.map(\.rosterKind)))
        let keys = rows.indices.map { (kind[$0], rows[$0].sourceRow, rows[$0].id) }
        return rows.indices.sorted { keys[$0] < keys[$1] }.map { rows[$0] }
    }

    /// A county's roster: `school_code, national_id, roster_kind DESC, source_row, id`.
    static func countyRoster(_ rows: [ReportRow]) -> [ReportRow] {
        let school = binaryKeys(rows.map(\.schoolCode)), person = binaryKeys(rows.map(\.nationalID))
        let kind = descending(binaryKeys(rows.map(\.rosterKind)))
        let keys = rows.indices.map { (school[$0], person[$0], kind[$0], rows[$0].sourceRow, rows[$0].id) }
        return rows.indices.sorted { keys[$0] < keys[$1] }.map { rows[$0] }
    }
}
