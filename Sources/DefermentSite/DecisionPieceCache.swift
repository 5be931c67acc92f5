import Foundation
import DefermentCore
import DefermentFiles

/// The pieces of one decision workbook kept between site builds (審核名冊片段快取): one file per
/// county and upload date under `state/site-cache/`, holding each roster-and-school piece
/// (``DecisionSheetPiece``) with the stamp of what it was written from.
///
/// When one school's roster changes, its county workbooks are assembled from the kept pieces of
/// every other school and only that school's rows are read and compressed again. A piece is
/// used only if its stamp (the templates' fingerprint, the school's group version, its name)
/// is the one asked for; the file carries a CRC-32 over all of it, so a file that a crash left
/// short or damaged is not used at all (the workbook is then written from the database, as in a
/// full build). The pieces hold personal data, as the database beside them does; both stay
/// under `state/`, never in the site.
struct DecisionPieceCache {
    /// Identifies a piece within its workbook.
    struct Key: Hashable {
        var kind: RosterKind
        var school: String
    }

    let file: URL
    static let magic = Array("DDPC1\n".utf8)

    /// The file of a county's workbook for an upload date (ISO).
    static func fileName(county: String, date: String) -> String { "\(county)-\(date).pieces" }

    /// The pieces in the file with their stamps; empty if there is none or it is not intact.
    func load() -> [Key: (stamp: String, piece: DecisionSheetPiece)] {
        guard let data = try? Data(contentsOf: file) else { return [:] }
        return (try? data.withUnsafeBytes { raw -> [Key: (stamp: String, piece: DecisionSheetPiece)] in
            let b = raw.bindMemory(to: UInt8.self)
            guard b.count > Self.magic.count + 8, Array(b.prefix(Self.magic.count)) == Self.magic else { throw Damaged() }
            let body = b.count - 4
            var trailer = Reader(bytes: b, at: body)
            let stored = try trailer.u32()
            guard CRC32.checksum(UnsafeBufferPointer(rebasing: b[..<body])) == stored else { throw Damaged() }
            var r = Reader(bytes: UnsafeBufferPointer(rebasing: b[..<body]), at: Self.magic.count)
            var result: [Key: (stamp: String, piece: DecisionSheetPiece)] = [:]
            for _ in 0..<(try r.u32()) {
                let stamp = try r.text()
                guard let kind = RosterKind(rawValue: try r.text()) else { throw Damaged() }
                let school = try r.text()
                let count = Int(try r.u32()), width = Int(try r.u32())
                var counts: [String: Int] = [:]
                for _ in 0..<(try r.u32()) { counts[try r.text()] = Int(try r.u32()) }
                let crc = try r.u32()
                let size = try r.u64()
                let compressed = try r.bytes(Int(try r.u32()))
                let fragment = XLSXRowsFragment(deflated: DeflateFragment(compressed: compressed, crc: crc, size: size), count: count,
                                                width: width)
                result[Key(kind: kind, school: school)] = (stamp, DecisionSheetPiece(kind: kind, schoolCode: school, rows: fragment, counts: counts))
            }
            guard r.at == body else { throw Damaged() }
            return result
        }) ?? [:]
    }

    /// Replaces the file with these pieces (not flushed to disk: it is derived data, checked on reading).
    func store(_ pieces: [(stamp: String, piece: DecisionSheetPiece)]) throws {
        var out = Self.magic
        out.reserveCapacity(pieces.reduce(64) { $0 + $1.piece.rows.deflated.compressed.count + 96 })
        func u32(_ v: Int) { let v = UInt32(v); out += [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)] }
        func text(_ s: String) { u32(s.utf8.count); out += Array(s.utf8) }
        u32(pieces.count)
        for (stamp, p) in pieces {
            text(stamp); text(p.kind.rawValue); text(p.schoolCode)
            u32(p.rows.count); u32(p.rows.width)
            u32(p.counts.count)
            for (state, n) in p.counts.sorted(by: { $0.key < $1.key }) { text(state); u32(n) }
            let d = p.rows.deflated
            u32(Int(d.crc)); u32(Int(d.size & 0xFFFF_FFFF)); u32(Int(d.size >> 32))
            u32(d.compressed.count); out += d.compressed
        }
        u32(Int(out.withUnsafeBufferPointer { CRC32.checksum($0) }))
        try AtomicFile.write(Data(out), to: file, durable: false)
    }

    private struct Damaged: Error {}

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var at: Int
        mutating func u32() throws -> UInt32 {
            guard at + 4 <= bytes.count else { throw Damaged() }
            defer { at += 4 }
            return UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        }
        mutating func u64() throws -> UInt64 { let low = UInt64(try u32()); return low | UInt64(try u32()) << 32 }
        mutating func bytes(_ n: Int) throws -> [UInt8] {
            guard n >= 0, at + n <= bytes.count else { throw Damaged() }
            defer { at += n }
            return Array(UnsafeBufferPointer(rebasing: bytes[at..<(at + n)]))
        }
        mutating func text() throws -> String { String(decoding: try bytes(Int(try u32())), as: UTF8.self) }
    }
}
