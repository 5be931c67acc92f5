import Crypto
import Foundation
import DefermentFiles
#if canImport(Glibc)
import Glibc
#endif

/// The host key (主機金鑰, `state/host.key`): every account's data key is stored in the database
/// sealed under it (AES-256-GCM, the account code authenticated), so a copy of the database
/// alone decrypts no page. The key file is owner-only, created on first use and kept out of the
/// database; back it up with the database (without it, every account needs a new data key).
struct HostKey: @unchecked Sendable {
    let key: SymmetricKey

    /// What a sealed data key starts with; a stored key without it is from before the host key
    /// (32 bytes in clear) and is sealed by ``Desk/sealAccountKeys()``.
    static let mark = Data("HK1".utf8)

    /// Loads `url`, or creates it (0600) when it does not exist.
    static func load(_ url: URL) throws -> HostKey {
        if let data = FileManager.default.contents(atPath: url.path) {
            guard data.count == 32 else { throw AccountError(description: "主機金鑰檔 \(url.path) 已損毀（長度不是 32 位元組）；請由備份還原。") }
            return HostKey(key: SymmetricKey(data: data))
        }
        let key = SymmetricKey(size: .bits256)
        try AtomicFile.write(key.withUnsafeBytes { Data($0) }, to: url, mode: 0o600)
        return HostKey(key: key)
    }

    func seal(_ dataKey: Data, account: String) throws -> Data {
        Self.mark + (try AES.GCM.seal(dataKey, using: key, authenticating: Data(account.utf8)).combined!)
    }

    /// The data key of `account` from its stored form.
    func open(_ stored: Data, account: String) throws -> Data {
        guard stored.starts(with: Self.mark) else { return stored }
        do {
            return try AES.GCM.open(AES.GCM.SealedBox(combined: stored.dropFirst(Self.mark.count)), using: key,
                                    authenticating: Data(account.utf8))
        } catch {
            throw AccountError(description: "帳號 \(account) 的資料金鑰無法以主機金鑰（state/host.key）解開：金鑰檔與資料庫不是同一份備份。")
        }
    }

    static func isSealed(_ stored: Data) -> Bool { stored.starts(with: mark) }
}
