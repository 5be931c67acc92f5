import Crypto
import Foundation
import DefermentCore
import DefermentSite
import DefermentStore

/// A clerk's own change to their account (帳號維護申請), made in the browser on the account's
/// 帳號維護 page: a new password (the data key wrapped again in the browser: the password never
/// leaves it), the contact person, phone, e-mail and notifications. It is authenticated with the
/// account's data key (HMAC-SHA256), which only someone who knew the old password could unwrap,
/// and names the wrapped key it replaces (`base`), so a request made before the last change
/// cannot undo it. It travels as a text block (in a mail body, an attachment or a file dropped
/// into `inbox/accounts/`):
///
///     -----BEGIN DEFERMENT ACCOUNT REQUEST-----
///     base64 of {"body": "<JSON>", "mac": "<base64>"}
///     -----END DEFERMENT ACCOUNT REQUEST-----
public struct AccountChangeRequest: Sendable, Equatable {
    public static let begin = "-----BEGIN DEFERMENT ACCOUNT REQUEST-----"
    public static let end = "-----END DEFERMENT ACCOUNT REQUEST-----"
    static let macLabel = "deferment-account-request|"

    public var account: String
    public var base: String
    public var issued: String
    /// The new wrapped key, as `key.json` holds it.
    public var newKey: Envelope.WrappedKey?
    public var contactName: String?
    public var contactPhone: String?
    public var contactEmail: String?
    public var notify: Bool?
    let body: String
    let mac: Data

    /// The request in a text, if the text holds a block; a block that is not a well-formed
    /// request is refused.
    public static func find(in text: String) throws -> AccountChangeRequest? {
        guard let start = text.range(of: begin), let stop = text.range(of: end, range: start.upperBound..<text.endIndex) else { return nil }
        let encoded = text[start.upperBound..<stop.lowerBound].filter { !$0.isWhitespace && $0 != ">" }
        struct Outer: Decodable { var body: String; var mac: String }
        struct Inner: Decodable {
            var v: Int; var account: String; var base: String; var issued: String
            var key: Envelope.WrappedKey?
            var name: String?; var phone: String?; var email: String?; var notify: String?
        }
        guard encoded.count < 16_384, let data = Data(base64Encoded: String(encoded)),
              let outer = try? JSONDecoder().decode(Outer.self, from: data), let mac = Data(base64Encoded: outer.mac),
              let inner = try? JSONDecoder().decode(Inner.self, from: Data(outer.body.utf8)), inner.v == 1 else {
            throw FileRejection(problem: "帳號維護申請的內容不完整或已被修改。", fix: "請在帳號維護頁重新產生申請，完整複製後寄出。")
        }
        return AccountChangeRequest(account: inner.account, base: inner.base, issued: inner.issued, newKey: inner.key,
                                    contactName: inner.name, contactPhone: inner.phone, contactEmail: inner.email,
                                    notify: inner.notify.flatMap { $0 == "on" ? true : ($0 == "off" ? false : nil) },
                                    body: outer.body, mac: mac)
    }

    /// The text block the 帳號維護 page makes (account.js), made here the same way: for the demo's
    /// clerk and for tools. `newPassword` wraps the data key again (600,000 rounds, a new salt).
    public static func block(account: String, dataKey: SymmetricKey, current: Envelope.WrappedKey, newPassword: String?,
                             name: String? = nil, phone: String? = nil, email: String? = nil, notify: Bool? = nil,
                             issued: Date = Date()) throws -> String {
        var body: [String: Any] = ["v": 1, "account": account, "base": fingerprint(of: current),
                                   "issued": ISO8601DateFormatter().string(from: issued)]
        if let newPassword {
            let key = try Envelope.wrap(dataKey, password: newPassword, account: account, rounds: Envelope.defaultRounds)
            body["key"] = try JSONSerialization.jsonObject(with: JSONEncoder().encode(key))
        }
        if let name { body["name"] = name }
        if let phone { body["phone"] = phone }
        if let email { body["email"] = email }
        if let notify { body["notify"] = notify ? "on" : "off" }
        let text = String(decoding: try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]), as: UTF8.self)
        let mac = HMAC<SHA256>.authenticationCode(for: Data((macLabel + text).utf8), using: dataKey)
        let outer = try JSONSerialization.data(withJSONObject: ["body": text, "mac": Data(mac).base64EncodedString()])
        let encoded = outer.base64EncodedString(options: [.lineLength76Characters, .endLineWithLineFeed])
        return begin + "\n" + encoded + "\n" + end + "\n"
    }

    /// Whether the request was made with this data key.
    public func verifies(with dataKey: SymmetricKey) -> Bool {
        HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Data((Self.macLabel + body).utf8), using: dataKey)
    }

    /// What a request names as the key it replaces: the first 32 hex digits of the SHA-256 of
    /// the published wrapped key (`key.json`'s `wrapped`).
    public static func fingerprint(of wrapped: Envelope.WrappedKey) -> String {
        SHA256.hash(data: Data(wrapped.wrapped.utf8)).map { String(format: "%02x", $0) }.joined().prefix(32).description
    }
}

