#if canImport(Glibc)
import Glibc
#endif

/// Text compared and hashed by its UTF-8 bytes (位元組比對之文字): the one way the desk keys
/// its own codes and words (county codes, review states, 是/否, a rules file's values) on hot
/// paths. `String` compares and hashes by Unicode canonical equivalence, normalising first,
/// which profiles showed per row; the desk's own words have one spelling, so their bytes decide.
public struct ByteText: Hashable, Sendable {
    public let text: String

    public init(_ text: String) { self.text = text }

    public static func == (a: ByteText, b: ByteText) -> Bool { sameBytes(a.text, b.text) }

    public func hash(into hasher: inout Hasher) {
        var t = text
        t.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// Whether `bytes` are this text's UTF-8 bytes.
    public func matches(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var t = text
        return t.withUTF8 { Self.same($0, bytes) }
    }

    /// Whether two texts have the same UTF-8 bytes, compared in place.
    public static func sameBytes(_ x: String, _ y: String) -> Bool {
        guard x.utf8.count == y.utf8.count else { return false }
        var x = x, y = y
        return x.withUTF8 { a in y.withUTF8 { b in same(a, b) } }
    }

    static func same(_ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        a.count == b.count && (a.isEmpty || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0)
    }
}
