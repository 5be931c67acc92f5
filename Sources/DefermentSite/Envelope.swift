import Crypto
import _CryptoExtras
import Foundation
import DefermentFiles

/// The encryption that travels with the static site (個資加密): every file holding personal data
/// is sealed with AES-256-GCM under its account's random data key; the data key is wrapped
/// (AES-256-GCM) under a key derived from the account's password with PBKDF2-HMAC-SHA256.
/// The browser reverses both steps with WebCrypto (`secure.js`).
///
/// Sealed file format (`*.enc`): a 4-byte magic, 12-byte nonce, ciphertext, 16-byte tag. With
/// `DEF1` the ciphertext is of the file's bytes and the additional authenticated data is
/// `deferment|<account>|<site path>`; with `DEF2` it is of the bytes compressed with raw DEFLATE
/// (pages and CSV reports shrink about tenfold; workbooks are compressed already) and
/// the additional data is `deferment-deflate|<account>|<site path>`, so neither the path, the
/// account nor the format can be changed without the file failing to open. The nonce is derived
/// from the data key, the path and the sealed bytes (HMAC-SHA256), so the same page sealed twice
/// gives the same bytes (and the publisher skips it) while different contents never share a nonce.
///
/// Compressing before encrypting lets a file's size say something about its contents; the sizes
/// of a static site's files are public anyway, the pages change only with monthly rosters, and no
/// one outside the account can put chosen text beside the personal data, so the guessing attacks
/// known against compression in TLS (CRIME, BREACH) have nothing to work with here.
public enum Envelope {
    public static let magic: [UInt8] = Array("DEF1".utf8)
    /// The magic of a file whose bytes were compressed (raw DEFLATE) before sealing.
    public static let deflatedMagic: [UInt8] = Array("DEF2".utf8)
    /// PBKDF2 rounds for new passwords (OWASP's 2023 figure for PBKDF2-HMAC-SHA256).
    public static let defaultRounds = 600_000

    /// Why opening failed.
    public enum Failure: Error, Equatable {
        /// The password is wrong (the wrapped key does not open).
        case wrongPassword
        /// The file was altered, truncated, or belongs to another path or account.
        case tampered
    }

    /// A new random 256-bit data key.
    public static func newDataKey() -> SymmetricKey { SymmetricKey(size: .bits256) }

    static func aad(account: String, path: String, deflated: Bool = false) -> Data {
        Data("\(deflated ? "deferment-deflate" : "deferment")|\(account)|\(path)".utf8)
    }

    /// Seals a file's bytes for an account and site path; with `compress`, compressed first
    /// (`DEF2`, for text: pages, CSV, JSON).
    public static func seal(_ plaintext: Data, key: SymmetricKey, account: String, path: String, compress: Bool = false) throws -> Data {
        let content = compress ? Data(try RawDeflate.compress(plaintext)) : plaintext
        var mac = HMAC<SHA256>(key: key)
        mac.update(data: Data(path.utf8))
        mac.update(data: [0])
        mac.update(data: content)
        let nonce = try AES.GCM.Nonce(data: Data(mac.finalize()).prefix(12))
        let box = try AES.GCM.seal(content, using: key, nonce: nonce, authenticating: aad(account: account, path: path, deflated: compress))
        var sealed = Data(compress ? deflatedMagic : magic)
        sealed.append(box.combined!)
        return sealed
    }

    /// Opens a sealed file (either format).
    public static func open(_ sealed: Data, key: SymmetricKey, account: String, path: String) throws -> Data {
        let head = Array(sealed.prefix(4))
        guard sealed.count > 4 + 12 + 16, head == magic || head == deflatedMagic else { throw Failure.tampered }
        let deflated = head == deflatedMagic
        let content: Data
        do {
            let box = try AES.GCM.SealedBox(combined: sealed.dropFirst(4))
            content = try AES.GCM.open(box, using: key, authenticating: aad(account: account, path: path, deflated: deflated))
        } catch {
            throw Failure.tampered
        }
        guard deflated else { return content }
        do { return Data(try RawDeflate.decompress(content)) } catch { throw Failure.tampered }
    }

    /// A password-wrapped data key, as published in an account's `key.json`.
    public struct WrappedKey: Codable, Equatable, Sendable {
        public var v = 1
        public var account: String
        public var kdf = "PBKDF2-HMAC-SHA256"
        public var rounds: Int
        public var salt: String      // base64
        public var wrapped: String   // base64: nonce ‖ ciphertext ‖ tag
    }

    static func keyAAD(_ account: String) -> Data { Data("deferment-key|\(account)".utf8) }

    static func derive(password: String, salt: Data, rounds: Int) throws -> SymmetricKey {
        try KDF.Insecure.PBKDF2.deriveKey(from: Data(password.utf8), salt: salt, using: .sha256, outputByteCount: 32,
                                          unsafeUncheckedRounds: rounds)
    }

    /// Wraps a data key under a password (a new random salt each time).
    public static func wrap(_ dataKey: SymmetricKey, password: String, account: String, rounds: Int = defaultRounds) throws -> WrappedKey {
        let salt = Data(SymmetricKey(size: .bits128).withUnsafeBytes { Array($0) })
        let kek = try derive(password: password, salt: salt, rounds: rounds)
        let raw = dataKey.withUnsafeBytes { Data($0) }
        let box = try AES.GCM.seal(raw, using: kek, authenticating: keyAAD(account))
        return WrappedKey(account: account, rounds: rounds, salt: salt.base64EncodedString(), wrapped: box.combined!.base64EncodedString())
    }

    /// Unwraps a data key with a password.
    public static func unwrap(_ w: WrappedKey, password: String) throws -> SymmetricKey {
        guard let salt = Data(base64Encoded: w.salt), let wrapped = Data(base64Encoded: w.wrapped) else { throw Failure.tampered }
        let kek = try derive(password: password, salt: salt, rounds: w.rounds)
        do {
            let raw = try AES.GCM.open(AES.GCM.SealedBox(combined: wrapped), using: kek, authenticating: keyAAD(w.account))
            return SymmetricKey(data: raw)
        } catch {
            throw Failure.wrongPassword
        }
    }

    /// A random password for a new account: four groups of four from an alphabet without
    /// look-alike characters (about 80 bits).
    public static func newPassword() -> String {
        let alphabet = Array("abcdefghjkmnpqrstuvwxyz23456789")
        var rng = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String((0..<4).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }) }.joined(separator: "-")
    }
}
