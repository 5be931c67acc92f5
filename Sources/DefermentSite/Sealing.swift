import Foundation
import DefermentCore

/// Sealing (加密): every page, report and workbook with personal data is published sealed for
/// its account with ``Envelope`` (AES-256-GCM under the account's data key, the account and
/// the file's path authenticated), beside a public shell that asks for the password.
extension SiteBuilder {

    /// Publishes a page holding personal data: its content sealed for `account` at `path.enc`,
    /// and at `path` a shell with the same layout, a login form and the script that opens it.
    func publishSealedPage(_ path: String, html bytes: [UInt8], account: String, accountName: String, title: String, root: String) throws {
        guard let key = dataKeys[account] else { throw SiteError("帳號 \(account) 沒有資料金鑰") }
        // The content between <main> and </main>.
        let open = Array("<main>".utf8), close = Array("</main>".utf8)
        var start = 0, end = bytes.count
        if let i = Self.firstIndex(of: open, in: bytes, from: 0) { start = i + open.count }
        if let j = Self.lastIndex(of: close, in: bytes), j >= start { end = j }
        let sealedPath = path + ".enc"
        try publisher.publish(sealedPath, try Envelope.seal(Data(bytes[start..<end]), key: key, account: account, path: sealedPath,
                                                            compress: true))
        let name = (path as NSString).lastPathComponent
        // The account's key.json is in its own folder (`schools/<code>/`, `counties/<code>/`):
        // a page in a folder below it (a county's `schools/<code>.html`) reaches it from there.
        let below = max(0, path.split(separator: "/").count - 3)
        try publisher.publish(path, text: templates.render("secure-page", [
            "root": root, "title": title, "account": account, "accountName": accountName,
            "src": name + ".enc", "sealedPath": sealedPath, "keyHref": String(repeating: "../", count: below) + "key.json",
        ]))
    }

    static func firstIndex(of needle: [UInt8], in hay: [UInt8], from: Int) -> Int? {
        guard needle.count <= hay.count else { return nil }
        var i = from
        while i <= hay.count - needle.count {
            if hay[i] == needle[0] && Array(hay[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }

    static func lastIndex(of needle: [UInt8], in hay: [UInt8]) -> Int? {
        guard needle.count <= hay.count else { return nil }
        var i = hay.count - needle.count
        while i >= 0 {
            if hay[i] == needle[0] && Array(hay[i..<(i + needle.count)]) == needle { return i }
            i -= 1
        }
        return nil
    }

    /// Publishes a sealed download (`name.enc`), opened and saved as `name` by the browser;
    /// text is compressed before sealing, workbooks (ZIP already) are not.
    func publishSealedFile(_ path: String, data: Data, account: String) throws {
        guard let key = dataKeys[account] else { throw SiteError("帳號 \(account) 沒有資料金鑰") }
        try publisher.publish(path + ".enc", try Envelope.seal(data, key: key, account: account, path: path + ".enc",
                                                               compress: !path.hasSuffix(".xlsx")))
    }
}
