import Foundation
import CDeflate

/// Why an archive could not be written.
public struct ZipWriteError: Error, CustomStringConvertible {
    public var description: String
}

/// One ZIP entry's contents compressed as they arrive (raw DEFLATE, ISA-L level 1), with the
/// CRC-32 and sizes the archive's headers need. Memory holds only the compressed bytes.
public final class DeflatedEntry {
    /// The compressed bytes so far.
    public private(set) var compressed: [UInt8] = []
    /// CRC-32 of the uncompressed bytes fed.
    public private(set) var crc: UInt32 = 0
    /// Uncompressed bytes fed.
    public private(set) var size: UInt64 = 0
    private var stream: OpaquePointer?
    private var finished = false
    private var scratch = [UInt8](repeating: 0, count: 1 << 18)

    public init() throws {
        guard let s = deferment_deflater_new() else { throw ZipWriteError(description: "out of memory starting a DEFLATE stream") }
        stream = s
    }

    deinit { deferment_deflater_free(stream) }

    /// Compresses `bytes` (to be followed by more, unless `finish`).
    public func feed(_ bytes: UnsafeBufferPointer<UInt8>, finish: Bool = false) throws {
        try feed(bytes, mode: finish ? Int32(DEFERMENT_DEFLATE_FINISH) : Int32(DEFERMENT_DEFLATE_MORE))
    }

    private func feed(_ bytes: UnsafeBufferPointer<UInt8>, mode: Int32) throws {
        precondition(!finished, "DeflatedEntry fed after it was finished")
        if let base = bytes.baseAddress, !bytes.isEmpty {
            crc = deferment_crc32(crc, base, bytes.count)
            aligned = false
        }
        size += UInt64(bytes.count)
        var offset = 0
        while true {
            var used = 0, produced = 0
            var done: Int32 = 0
            let rc = scratch.withUnsafeMutableBufferPointer { out in
                deferment_deflate(stream, bytes.baseAddress.map { $0 + offset }, bytes.count - offset, mode,
                                  out.baseAddress, out.count, &used, &produced, &done)
            }
            guard rc == 0 else { throw ZipWriteError(description: "DEFLATE failed (ISA-L error \(rc))") }
            offset += used
            if produced > 0 { compressed.append(contentsOf: scratch[0..<produced]) }
            if mode == DEFERMENT_DEFLATE_FINISH {
                if done != 0 { finished = true; return }
            } else if mode == DEFERMENT_DEFLATE_FULL_FLUSH {
                if done != 0 { aligned = true; return }
            } else if offset == bytes.count && produced < scratch.count {
                return
            }
        }
    }

    /// Compresses the bytes of an array.
    public func feed(_ bytes: [UInt8], finish: Bool = false) throws {
        try bytes.withUnsafeBufferPointer { try feed($0, finish: finish) }
    }

    /// Ends the stream.
    public func finish() throws {
        if !finished { try feed(UnsafeBufferPointer(start: nil, count: 0), finish: true) }
    }

    /// Whether the compressed bytes end on a block boundary with no history to refer back to:
    /// nothing fed yet, or nothing since ``fullFlush()`` or ``append(_:)``.
    public private(set) var aligned = true

    /// Writes out everything fed so far and aligns the stream to a byte with no history (zlib's
    /// `Z_FULL_FLUSH`), so that independently compressed pieces can follow (``append(_:)``).
    public func fullFlush() throws {
        precondition(!finished, "DeflatedEntry flushed after it was finished")
        if !aligned { try feed(UnsafeBufferPointer(start: nil, count: 0), mode: Int32(DEFERMENT_DEFLATE_FULL_FLUSH)) }
    }

    /// Places a piece compressed on its own (``DeflateFragment``) here, as if its bytes had been
    /// fed: the compressed bytes are copied as they are and the CRC-32 is combined. The stream
    /// must be ``aligned``; it goes on after the piece.
    public func append(_ fragment: DeflateFragment) {
        precondition(aligned && !finished, "DeflatedEntry: a fragment needs an aligned, unfinished stream")
        compressed.append(contentsOf: fragment.compressed)
        crc = deferment_crc32_combine(crc, fragment.crc, fragment.size)
        size += fragment.size
    }

