/// Events of the streaming XML tokenizer.
enum XMLEvent {
    /// A start tag: its local name (namespace prefix dropped) and attributes by local name.
    case start(name: String, attributes: [(String, String)], selfClosing: Bool)
    /// An end tag's local name.
    case end(name: String)
    /// Character data, entities decoded.
    case text(String)
}

/// Why an XML part was refused.
public enum XMLSafetyError: Error, Equatable {
    /// A DOCTYPE or entity declaration: refused to prevent external-entity and entity-expansion attacks.
    case doctype
    /// Broken markup.
    case malformed(String)
    /// An element, attribute or text larger than any spreadsheet needs.
    case tokenTooLarge
}

/// A small push tokenizer for the XML parts of a spreadsheet.
///
/// It is fed chunks as they are decompressed and never holds a whole part in memory, only the
/// token being read. It refuses DOCTYPE and entity declarations outright, so neither external
/// entities nor "billion laughs" expansion can happen; it knows only the five predefined entities
/// and character references.
final class StreamingXMLTokenizer {
    private var buffer: [UInt8] = []
    private var position = 0
    private let handler: (XMLEvent) throws -> Void
    /// Longest single token accepted (a shared string or a cell value is far shorter).
    static let maximumTokenBytes = 8 * 1024 * 1024

    init(handler: @escaping (XMLEvent) throws -> Void) {
        self.handler = handler
    }

    /// Feeds the next chunk of bytes.
    func feed<C: Collection>(_ bytes: C) throws where C.Element == UInt8 {
        if position > 0 && position >= buffer.count / 2 {
            buffer.removeSubrange(0..<position)
            position = 0
        }
        buffer.append(contentsOf: bytes)
        try drain(final: false)
        if buffer.count - position > Self.maximumTokenBytes { throw XMLSafetyError.tokenTooLarge }
    }

    /// Signals the end of the input.
    func finish() throws {
        try drain(final: true)
    }

    private func find(_ buf: UnsafeBufferPointer<UInt8>, _ needle: [UInt8], from start: Int) -> Int? {
        let n = needle.count
        guard buf.count >= n else { return nil }
        var i = start
        let first = needle[0]
        while i <= buf.count - n {
            if buf[i] == first {
                var match = true
                for k in 1..<n where buf[i + k] != needle[k] { match = false; break }
                if match { return i }
            }
            i += 1
        }
        return nil
    }

    private func drain(final: Bool) throws {
        // One pointer for the whole pass: no exclusivity checks or copies per byte.
        try buffer.withUnsafeBufferPointer { buf in try drain(buf, final: final) }
    }

    private func drain(_ buf: UnsafeBufferPointer<UInt8>, final: Bool) throws {
        while position < buf.count {
            if buf[position] != UInt8(ascii: "<") {
                // Text up to the next tag.
                var i = position
                while i < buf.count && buf[i] != UInt8(ascii: "<") { i += 1 }
                if i == buf.count && !final { return }
                try handler(.text(try decodeEntities(buf, position..<i)))
                position = i
                continue
            }
            // A markup token starting at `position`.
            guard position + 1 < buf.count else { if final { throw XMLSafetyError.malformed("unexpected end") }; return }
            let next = buf[position + 1]
            if next == UInt8(ascii: "?") {
                guard let e = find(buf, Array("?>".utf8),
                                   from: position + 2) else { if final { throw XMLSafetyError.malformed("pi") }; return }
                position = e + 2
            } else if next == UInt8(ascii: "!") {
                guard position + 3 < buf.count else { if final { throw XMLSafetyError.malformed("decl") }; return }
                if buf[position + 2] == UInt8(ascii: "-") {
                    guard let e = find(buf, Array("-->".utf8),
                                       from: position + 4) else { if final { throw XMLSafetyError.malformed("comment") }; return }
                    position = e + 3
                } else if buf[position + 2] == UInt8(ascii: "[") {
                    guard let e = find(buf, Array("]]>".utf8),
                                       from: position + 9) else { if final { throw XMLSafetyError.malformed("cdata") }; return }
                    let text = String(decoding: buf[(position + 9)..<e], as: UTF8.self)
                    try handler(.text(text))
                    position = e + 3
                } else {
                    throw XMLSafetyError.doctype
                }
            } else {
                guard let close = findTagEnd(buf, from: position + 1) else { if final { throw XMLSafetyError.malformed("tag") }; return }
                try emitTag(buf, position + 1..<close)
                position = close + 1
            }
        }
    }

