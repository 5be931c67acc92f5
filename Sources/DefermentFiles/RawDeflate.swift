import CDeflate
import Foundation

/// Why bytes could not be compressed or decompressed.
public struct DeflateError: Error, CustomStringConvertible {
    public var description: String
}

/// Whole-buffer raw DEFLATE (RFC 1951), as browsers' `DecompressionStream("deflate-raw")` reads it.
public enum RawDeflate {
    /// Compresses bytes (ISA-L, level 1).
    public static func compress<Bytes: ContiguousBytes>(_ bytes: Bytes) throws -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        var count = 0
        let rc = bytes.withUnsafeBytes { raw in
            deferment_deflate_buffer(raw.bindMemory(to: UInt8.self).baseAddress, raw.count, &out, &count)
        }
        defer { free(out) }
        guard rc == 0, let out else { throw DeflateError(description: "DEFLATE failed (ISA-L error \(rc))") }
        return Array(UnsafeBufferPointer(start: out, count: count))
    }

    /// Decompresses a complete raw DEFLATE stream of at most `limit` bytes once inflated.
    public static func decompress<Bytes: ContiguousBytes>(_ bytes: Bytes, limit: Int = 1 << 31) throws -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        var count = 0
        let rc = bytes.withUnsafeBytes { raw in
            deferment_inflate_raw(raw.bindMemory(to: UInt8.self).baseAddress, raw.count, limit, &out, &count)
        }
        defer { free(out) }
        guard rc == 0, let out else {
            throw DeflateError(description: rc == -2 ? "inflated data larger than \(limit) bytes" : "not a complete DEFLATE stream")
        }
        return Array(UnsafeBufferPointer(start: out, count: count))
    }
}