    /// Puts `opening` before everything fed so far, as uncompressed (stored) DEFLATE blocks: a
    /// part's opening (a worksheet's column widths, frozen panes, dimension) can be settled
    /// after its rows were compressed. The CRC-32 is combined, not recomputed.
    public func prepend(stored opening: [UInt8]) {
        guard !opening.isEmpty else { return }
        var blocks: [UInt8] = []
        blocks.reserveCapacity(opening.count + 5 * (opening.count / 65_535 + 1))
        var start = 0
        while start < opening.count {
            let n = min(65_535, opening.count - start)
            // BFINAL 0, BTYPE 00 (stored), padded to the byte; LEN, NLEN little-endian. A stored
            // block ends on a byte boundary, where the compressed stream's first block begins.
            blocks.append(0)
            blocks.append(UInt8(n & 0xFF)); blocks.append(UInt8(n >> 8))
            blocks.append(UInt8(~n & 0xFF)); blocks.append(UInt8((~n >> 8) & 0xFF))
            blocks.append(contentsOf: opening[start..<(start + n)])
            start += n
        }
        let headCRC = opening.withUnsafeBufferPointer { deferment_crc32(0, $0.baseAddress, $0.count) }
        crc = deferment_crc32_combine(headCRC, crc, size)
        size += UInt64(opening.count)
        compressed.insert(contentsOf: blocks, at: 0)
    }
}

/// Bytes compressed on their own into raw DEFLATE blocks that end byte-aligned, are not final
/// and refer to nothing before them, so that they can be placed unchanged into any stream at an
/// aligned point (``DeflatedEntry/append(_:)``): a cached piece of a worksheet is reused without
/// compressing it again.
public struct DeflateFragment: Sendable, Equatable {
    /// The compressed bytes.
    public var compressed: [UInt8]
    /// CRC-32 of the uncompressed bytes.
    public var crc: UInt32
    /// Uncompressed length.
    public var size: UInt64

    /// A fragment from its parts (as stored and read back by a cache).
    public init(compressed: [UInt8], crc: UInt32, size: UInt64) {
        self.compressed = compressed
        self.crc = crc
        self.size = size
    }

    /// Compresses `bytes` (ISA-L, level 1) into a fragment.
    public init(compressing bytes: [UInt8]) throws {
        let (compressed, crc) = try bytes.withUnsafeBufferPointer {
            (try RawDeflate.compress($0, mode: Int32(DEFERMENT_DEFLATE_FULL_FLUSH)), CRC32.checksum($0))
        }
        self.init(compressed: compressed, crc: crc, size: UInt64(bytes.count))
    }
}

/// The CRC-32 of ZIP and gzip (ISA-L), for checking files the desk keeps.
public enum CRC32 {
    /// The checksum of `bytes`.
    public static func checksum(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        deferment_crc32(0, bytes.baseAddress, bytes.count)
    }
}

/// A ZIP archive (PKWARE APPNOTE 6.3) built in memory from DEFLATE-compressed entries, as XLSX
/// packages are. Entries carry a fixed time (1980-01-01 00:00), so the same contents always give
/// the same bytes. No ZIP64: an entry or the archive is limited to 4 GiB (a worksheet at Excel's
/// own limit of 1,048,576 rows stays far below it).
public struct ZipArchiveWriter {
    private var out: [UInt8] = []
    private var central: [UInt8] = []
    private var count = 0

    public init() {}

