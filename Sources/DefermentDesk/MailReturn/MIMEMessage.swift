import Foundation
import DefermentFiles

/// An e-mail message as the desk reads it (郵件): its headers, and the attachments found in it,
/// however deep (multipart/mixed, a forwarded message/rfc822 inside), decoded from base64 or
/// quoted-printable, with file names in RFC 2231 or RFC 2047 form (UTF-8 or Big5), as Outlook,
/// Gmail and Thunderbird send them (RFC 5322, RFC 2045–2047, RFC 2231).
public struct MIMEMessage: Sendable {
    /// One attached file.
    public struct Attachment: Sendable, Equatable {
        public var fileName: String
        public var contentType: String
        public var data: Data
    }

    /// Why a message could not be read.
    public struct Unreadable: Error, CustomStringConvertible {
        public var description: String
    }

    /// Header fields, names lowercased, unfolded, in order.
    public var headers: [(name: String, value: String)] = []
    public var attachments: [Attachment] = []
    /// The text parts that are not attachments (the message's body), decoded.
    public var texts: [String] = []

    /// Limits against hostile messages.
    static let maxBytes = 64 << 20, maxDepth = 8, maxParts = 200

    public init(_ raw: Data) throws {
        guard raw.count <= Self.maxBytes else { throw Unreadable(description: "郵件超過 \(Self.maxBytes >> 20) MB") }
        var parts = 0
        let (headers, body) = Self.split(Array(raw))
        self.headers = headers
        try Self.collect(headers: headers, body: body, depth: 0, parts: &parts, into: &attachments, texts: &texts)
    }

    /// The first value of a header.
    public func header(_ name: String) -> String? { headers.first { $0.name == name.lowercased() }?.value }

    /// The sender's address (From), lowercased, when it has the form of one.
    public var senderAddress: String? { header("from").flatMap(Self.address) }

