#if canImport(Glibc)
import Glibc
#endif

/// A small table keyed by text (a rules file's column of values: 學籍狀態, 兵役狀態, 教育程度, …),
/// looked up once or more for every row of a roster or registry extract.
///
/// A `Dictionary<String, Value>` hashes its key with Unicode normalisation first, which for
/// Chinese text is most of the cost of a look-up. A rules table has a handful of entries, so
/// the key's UTF-8 bytes are compared with each entry's instead. A key in another Unicode form
/// than the table's (canonically equivalent, different bytes) still finds its entry through a
/// second, `String`-equality pass, taken only when the bytes matched nothing.
public struct TextTable<Value: Sendable>: Sendable, ExpressibleByDictionaryLiteral, Sequence {
    private var keys = TextKeys()
    private var values: [Value] = []

    /// An empty table.
    public init() {}

    /// A table of these pairs.
    public init(_ pairs: [String: Value]) {
        for (k, v) in pairs.sorted(by: { $0.key < $1.key }) { self[k] = v }
    }

    /// A table of these pairs; a later pair with an equal key replaces an earlier one.
    public init(dictionaryLiteral elements: (String, Value)...) {
        for (k, v) in elements { self[k] = v }
    }

    /// The value stored for `key`, or `nil`. Setting `nil` removes the entry.
    public subscript(key: String) -> Value? {
        get { keys.index(of: key).map { values[$0] } }
        set {
            let i = keys.index(of: key)
            switch (i, newValue) {
            case let (i?, v?): values[i] = v
            case let (i?, nil): keys.remove(at: i); values.remove(at: i)
            case let (nil, v?): keys.append(key); values.append(v)
            case (nil, nil): break
            }
        }
    }

    /// The value stored for the text whose UTF-8 bytes are `key`, or `nil`: for readers that
    /// work on a file's bytes, with no `String` made unless the bytes match no entry.
    public subscript(utf8 key: UnsafeBufferPointer<UInt8>) -> Value? {
        keys.index(of: key).map { values[$0] }
    }

    /// Number of entries.
    public var count: Int { values.count }

    /// The keys, in the order they were added.
    public var allKeys: [String] { keys.texts }

    public func makeIterator() -> IndexingIterator<[(key: String, value: Value)]> {
        zip(keys.texts, values).map { (key: $0, value: $1) }.makeIterator()
    }
}

extension TextTable: Equatable where Value: Equatable {
    /// Equal when both hold the same keys with the same values, in any order.
    public static func == (a: TextTable, b: TextTable) -> Bool {
        a.count == b.count && zip(a.keys.texts, a.values).allSatisfy { b[$0] == $1 }
    }
}

/// The keys of a ``TextTable``: not generic, so the look-up runs as compiled, whatever the
/// table's value type.
struct TextKeys: Sendable {
    private(set) var texts: [String] = []
    private var bytes: [[UInt8]] = []

    func index(of key: String) -> Int? {
        var key = key
        return key.withUTF8 { sameBytes($0) } ?? texts.firstIndex(of: key)
    }

    func index(of key: UnsafeBufferPointer<UInt8>) -> Int? {
        sameBytes(key) ?? texts.firstIndex(of: String(decoding: key, as: UTF8.self))
    }

    /// The entry whose bytes are `wanted`'s.
    private func sameBytes(_ wanted: UnsafeBufferPointer<UInt8>) -> Int? {
        bytes.indices.first { i in bytes[i].withUnsafeBufferPointer { ByteText.same($0, wanted) } }
    }

    mutating func append(_ key: String) {
        texts.append(key)
        bytes.append(Array(key.utf8))
    }

    mutating func remove(at i: Int) {
        texts.remove(at: i)
        bytes.remove(at: i)
    }
}