    /// Adds a finished entry under `name` (a `/`-separated path).
    public mutating func add(_ name: String, _ entry: DeflatedEntry) throws {
        try entry.finish()
        guard entry.size <= UInt64(UInt32.max), entry.compressed.count <= Int(UInt32.max),
              out.count + entry.compressed.count < Int(UInt32.max) else {
            throw ZipWriteError(description: "\(name) is larger than 4 GiB")
        }
        let nameBytes = Array(name.utf8)
        let offset = UInt32(out.count)
        // The fields a local file header and its central directory record share, from
        // "version needed" to the name's length.
        func common(_ b: inout [UInt8]) {
            Self.put16(&b, 20)                   // version needed: 2.0 (deflate)
            Self.put16(&b, 0x0800)               // flags: names are UTF-8
            Self.put16(&b, 8)                    // method: deflate
            Self.put16(&b, 0); Self.put16(&b, 0x21)   // time 00:00, date 1980-01-01
            Self.put32(&b, entry.crc)
            Self.put32(&b, UInt32(entry.compressed.count))
            Self.put32(&b, UInt32(entry.size))
            Self.put16(&b, UInt16(nameBytes.count))
        }
        // Local file header.
        Self.put32(&out, 0x0403_4b50)
        common(&out)
        Self.put16(&out, 0)                           // extra
        out += nameBytes
        out += entry.compressed
        // Central directory record.
        Self.put32(&central, 0x0201_4b50)
        Self.put16(&central, 20)                      // version made by
        common(&central)
        Self.put16(&central, 0); Self.put16(&central, 0)   // extra, comment
        Self.put16(&central, 0); Self.put16(&central, 0)   // disk, internal attributes
        Self.put32(&central, 0)                       // external attributes
        Self.put32(&central, offset)
        central += nameBytes
        count += 1
    }

    /// Adds a small entry from its bytes.
    public mutating func add(_ name: String, bytes: [UInt8]) throws {
        let entry = try DeflatedEntry()
        try entry.feed(bytes, finish: true)
        try add(name, entry)
    }

    /// The archive's bytes.
    public mutating func finish() throws -> Data {
        guard count < 0xFFFF, out.count + central.count < Int(UInt32.max) else { throw ZipWriteError(description: "archive too large") }
        let centralOffset = UInt32(out.count)
        out += central
        Self.put32(&out, 0x0605_4b50)
        Self.put16(&out, 0); Self.put16(&out, 0)
        Self.put16(&out, UInt16(count)); Self.put16(&out, UInt16(count))
        Self.put32(&out, UInt32(central.count))
        Self.put32(&out, centralOffset)
        Self.put16(&out, 0)
        return Data(out)
    }

    private static func put16(_ b: inout [UInt8], _ v: UInt16) {
        b.append(UInt8(v & 0xFF)); b.append(UInt8(v >> 8))
    }

    private static func put32(_ b: inout [UInt8], _ v: UInt32) {
        for s in stride(from: 0, to: 32, by: 8) { b.append(UInt8((v >> UInt32(s)) & 0xFF)) }
    }
}

/// Whole-buffer raw DEFLATE (RFC 1951), as browsers' `DecompressionStream("deflate-raw")` reads it.
public enum RawDeflate {
    /// Compresses bytes (ISA-L, level 1).
    public static func compress<Bytes: ContiguousBytes>(_ bytes: Bytes) throws -> [UInt8] {
        try bytes.withUnsafeBytes { try compress($0.bindMemory(to: UInt8.self), mode: Int32(DEFERMENT_DEFLATE_FINISH)) }
    }

    /// Compresses a buffer with the calling thread's stream: a whole stream (`FINISH`) or an
    /// aligned piece (`FULL_FLUSH`, see ``DeflateFragment``).
    static func compress(_ bytes: UnsafeBufferPointer<UInt8>, mode: Int32) throws -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        var count = 0
        let rc = deferment_deflate_buffer(bytes.baseAddress, bytes.count, mode, &out, &count)
        defer { free(out) }
        guard rc == 0, let out else { throw ZipWriteError(description: "DEFLATE failed (ISA-L error \(rc))") }
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
            throw ZipWriteError(description: rc == -2 ? "inflated data larger than \(limit) bytes" : "not a complete DEFLATE stream")
        }
        return Array(UnsafeBufferPointer(start: out, count: count))
    }
}