    /// The Message-ID without its angle brackets.
    public var messageID: String? {
        header("message-id").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " <>\t")) }.flatMap { $0.isEmpty ? nil : $0 }
    }

    // MARK: - Structure

    static func split(_ bytes: [UInt8]) -> (headers: [(name: String, value: String)], body: ArraySlice<UInt8>) {
        var end = bytes.count, bodyStart = bytes.count
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0x0A {
                if i + 1 < bytes.count && bytes[i + 1] == 0x0A { end = i; bodyStart = i + 2; break }
                if i + 2 < bytes.count && bytes[i + 1] == 0x0D && bytes[i + 2] == 0x0A { end = i; bodyStart = i + 3; break }
            }
            i += 1
        }
        // Line breaks as LF only (CRLF is one Character in Swift, which "\n" would not split).
        let text = String(decoding: bytes[0..<end].filter { $0 != 0x0D }, as: UTF8.self)
        var headers: [(String, String)] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if let first = line.first, first == " " || first == "\t", !headers.isEmpty {
                headers[headers.count - 1].1 += " " + line.trimmingCharacters(in: .whitespacesAndNewlines)
            } else if let colon = line.firstIndex(of: ":") {
                headers.append((line[..<colon].trimmingCharacters(in: .whitespacesAndNewlines).lowercased(),
                                line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)))
            }
        }
        return (headers, bytes[min(bodyStart, bytes.count)...])
    }

    static func collect(headers: [(name: String, value: String)], body: ArraySlice<UInt8>, depth: Int, parts: inout Int,
                        into found: inout [Attachment], texts: inout [String]) throws {
        parts += 1
        guard depth <= maxDepth, parts <= maxParts else { throw Unreadable(description: "郵件結構過深或部分過多") }
        let typeHeader = headers.first { $0.name == "content-type" }?.value ?? "text/plain"
        let (type, params) = parameters(typeHeader)
        if type.hasPrefix("multipart/") {
            guard let boundary = params["boundary"], !boundary.isEmpty else { throw Unreadable(description: "multipart 缺少 boundary") }
            for part in multipartBodies(body, boundary: boundary) {
                let (h, b) = split(Array(part))
                try collect(headers: h, body: b, depth: depth + 1, parts: &parts, into: &found, texts: &texts)
            }
            return
        }
        let encoding = (headers.first { $0.name == "content-transfer-encoding" }?.value ?? "7bit").lowercased()
        let decoded = try decode(body, encoding: encoding)
        if type == "message/rfc822" {
            let (h, b) = split(Array(decoded))
            try collect(headers: h, body: b, depth: depth + 1, parts: &parts, into: &found, texts: &texts)
            return
        }
        let disposition = parameters(headers.first { $0.name == "content-disposition" }?.value ?? "").1
        guard let name = disposition["filename"] ?? params["name"], !name.isEmpty else {
            if type == "text/plain" { texts.append(decodeText(decoded, charset: params["charset"]?.lowercased() ?? "utf-8")) }
            return
        }
        found.append(Attachment(fileName: name, contentType: type, data: decoded))
    }

    /// The bodies between `--boundary` lines.
    static func multipartBodies(_ body: ArraySlice<UInt8>, boundary: String) -> [ArraySlice<UInt8>] {
        let marker = Array(("--" + boundary).utf8)
        var starts: [(lineStart: Int, afterLine: Int, final: Bool)] = []
        var i = body.startIndex
        var lineStart = i
        while i <= body.endIndex {
            if i == body.endIndex || body[i] == 0x0A {
                var line = body[lineStart..<i]
                if line.last == 0x0D { line = line.dropLast() }
                if line.starts(with: marker) {
                    let rest = line.dropFirst(marker.count)
                    let final = rest.starts(with: [0x2D, 0x2D])
                    if final || rest.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
                        starts.append((lineStart, min(i + 1, body.endIndex), final))
                        if final { break }
                    }
                }
                lineStart = i + 1
            }
            i += 1
        }
        var bodies: [ArraySlice<UInt8>] = []
        for k in 0..<max(0, starts.count - 1) where !starts[k].final {
            var end = starts[k + 1].lineStart
            // The line break before a boundary belongs to the boundary.
            if end > starts[k].afterLine && body[end - 1] == 0x0A { end -= 1 }
            if end > starts[k].afterLine && body[end - 1] == 0x0D { end -= 1 }
            bodies.append(body[starts[k].afterLine..<max(end, starts[k].afterLine)])
        }
        return bodies
    }

    // MARK: - Encodings

    static func decode(_ body: ArraySlice<UInt8>, encoding: String) throws -> Data {
        switch encoding {
        case "base64":
            let cleaned = body.filter { $0 != 0x0A && $0 != 0x0D && $0 != 0x20 && $0 != 0x09 }
            guard let data = Data(base64Encoded: Data(cleaned), options: .ignoreUnknownCharacters) else {
                throw Unreadable(description: "附件的 base64 編碼有誤")
            }
            return data
        case "quoted-printable":
            return quotedPrintable(body, underscoreIsSpace: false)
        default:
            return Data(body)
        }
    }

    static func quotedPrintable<Bytes: Collection<UInt8>>(_ bytes: Bytes, underscoreIsSpace: Bool) -> Data {
        let b = Array(bytes)
        var out = Data()
        var i = 0
        func hex(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x41...0x46: return c - 0x37
            case 0x61...0x66: return c - 0x57
            default: return nil
            }
        }
        while i < b.count {
            let c = b[i]
            if c == 0x3D {
                if i + 1 < b.count && b[i + 1] == 0x0A { i += 2; continue }                       // soft break
                if i + 2 < b.count && b[i + 1] == 0x0D && b[i + 2] == 0x0A { i += 3; continue }
                if i + 2 < b.count, let h = hex(b[i + 1]), let l = hex(b[i + 2]) { out.append(h << 4 | l); i += 3; continue }
            }
            if c == 0x0A && !underscoreIsSpace {
                // A hard line break is CRLF in canonical text (RFC 2045 6.7), whatever the store used.
                if out.last != 0x0D { out.append(0x0D) }
                out.append(0x0A)
                i += 1
                continue
            }
            out.append(underscoreIsSpace && c == 0x5F ? 0x20 : c)
            i += 1
        }
        return out
    }

    /// A header value's type and parameters, with RFC 2231 (`name*=charset''%XX`, continuations
    /// `name*0*=`) and RFC 2047 (`=?charset?B?…?=`) values decoded.
    static func parameters(_ value: String) -> (String, [String: String]) {
        var pieces: [String] = []
        var current = "", quoted = false, escaped = false
        for ch in value {
            if escaped { current.append(ch); escaped = false; continue }
            if ch == "\\" && quoted { escaped = true; continue }
            if ch == "\"" { quoted.toggle(); continue }
            if ch == ";" && !quoted { pieces.append(current); current = ""; continue }
            current.append(ch)
        }
        pieces.append(current)
        let type = pieces.first?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        var plain: [String: String] = [:]
        var extended: [String: [(Int, String, Bool)]] = [:]
        for piece in pieces.dropFirst() {
            guard let eq = piece.firstIndex(of: "=") else { continue }
            var key = piece[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            let raw = piece[piece.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            var encoded = false
            if key.hasSuffix("*") { encoded = true; key.removeLast() }
            if let star = key.firstIndex(of: "*"), let n = Int(key[key.index(after: star)...]) {
                extended[String(key[..<star]), default: []].append((n, raw, encoded))
            } else if encoded {
                extended[key, default: []].append((0, raw, true))
            } else {
                plain[key] = encodedWords(raw)
            }
        }
        for (key, sections) in extended {
            var charset = "utf-8"
            var bytes = Data()
            for (k, (_, raw, encoded)) in sections.sorted(by: { $0.0 < $1.0 }).enumerated() {
                var text = Substring(raw)
                if encoded && k == 0, let first = text.firstIndex(of: "'"),
                    let second = text[text.index(after: first)...].firstIndex(of: "'") {
                    charset = text[..<first].lowercased()
                    text = text[text.index(after: second)...]
                }
                bytes.append(encoded ? percentDecoded(text) : Data(text.utf8))
            }
            plain[key] = decodeText(bytes, charset: charset)
        }
        return (type, plain)
    }

    static func percentDecoded(_ text: Substring) -> Data {
        var out = Data()
        let b = Array(text.utf8)
        var i = 0
        while i < b.count {
            if b[i] == 0x25, i + 2 < b.count, let v = UInt8(String(decoding: b[(i + 1)...(i + 2)], as: UTF8.self), radix: 16) {
                out.append(v); i += 3
            } else {
                out.append(b[i]); i += 1
            }
        }
        return out
    }

    /// Decodes RFC 2047 encoded words (`=?UTF-8?B?…?=`, `=?Big5?Q?…?=`) in a text; the space
    /// between two encoded words is dropped, as the RFC says.
    static func encodedWords(_ text: String) -> String {
        guard text.contains("=?") else { return text }
        var result = "", rest = Substring(text), lastWasWord = false
        while let open = rest.range(of: "=?") {
            let tail = rest[open.upperBound...]
            guard let q1 = tail.firstIndex(of: "?"), q1 < tail.endIndex,
                  let q2 = tail[tail.index(after: q1)...].firstIndex(of: "?"),
                  let close = tail[tail.index(after: q2)...].range(of: "?=") else { break }
            let before = rest[..<open.lowerBound]
            if !(lastWasWord && before.allSatisfy({ $0 == " " || $0 == "\t" })) { result += before }
            let payload = tail[tail.index(after: q2)..<close.lowerBound]
            let bytes = tail[tail.index(after: q1)..<q2].uppercased() == "B"
                ? (Data(base64Encoded: String(payload), options: .ignoreUnknownCharacters) ?? Data())
                : quotedPrintable(Array(payload.utf8), underscoreIsSpace: true)
            result += decodeText(bytes, charset: tail[..<q1].lowercased())
            rest = tail[close.upperBound...]
            lastWasWord = true
        }
        return result + rest
    }

    static func decodeText(_ bytes: Data, charset: String) -> String {
        switch charset {
        case "big5", "cp950", "big5-hkscs", "x-big5": return CP950Decoder.decode(bytes) ?? String(decoding: bytes, as: UTF8.self)
        default: return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// An address from a From value (`名稱 <a@b.tw>` or `a@b.tw`), lowercased, if it has the form
    /// local@domain with only the characters addresses use.
    static func address(_ value: String) -> String? {
        var text = value
        if let open = value.lastIndex(of: "<"), let close = value.lastIndex(of: ">"), open < close {
            text = String(value[value.index(after: open)..<close])
        }
        let candidate = text.trimmingCharacters(in: .whitespaces).lowercased()
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyz0123456789.-_+@")
        let parts = candidate.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), candidate.count <= 254,
              candidate.unicodeScalars.allSatisfy(allowed.contains) else { return nil }
        return candidate
    }
}