extension Desk {
    /// Verifies and applies a clerk's request; confirmations go to the old and the new address.
    /// Returns the summary line; a request that does not verify, is stale or asks for something
    /// malformed is refused (``FileRejection``) and nothing changes.
    func applyAccountChangeRequest(_ request: AccountChangeRequest, requestDigest: String) throws -> String {
        guard PathGate.accepts(request.account, as: .schoolCode) || PathGate.accepts(request.account, as: .countyCode),
              let account = try accounts().first(where: { $0.code == request.account }) else {
            throw FileRejection(problem: "帳號維護申請的帳號不存在。", fix: "請由本系統網站的帳號維護頁產生申請。")
        }
        guard request.verifies(with: SymmetricKey(data: account.dataKey)) else {
            throw FileRejection(problem: "帳號維護申請無法驗證（不是以此帳號登入後產生，或內容已被修改）。", fix: "請登入帳號維護頁重新產生申請。")
        }
        let current = try JSONDecoder().decode(Envelope.WrappedKey.self, from: Data(account.wrappedKey.utf8))
        guard request.base == AccountChangeRequest.fingerprint(of: current) else {
            throw FileRejection(problem: "此帳號維護申請產生於帳號上次變更之前，已失效。", fix: "請以目前的密碼登入帳號維護頁，重新產生申請。")
        }
        var changes: [String] = []
        if let key = request.newKey {
            guard key.account == account.code, key.rounds >= Envelope.defaultRounds, Data(base64Encoded: key.salt)?.count ?? 0 >= 16,
                  Data(base64Encoded: key.wrapped)?.count == 12 + 32 + 16 else {
                throw FileRejection(problem: "新密碼的金鑰格式不符（需 PBKDF2 \(Envelope.defaultRounds) 次以上）。", fix: "請以最新版的網頁重新產生申請。")
            }
            changes.append("密碼")
        }
        func clean(_ text: String?, max: Int) throws -> String? {
            guard let text = text?.trimmingSpaces() else { return nil }
            guard text.count <= max, !text.unicodeScalars.contains(where: ShownText.isControl) else {
                throw FileRejection(problem: "聯絡資料過長或含控制字元。", fix: "請修改後重新產生申請。")
            }
            return text
        }
        let name = try clean(request.contactName, max: 40), phone = try clean(request.contactPhone, max: 30)
        let email = try clean(request.contactEmail, max: 254)
        if let email, !email.isEmpty, MIMEMessage.address(email) != email.lowercased() {
            throw FileRejection(problem: "電子郵件「\(email)」格式不正確。", fix: "請修改後重新產生申請。")
        }
        if let phone, !phone.allSatisfy({ $0.isNumber || "()-+# 轉".contains($0) }) {
            throw FileRejection(problem: "電話「\(phone)」格式不正確。", fix: "請只填數字、括號、連字號與分機（#）。")
        }
        if name != nil { changes.append("承辦人") }
        if phone != nil { changes.append("電話") }
        if email != nil { changes.append("電子郵件") }
        if request.notify != nil { changes.append("通知設定") }
        guard !changes.isEmpty else { throw FileRejection(problem: "帳號維護申請沒有任何變更。", fix: "請填寫要變更的項目後重新產生申請。") }
        let seedEmail = reference.counties.county(code: account.code)?.email ?? ""
        let oldAddress = account.contactEmail.isEmpty ? seedEmail : account.contactEmail
        try store.queue.write { db in
            if let key = request.newKey {
                try DeskStore.setWrappedKey(db, code: account.code, wrappedKey: String(decoding: try JSONEncoder().encode(key),
                    as: UTF8.self))
            }
            try DeskStore.setContact(db, code: account.code, name: name, email: email, notify: request.notify)
            if let phone { try DeskStore.setPhone(db, code: account.code, phone: phone) }
            let context: [String: Any] = ["code": account.code, "changes": changes.joined(separator: "、"), "issued": request.issued]
            for address in Set([oldAddress, email ?? ""].filter { MIMEMessage.address($0) != nil }) {
                try DeskStore.queueMail(db, key: "account-changed:\(requestDigest):\(address)", kind: "account-changed",
                    account: account.code,
                                        recipient: address, context: context)
            }
        }
        logger.info("帳號 \(account.code) 已由承辦人更新：\(changes.joined(separator: "、"))")
        return "帳號 \(account.code) 已更新：\(changes.joined(separator: "、"))"
    }
}
