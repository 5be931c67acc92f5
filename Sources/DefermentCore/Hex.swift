extension Sequence where Element == UInt8 {
    /// Lower-case hexadecimal, two digits a byte: how digests, tokens and fingerprints are
    /// written (without `String(format:)`, which costs more than hashing a small page).
    public var lowercaseHex: String {
        let digits: StaticString = "0123456789abcdef"
        var out: [UInt8] = []
        out.reserveCapacity(underestimatedCount * 2)
        digits.withUTF8Buffer { d in
            for b in self { out.append(d[Int(b >> 4)]); out.append(d[Int(b & 0x0F)]) }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
