import Crypto
import Foundation
import DefermentCore
import DefermentSite

/// The demo's mail (示範郵件): messages the demo's clerks send, delivered into the desk's Maildir
/// the way a mail server does (written in `tmp/`, renamed into `new/`), built as a mail client
/// builds them (multipart/mixed, a base64 attachment with an RFC 2231 name).
enum DemoMail {
    /// Delivers a message from `from` with `body` and, optionally, one attachment.
    static func deliver(to maildir: URL, from: String, to: String, subject: String, body: String,
                        attachment: (name: String, data: Data)? = nil) throws {
        let boundary = "demo-" + UUID().uuidString
        var text = """
        From: \(from)\r
        To: \(to)\r
        Subject: =?UTF-8?B?\(Data(subject.utf8).base64EncodedString())?=\r
        Message-ID: <\(UUID().uuidString)@demo.example>\r
        MIME-Version: 1.0\r
        Content-Type: multipart/mixed; boundary="\(boundary)"\r
        \r
        --\(boundary)\r
        Content-Type: text/plain; charset=utf-8\r
        Content-Transfer-Encoding: base64\r
        \r
        \(Data(body.utf8).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed]))\r

        """
        if let attachment {
            let encodedName = attachment.name.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "workbook.xlsx"
            text += """
            --\(boundary)\r
            Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r
            Content-Disposition: attachment; filename*=UTF-8''\(encodedName)\r
            Content-Transfer-Encoding: base64\r
            \r
            \(attachment.data.base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed]))\r

            """
        }
        text += "--\(boundary)--\r\n"
        for sub in ["tmp", "new", "cur"] { try FileManager.default.createDirectory(at: maildir.appendingPathComponent(sub),
            withIntermediateDirectories: true) }
        let name = "\(Int(Date().timeIntervalSince1970)).\(UUID().uuidString).demo"
        let temporary = maildir.appendingPathComponent("tmp/\(name)")
        try Data(text.utf8).write(to: temporary)
        try FileManager.default.moveItem(at: temporary, to: maildir.appendingPathComponent("new/\(name)"))
    }

    /// A school clerk changes the account's password on the 帳號維護 page and mails the request.
    static func changePassword(desk: Desk, school: String, newPassword: String) throws {
        _ = try desk.ensureAccounts()
        guard let account = try desk.accounts().first(where: { $0.code == school }) else { return }
        let current = try JSONDecoder().decode(Envelope.WrappedKey.self, from: Data(account.wrappedKey.utf8))
        let block = try AccountChangeRequest.block(account: school, dataKey: SymmetricKey(data: account.dataKey), current: current,
                                                   newPassword: newPassword, name: "示範承辦人")
        try deliver(to: desk.mailInbox, from: "clerk-\(school)@example.edu.tw", to: desk.mailReturnAddress, subject: "帳號維護申請 \(school)",
                    body: "您好，附上帳號維護申請。\n\n" + block)
    }
}
