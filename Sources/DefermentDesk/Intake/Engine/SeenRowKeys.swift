import Foundation
import GRDB
import DefermentCore
import DefermentFiles
import DefermentStore

/// The keys a file's rows were stored under so far, to tell a row whose key comes up for the
/// first time in the file (school, upload date, roster, national ID).
///
/// A Bloom filter over a 64-bit hash of each key (``RosterIntake/indexOrder(_:arrivalDay:)``
/// makes them): about ten bits a row, so a national roster's filter stays in the processor's
/// cache where a set of a million hashes would not. It never misses a key it was given; it may
/// now and then take a new key for one seen before (about two rows in a hundred at the expected
/// size, more past it), which only sends that row the slower way.
///
/// Blocked: a key's three bits lie in one 64-byte block, so a row costs one cache miss rather
/// than three (the three probes were about 5% of the reading thread's time).
///
/// Kept by the reading thread, in the order rows are handed over (the order they are stored),
/// so that one filter sees every row of the file however it is handed over; the storing thread
/// only reads the answer (``PackedRosterRows/keyFirstSeen(_:)``).
final class SeenRowKeys {
    private let words: UnsafeMutablePointer<UInt64>
    private let blockMask: UInt64

    /// A filter sized for about `expectedRows` rows.
    init(expectedRows: Int) {
        var blocks = 128
        while blocks * 512 < max(expectedRows, 1) * 10 { blocks *= 2 }
        words = .allocate(capacity: blocks * 8)
        words.initialize(repeating: 0, count: blocks * 8)
        blockMask = UInt64(blocks - 1)
    }

    /// A filter for the rows of a file of `size` bytes: a roster row takes at least about 60
    /// bytes of CSV, or 15 of XLSX.
    convenience init(fileSize size: Int, url: URL) {
        self.init(expectedRows: size / (url.pathExtension.lowercased() == "xlsx" ? 15 : 60))
    }

    deinit { words.deallocate() }

    /// Mixes `value` into the hash `h` (a multiplication and a shift: the parts hashed are
    /// fixed-size numbers, where a byte-wise hash cost a multiplication per byte).
    static func mix(_ h: UInt64, _ value: UInt64) -> UInt64 {
        let x = (h ^ value) &* 0x9E37_79B9_7F4A_7C15
        return x ^ x >> 29
    }

    /// Records a row's key, given as its hash; true when it was certainly not seen before.
    func insert(_ keyHash: UInt64) -> Bool {
        // Spread over all 64 bits; the block from the top bits, three bits of its 512 from the
        // bottom 27.
        let h = Self.mix(keyHash, 0x5851_F42D_4C95_7F2D)
        let block = Int((h >> 32) & blockMask) * 8
        var new = false
        for probe in 0..<3 {
            let bit = (h >> UInt64(9 * probe)) & 511
            let word = block + Int(bit >> 6), flag: UInt64 = 1 << (bit & 63)
            if words[word] & flag == 0 { new = true; words[word] |= flag }
        }
        return new
    }
}
