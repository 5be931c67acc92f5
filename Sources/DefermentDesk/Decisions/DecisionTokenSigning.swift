import Crypto
import Foundation
import DefermentCore
import DefermentSite

/// Signing and checking a decision workbook's token (驗證碼): `DDT2-<county>-<date>-<generation>-`
/// and an HMAC-SHA256 under `state/decision-token.key`, truncated to 16 bytes. It proves the
/// workbook came from the desk for that county, date and generation; the older `DDT1-…` form
/// (no generation) reads as generation 0.
extension DecisionToken {
    static let prefix = "DDT2"
    static let firstPrefix = "DDT1"

    private static func mac(_ fields: String, key: SymmetricKey) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: Data("deferment-decision|\(fields)".utf8), using: key)
        return Data(code).prefix(16).lowercaseHex
    }

    /// The token text, e.g. `DDT2-63000-20261015-42-<32 hex digits>`.
    public func signed(with key: SymmetricKey) -> String {
        let date = CivilDate.compact(uploadDate.iso)
        return "\(Self.prefix)-\(county)-\(date)-\(generation)-\(Self.mac("\(county)|\(date)|\(generation)", key: key))"
    }

    /// Reads and verifies a token (either form); `nil` if it is malformed or its HMAC does not match.
    public static func verify(_ text: String, key: SymmetricKey) -> DecisionToken? {
        let parts = text.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "-").map(String.init)
        let generation: Int64, fields: String
        switch (parts.first, parts.count) {
        case (prefix?, 5):
            guard let g = Int64(parts[3]), g >= 0, String(g) == parts[3] else { return nil }
            generation = g
            fields = "\(parts[1])|\(parts[2])|\(parts[3])"
        case (firstPrefix?, 4):
            generation = 0
            fields = "\(parts[1])|\(parts[2])"
        default:
            return nil
        }
        guard parts[2].count == 8, let date = CivilDate.parse(parts[2]) else { return nil }
        let expected = Array(mac(fields, key: key).utf8)
        let given = Array(parts[parts.count - 1].lowercased().utf8)
        guard expected.count == given.count else { return nil }
        var diff: UInt8 = 0
        for (a, b) in zip(expected, given) { diff |= a ^ b }
        return diff == 0 ? DecisionToken(county: parts[1], uploadDate: date, generation: generation) : nil
    }
}

/// The desk's key, lent to a site build as a function that signs tokens (the key itself stays
/// with the desk).
struct TokenSigner: @unchecked Sendable {
    let key: SymmetricKey
    @Sendable func sign(_ token: DecisionToken) -> String { token.signed(with: key) }
}

