import Crypto
import Foundation
import DefermentCore
import DefermentFiles
import DefermentSite
import DefermentStore
#if canImport(Glibc)
import Glibc
#endif

/// Counties return decision workbooks by e-mail (以電子郵件回傳審核名冊): the desk reads a Maildir
/// (what Postfix, Dovecot, fetchmail and getmail deliver into), routes every workbook attachment
/// by the token inside it to `inbox/decisions/<county>/`, where the runner handles it exactly as a
/// dropped file, and answers each sender with a receipt (收件回條) once the file is handled.
extension Desk {
    /// The Maildir read (`mail_inbox` in settings.csv, relative to the root; default `inbox/mail`).
    public var mailInbox: URL {
        let setting = reference.settings["mail_inbox"] ?? ""
        if setting.hasPrefix("/") { return URL(fileURLWithPath: setting) }
        return paths.root.appendingPathComponent(setting.isEmpty ? "inbox/mail" : setting)
    }

    /// The address clerks reply to (`mail_return_address`; default the sender address).
    public var mailReturnAddress: String {
        reference.settings["mail_return_address"].flatMap { $0.isEmpty ? nil : $0 } ?? mailSettings.from.address
    }

    /// Addresses the operator allowed for a county besides its own (`mail_allowed_senders`:
    /// `63000:a@x.gov.tw 64000:b@y.gov.tw`).
    func allowedSenders(county: String) -> Set<String> {
        var found: Set<String> = []
        for entry in (reference.settings["mail_allowed_senders"] ?? "").split(whereSeparator: { $0 == " " || $0 == "," }) {
            let parts = entry.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0] == county { found.insert(parts[1].lowercased()) }
        }
        return found
    }

    /// Takes every message in the Maildir's `new/`: its workbooks go to the decision folders, the
    /// message to `cur/` marked seen (`:2,S`); one that cannot be read is kept, flagged (`:2,F`)
    /// and reported; one taken before (same Message-ID, or same bytes) is not taken again.
    func takeMail(into summary: inout RunSummary) {
        let maildir = mailInbox
        let new = maildir.appendingPathComponent("new")
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: new.path)) ?? []).sorted() where !name.hasPrefix(".") {
            let url = new.appendingPathComponent(name)
            var st = stat()
            guard lstat(url.path, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { continue }
            do {
                let raw = try Data(contentsOf: url)
                let message = try MIMEMessage(raw)
                if let line = try takeMessage(message, raw: raw) {
                    summary.files.append(FileOutcome(kind: .accounts, name: "郵件：帳號維護申請", result: .applied(line), roster: nil))
                }
                moveToCur(url, name: name, flag: "S")
            } catch {
                logger.error("無法讀取的郵件（保留於 \(maildir.lastPathComponent)/cur/，標記 F）：\(name.prefix(40))：\(error)")
                moveToCur(url, name: name, flag: "F")
            }
        }
    }

    private func moveToCur(_ url: URL, name: String, flag: Character) {
        let base = name.split(separator: ":", maxSplits: 1).first.map(String.init) ?? name
        let target = mailInbox.appendingPathComponent("cur/\(base):2,\(flag)")
        _ = rename(url.path, target.path)
    }

    /// Takes one message; returns the summary line when it changed an account.
    private func takeMessage(_ message: MIMEMessage, raw: Data) throws -> String? {
        let key = message.messageID ?? ("sha256:" + Self.hex(SHA256.hash(data: raw)))
        guard try !store.queue.read({ try DeskStore.mailMessageSeen($0, key: key) }) else {
            logger.info("郵件已處理過，不再處理（Message-ID 相同）")
            return nil
        }
        guard let sender = message.senderAddress else { throw MIMEMessage.Unreadable(description: "寄件者地址無法辨識") }
        let workbooks = message.attachments.filter { a in
            let lower = a.fileName.lowercased()
            return lower.hasSuffix(".xlsx") || lower.hasSuffix(".csv")
        }
        if workbooks.isEmpty {
            let texts = message.texts + message.attachments.filter { $0.fileName.lowercased().hasSuffix(".txt") }
                .map { String(decoding: $0.data, as: UTF8.self) }
            for text in texts where text.contains(AccountChangeRequest.begin) {
                return try takeAccountRequest({ try AccountChangeRequest.find(in: text) }, key: key, sender: sender)
            }
        }
        var returns: [(county: String?, name: String, digest: String?, refusal: String?)] = []
        var drops: [(URL, Data)] = []
        for attachment in workbooks {
            let shown = ShownText.escaped(String(attachment.fileName.unicodeScalars.filter { !ShownText.isControl($0) }.prefix(120)))
            let digest = Self.hex(SHA256.hash(data: attachment.data))
            switch try route(attachment, sender: sender) {
            case .refused(let why):
                returns.append((nil, shown, nil, why))
            case .county(let county):
                let ext = attachment.fileName.lowercased().hasSuffix(".csv") ? "csv" : "xlsx"
                drops.append((paths.decisions(county: county).appendingPathComponent("回傳-\(digest.prefix(16)).\(ext)"), attachment.data))
                returns.append((county, shown, digest, nil))
            }
        }
        // The files first: a message is recorded as taken only once its workbooks are in place.
        for (target, data) in drops where !FileManager.default.fileExists(atPath: target.path) {
            let temporary = target.deletingLastPathComponent().appendingPathComponent(".\(target.lastPathComponent).tmp")
            try data.write(to: temporary)
            guard rename(temporary.path, target.path) == 0 else { throw MIMEMessage.Unreadable(description: "無法放入審核名冊資料夾") }
            renamedIn.insert(target.path)
        }
        try store.queue.write { db in
            try DeskStore.recordMailMessage(db, key: key)
            for r in returns {
                try DeskStore.addMailReturn(db, messageKey: key, sender: sender, county: r.county, fileName: r.name,
                    fileDigest: r.digest, refusal: r.refusal)
            }
            if workbooks.isEmpty {
                try DeskStore.queueMail(db, key: "mail-no-workbook:\(key)", kind: "mail-no-workbook", account: "", recipient: sender,
                    context: [
                    "returnAddress": mailReturnAddress, "link": mailSettings.siteBaseURL + "counties/",
                ])
            }
        }
        logger.info("已收郵件：審核名冊附件 \(drops.count) 份轉入縣市資料夾，\(returns.count - drops.count) 份退回")
        return nil
    }

    /// A clerk's 帳號維護申請 in a message's body or a .txt attachment: applied, or refused with a
    /// reply to the sender saying why.
    private func takeAccountRequest(_ read: () throws -> AccountChangeRequest?, key: String, sender: String) throws -> String? {
        let digest = Self.hex(SHA256.hash(data: Data(key.utf8)))
        do {
            guard let request = try read() else { return nil }
            let line = try applyAccountChangeRequest(request, requestDigest: digest)
            try store.queue.write { try DeskStore.recordMailMessage($0, key: key) }
            return line
        } catch let refusal as FileRejection {
            try store.queue.write { db in
                try DeskStore.recordMailMessage(db, key: key)
                try DeskStore.queueMail(db, key: "account-request-refused:\(key)", kind: "account-request-refused", account: "",
                    recipient: sender,
                                        context: ["problem": refusal.problem, "fix": refusal.fix])
            }
            logger.warning("帳號維護申請退回：\(refusal.problem)")
            return nil
        }
    }

    private enum Route { case county(String), refused(String) }

    /// Where a workbook attachment goes: the county its token names, if the sender may send it.
    private func route(_ attachment: MIMEMessage.Attachment, sender: String) throws -> Route {
        let kind = attachment.fileName.lowercased().hasSuffix(".csv") ? "csv" : "xlsx"
        let scratch = paths.state.appendingPathComponent("queue/mail-\(UUID().uuidString).\(kind)")
        try attachment.data.write(to: scratch)
        defer { unlink(scratch.path) }
        let tokenText: String?
        do { tokenText = try ReturnedDecisions.read(scratch).tokenText } catch { tokenText = nil }
        guard let text = tokenText, !text.isEmpty, let token = DecisionToken.verify(text, key: try decisionTokenKey()),
              let county = reference.counties.county(code: token.county) else {
            return .refused("不是本系統的審核名冊（找不到有效的驗證碼）。請附上從縣市審核頁面下載、填寫後存檔的審核名冊（.xlsx），勿修改驗證碼。")
        }
        let registered = try store.queue.read { try DeskStore.countyAddresses($0, county: county.code) }
        let allowed = registered.union(allowedSenders(county: county.code))
        guard allowed.contains(sender) else {
            return .refused("寄件信箱不是\(county.name)登記的承辦信箱，未處理。請由登記的信箱寄出，或請系統管理者將此信箱加入 mail_allowed_senders。")
        }
        return .county(county.code)
    }

    /// Queues a receipt for every returned attachment that is now handled (or was refused before
    /// reaching the runner): in the run that applied it.
    func queueReceipts() throws {
        let waiting = try store.queue.read { try DeskStore.returnsAwaitingReceipt($0) }
        guard !waiting.isEmpty else { return }
        try store.queue.write { db in
            for r in waiting {
                var context: [String: Any] = ["fileName": r.fileName, "receivedAt": r.receivedAt, "returnAddress": mailReturnAddress]
                let countyName = r.county.flatMap { reference.counties.county(code: $0)?.name } ?? ""
                context["countyName"] = countyName
                context["link"] = mailSettings.siteBaseURL + (r.county.map { "counties/\($0)/" } ?? "counties/")
                if let refusal = r.refusal {
                    context["status"] = "退件"
                    context["summary"] = "此附件未處理。"
                    context["problems"] = [["line": refusal]]
                } else if let digest = r.fileDigest, let notice = try DeskStore.notice(db, fileDigest: digest) {
                    context["status"] = !notice.accepted ? "退件" : (notice.summary.hasPrefix("已核定") ? "已核定" : "陳核中")
                    context["summary"] = notice.summary
                    context["problems"] = notice.problems.map { ["line": $0] }
                } else {
                    continue   // still queued or held: the receipt waits for its outcome
                }
                try DeskStore.queueMail(db, key: "receipt:\(r.id)", kind: "county-receipt", account: r.county ?? "", recipient: r.sender,
                                        context: context)
                try DeskStore.markReceiptQueued(db, id: r.id)
            }
        }
    }

    static func hex<D: Sequence<UInt8>>(_ digest: D) -> String { digest.map { String(format: "%02x", $0) }.joined() }
}