    /// The index of the `>` that closes a tag, skipping quoted attribute values.
    private func findTagEnd(_ buf: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        var i = start
        var quote: UInt8 = 0
        while i < buf.count {
            let b = buf[i]
            if quote != 0 {
                if b == quote { quote = 0 }
            } else if b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") {
                quote = b
            } else if b == UInt8(ascii: ">") {
                return i
            }
            i += 1
        }
        return nil
    }

    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }

    private func localName(_ buf: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String {
        var start = range.lowerBound
        for i in range where buf[i] == UInt8(ascii: ":") { start = i + 1 }
        // The worksheet's own names, without decoding: most tags of a large part are these.
        let n = range.upperBound - start
        if n == 1 {
            switch buf[start] {
            case UInt8(ascii: "c"): return "c"
            case UInt8(ascii: "v"): return "v"
            case UInt8(ascii: "t"): return "t"
            case UInt8(ascii: "r"): return "r"
            case UInt8(ascii: "s"): return "s"
            default: break
            }
        } else if n == 3 && buf[start] == UInt8(ascii: "r") && buf[start + 1] == UInt8(ascii: "o") && buf[start + 2] == UInt8(ascii: "w") {
            return "row"
        } else if n == 2 && buf[start] == UInt8(ascii: "i") && buf[start + 1] == UInt8(ascii: "s") {
            return "is"
        }
        return String(decoding: UnsafeBufferPointer(rebasing: buf[start..<range.upperBound]), as: UTF8.self)
    }

    private func emitTag(_ buf: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) throws {
        var i = range.lowerBound
        var end = range.upperBound
        if buf[i] == UInt8(ascii: "/") {
            i += 1
            var e = end
            while e > i && Self.isSpace(buf[e - 1]) { e -= 1 }
            try handler(.end(name: localName(buf, i..<e)))
            return
        }
        var selfClosing = false
        if end > i && buf[end - 1] == UInt8(ascii: "/") { selfClosing = true; end -= 1 }
        let nameStart = i
        while i < end && !Self.isSpace(buf[i]) { i += 1 }
        let name = localName(buf, nameStart..<i)
        var attributes: [(String, String)] = []
        while i < end {
            while i < end && Self.isSpace(buf[i]) { i += 1 }
            guard i < end else { break }
            let attrStart = i
            while i < end && buf[i] != UInt8(ascii: "=") && !Self.isSpace(buf[i]) { i += 1 }
            let attrName = localName(buf, attrStart..<i)
            while i < end && (Self.isSpace(buf[i]) || buf[i] == UInt8(ascii: "=")) { i += 1 }
            guard i < end else { throw XMLSafetyError.malformed("attribute \(attrName)") }
            let quote = buf[i]
            guard quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") else { throw XMLSafetyError.malformed("attribute \(attrName)") }
            i += 1
            let valueStart = i
            while i < end && buf[i] != quote { i += 1 }
            guard i < end else { throw XMLSafetyError.malformed("attribute \(attrName)") }
            attributes.append((attrName, try decodeEntities(buf, valueStart..<i)))
            i += 1
        }
        try handler(.start(name: name, attributes: attributes, selfClosing: selfClosing))
        if selfClosing { try handler(.end(name: name)) }
    }

    private func decodeEntities(_ buf: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) throws -> String {
        guard UnsafeBufferPointer(rebasing: buf[range]).contains(UInt8(ascii: "&")) else {
            return String(decoding: UnsafeBufferPointer(rebasing: buf[range]), as: UTF8.self)
        }
        var out: [UInt8] = []
        out.reserveCapacity(range.count)
        var i = range.lowerBound
        while i < range.upperBound {
            let b = buf[i]
            guard b == UInt8(ascii: "&") else { out.append(b); i += 1; continue }
            var j = i + 1
            while j < range.upperBound && buf[j] != UInt8(ascii: ";") && j - i < 12 { j += 1 }
            guard j < range.upperBound, buf[j] == UInt8(ascii: ";") else { throw XMLSafetyError.malformed("entity") }
            let name = String(decoding: buf[(i + 1)..<j], as: UTF8.self)
            switch name {
            case "lt": out.append(UInt8(ascii: "<"))
            case "gt": out.append(UInt8(ascii: ">"))
            case "amp": out.append(UInt8(ascii: "&"))
            case "quot": out.append(UInt8(ascii: "\""))
            case "apos": out.append(UInt8(ascii: "'"))
            default:
                var scalarValue: UInt32?
                if name.hasPrefix("#x") || name.hasPrefix("#X") { scalarValue = UInt32(name.dropFirst(2), radix: 16) }
                else if name.hasPrefix("#") { scalarValue = UInt32(name.dropFirst(1)) }
                guard let v = scalarValue, let scalar = Unicode.Scalar(v) else {
                    throw XMLSafetyError.malformed("unknown entity &\(name);")
                }
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            }
            i = j + 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
