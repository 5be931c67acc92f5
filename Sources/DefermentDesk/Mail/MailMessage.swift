import Foundation
import DefermentSite

/// A notification e-mail (通知信) as RFC 5322 text: UTF-8 headers encoded as RFC 2047
/// encoded-words, a text/plain body in base64.
public struct MailMessage: Sendable, Equatable {
    /// A display name and an address.
    public struct Mailbox: Sendable, Equatable {
        public var name: String
        public var address: String
        public init(name: String = "", address: String) {
            self.name = name
            self.address = address
        }
    }

    public var from: Mailbox
    public var to: Mailbox
    public var subject: String
    public var body: String
    public var date: Date
    /// Without angle brackets; stable per message so a receiver can drop a duplicate.
    public var messageID: String
    /// Extra headers (ASCII names and values), e.g. `X-Deferment-Kind`.
    public var extraHeaders: [(String, String)] = []

    public init(from: Mailbox, to: Mailbox, subject: String, body: String, date: Date, messageID: String,
                extraHeaders: [(String, String)] = []) {
        self.from = from
        self.to = to
        self.subject = subject
        self.body = body
        self.date = date
        self.messageID = messageID
        self.extraHeaders = extraHeaders
    }

    public static func == (a: MailMessage, b: MailMessage) -> Bool {
        a.from == b.from && a.to == b.to && a.subject == b.subject && a.body == b.body && a.date == b.date && a.messageID == b.messageID
    }

    /// The message's bytes, lines ending in CRLF; header lines folded within 78 characters.
    public var rfc5322: Data {
        var lines: [String] = []
        lines.append(Self.fold("From: " + Self.mailbox(from, used: 6)))
        lines.append(Self.fold("To: " + Self.mailbox(to, used: 4)))
        lines.append(Self.fold("Subject: " + Self.encodedWords(subject, firstLineUsed: "Subject: ".count)))
        lines.append("Date: " + Self.rfc5322Date(date))
        lines.append("Message-ID: <\(messageID)>")
        lines.append("MIME-Version: 1.0")
        lines.append("Content-Type: text/plain; charset=UTF-8")
        lines.append("Content-Transfer-Encoding: base64")
        for (name, value) in extraHeaders { lines.append(Self.fold("\(name): \(value)")) }
        var text = lines.joined(separator: "\r\n") + "\r\n\r\n"
        let normalised = body.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n")
        let encoded = Data(normalised.utf8).base64EncodedString()
        var i = encoded.startIndex
        while i < encoded.endIndex {
            let j = encoded.index(i, offsetBy: 76, limitedBy: encoded.endIndex) ?? encoded.endIndex
            text += encoded[i..<j] + "\r\n"
            i = j
        }
        return Data(text.utf8)
    }

    static func mailbox(_ m: Mailbox, used: Int) -> String {
        guard !m.name.isEmpty else { return "<\(m.address)>" }
        if m.name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == " ") }) { return "\(m.name) <\(m.address)>" }
        return encodedWords(m.name, firstLineUsed: used) + " <\(m.address)>"
    }

    /// RFC 2047 `=?UTF-8?B?…?=` words split on character boundaries: the first fits on the
    /// header's first line after `firstLineUsed` characters, the others (each on a continuation
    /// line) are at most 75 characters. Plain ASCII text without specials is left as it is.
    static func encodedWords(_ text: String, firstLineUsed: Int) -> String {
        if text.allSatisfy({ $0.isASCII && $0 != "=" && $0 != "?" && !$0.isNewline }) && text.count + firstLineUsed <= 78 { return text }
        // An encoded word is 12 characters plus 4 per 3 bytes.
        func budget(_ width: Int) -> Int { max(3, 3 * ((width - 12) / 4)) }
        var limit = budget(78 - firstLineUsed)
        var words: [String] = []
        var chunk = ""
        for ch in text where !ch.isNewline {
            if !chunk.isEmpty && (chunk + String(ch)).utf8.count > limit {
                words.append("=?UTF-8?B?" + Data(chunk.utf8).base64EncodedString() + "?=")
                chunk = ""
                limit = budget(75)
            }
            chunk.append(ch)
        }
        if !chunk.isEmpty { words.append("=?UTF-8?B?" + Data(chunk.utf8).base64EncodedString() + "?=") }
        return words.joined(separator: " ")
    }

    /// Folds a header at spaces so no line passes 78 characters where a space allows it; the
    /// first word after the field name always stays on the first line.
    static func fold(_ header: String) -> String {
        var lines: [String] = []
        var current = ""
        var words = 0
        for word in header.split(separator: " ", omittingEmptySubsequences: false) {
            if words >= 2 && current.count + 1 + word.count > 78 {
                lines.append(current)
                current = " " + word
            } else {
                current += (current.isEmpty ? "" : " ") + word
            }
            words += 1
        }
        lines.append(current)
        return lines.joined(separator: "\r\n")
    }

    static func rfc5322Date(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "Asia/Taipei")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return f.string(from: date)
    }
}

/// The e-mail templates of `templates/mail/` (plain text, zh-TW). Each file's first line is
/// `Subject: …`; the body follows a blank line. Values are inserted as they are (no HTML escaping).
public struct MailTemplates: @unchecked Sendable {
    let renderer: MustacheRenderer
    let directory: URL

    public init(directory: URL) throws {
        self.directory = directory
        var templates: [String: String] = [:]
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasSuffix(".mustache") }
        for name in names {
            templates[String(name.dropLast(".mustache".count))] = try String(contentsOf: directory.appendingPathComponent(name),
                                                                             encoding: .utf8)
        }
        do { renderer = try MustacheRenderer(templates: templates, escapesHTML: false) } catch { throw SiteError("郵件樣板語法錯誤：\(error)") }
    }

    /// Renders a template into its subject and body.
    public func render(_ name: String, _ context: [String: Any]) throws -> (subject: String, body: String) {
        guard renderer.has(name) else {
            throw SiteError("缺少郵件樣板 \(directory.appendingPathComponent(name + ".mustache").path)（樣板資料夾以 --templates 指定）")
        }
        let text = renderer.render(name, context)
        guard text.hasPrefix("Subject:"), let end = text.range(of: "\n") else {
            throw SiteError("郵件樣板 templates/mail/\(name).mustache 的第一行須為「Subject: 主旨」")
        }
        let subject = text[text.index(text.startIndex, offsetBy: 8)..<end.lowerBound].trimmingCharacters(in: .whitespaces)
        let body = text[end.upperBound...].drop { $0 == "\n" }
        return (subject, String(body))
    }
}
