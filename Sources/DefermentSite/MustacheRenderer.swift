import Foundation

/// A name a template looks up, with a number given to each distinct name once (when templates
/// are compiled or a frame type declares the names it answers), so that a frame answering a
/// million rows' lookups compares numbers, not strings.
public struct MustacheKey: Hashable, Sendable {
    public let id: Int
    public let name: String

    private static let lock = NSLock()
    nonisolated(unsafe) private static var ids: [String: Int] = [:]

    /// The key of a name (the same number every time in this process).
    public init(_ name: String) {
        Self.lock.lock()
        defer { Self.lock.unlock() }
        if let known = Self.ids[name] {
            id = known
        } else {
            id = Self.ids.count
            Self.ids[name] = id
        }
        self.name = name
    }

    /// Keys are equal when their numbers are (a number stands for one name).
    public static func == (a: MustacheKey, b: MustacheKey) -> Bool { a.id == b.id }
    public func hash(into hasher: inout Hasher) { hasher.combine(id) }
}

/// A context frame a template can look names up in: a dictionary, or a typed value that answers
/// by name without building a dictionary (rows of large tables).
public protocol MustacheFrame {
    func mustacheValue(_ key: MustacheKey) -> Any?
    /// A fast path for text values: return the text for `key`, or `nil` to fall back to
    /// ``mustacheValue(_:)``.
    func mustacheText(_ key: MustacheKey) -> String?
    /// A fast path for sections: whether the section of `key` shows (a flag's value; for a list,
    /// `false` when it is empty), or `nil` to fall back to ``mustacheValue(_:)``. An answer ends
    /// the lookup here: the frames around this one are not asked.
    func mustacheFlag(_ key: MustacheKey) -> Bool?
    /// A fast path for sections over lists: the frames of the list of `key` (shown once each), or
    /// `nil` to fall back to ``mustacheValue(_:)``.
    func mustacheList(_ key: MustacheKey) -> [MustacheFrame]?
}

extension MustacheFrame {
    public func mustacheText(_ key: MustacheKey) -> String? { nil }
    public func mustacheFlag(_ key: MustacheKey) -> Bool? { nil }
    public func mustacheList(_ key: MustacheKey) -> [MustacheFrame]? { nil }
}

extension Dictionary: MustacheFrame where Key == String {
    public func mustacheValue(_ key: MustacheKey) -> Any? { self[key.name] }
}

/// A frame for a list item that is not itself a frame (`{{.}}`).
struct ScalarFrame: MustacheFrame {
    let value: Any
    func mustacheValue(_ key: MustacheKey) -> Any? { nil }
}

/// A compiled Mustache template for the site's pages.
///
/// Supports what the templates use: `{{name}}` (HTML-escaped), `{{{name}}}` and `{{& name}}`
/// (raw), dotted names, sections `{{#name}}…{{/name}}`, inverted sections `{{^name}}…{{/name}}`,
/// partials `{{> name}}` and comments `{{! … }}`; standalone section, partial and comment tags
/// take their whole line, as the Mustache spec says. Contexts are `[String: Any]` dictionaries of
/// `String`, `Int`, `Double`, `Bool`, arrays and nested dictionaries; `0`, `""`, `false`, empty
/// arrays and missing names are falsy.
///
/// Written for the site because a general renderer that looks values up through reflection
/// spent most of a million-row build in dynamic casts; this one compiles a template once and looks
/// names up directly.
public final class MustacheRenderer: @unchecked Sendable {
    /// A compiled piece of a template. A class with plain fields, so walking a template for each
    /// of a million table rows copies no payloads; its text and children are also held in memory
    /// of its own, which a walk reads without counting references (the node keeps both alive).
    final class Node {
        enum Kind { case text, variable, section, partial }
        let kind: Kind
        /// Variable or section: the dotted name, split; partial: its name in `path[0]`.
        let path: [String]
        /// Variable or section: the keys of `path`.
        let keys: [MustacheKey]
        /// `{{.}}`: the current item itself.
        let isCurrentItem: Bool
        let escaped: Bool
        let inverted: Bool
        /// Section: its pieces (held here; the walk reads ``childNodes``).
        let children: [Node]
        /// A plain name (one key, not `{{.}}`): looked up in the innermost frame first.
        let isPlain: Bool
        /// The first key (a placeholder when there is none).
        let key: MustacheKey
        /// Text: its UTF-8 bytes.
        let textBytes: UnsafeMutableBufferPointer<UInt8>
        /// ``children`` as the walk reads them.
        let childNodes: UnsafeMutableBufferPointer<Unmanaged<Node>>

        init(_ kind: Kind, bytes: [UInt8] = [], path: [String] = [], escaped: Bool = true, inverted: Bool = false, children: [Node] = []) {
            self.kind = kind
            self.path = path
            self.keys = kind == .variable || kind == .section ? path.map(MustacheKey.init) : []
            self.isCurrentItem = path == ["."]
            self.escaped = escaped
            self.inverted = inverted
            self.children = children
            self.isPlain = keys.count == 1 && !isCurrentItem
            self.key = keys.first ?? MustacheKey("")
            textBytes = .allocate(capacity: bytes.count)
            _ = textBytes.initialize(from: bytes)
            childNodes = .allocate(capacity: children.count)
            _ = childNodes.initialize(from: children.map { Unmanaged.passUnretained($0) })
        }

        deinit {
            textBytes.deallocate()
            childNodes.deallocate()
        }

        static func text(_ s: String) -> Node { Node(.text, bytes: Array(s.utf8)) }
        static func variable(_ path: [String], escaped: Bool) -> Node { Node(.variable, path: path, escaped: escaped) }
        static func section(_ path: [String], inverted: Bool, _ children: [Node]) -> Node {
            Node(.section, path: path, inverted: inverted, children: children)
        }
        static func partial(_ name: String) -> Node { Node(.partial, path: [name]) }
    }

    /// A template syntax error, with the template's name and the offending tag.
    public struct SyntaxError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Each template as a node whose children are its pieces.
    private var compiled: [String: Node] = [:]
    /// Whether `{{name}}` HTML-escapes (pages) or not (plain-text e-mail).
    public let escapesHTML: Bool

    /// Compiles named template sources. Pass `escapesHTML: false` only for plain-text output.
    public init(templates: [String: String], escapesHTML: Bool = true) throws {
        self.escapesHTML = escapesHTML
        for (name, source) in templates {
            compiled[name] = Node(.section, path: ["."], children: try Self.compile(source, name: name))
        }
    }

    public func has(_ name: String) -> Bool { compiled[name] != nil }

    /// Renders a template with a context.
    public func render(_ name: String, _ context: [String: Any]) -> String {
        String(decoding: renderBytes(name, context), as: UTF8.self)
    }

    /// Renders a template with a context, as UTF-8 bytes.
    public func renderBytes(_ name: String, _ context: [String: Any]) -> [UInt8] {
        guard let root = compiled[name] else { return [] }
        var out = ByteSink()
        defer { out.free() }
        var stack: [MustacheFrame] = [context]
        render(root.childNodes, &stack, &out, depth: 0)
        return out.bytes
    }

    /// The page being rendered: appended to without the checks an array makes on each append.
    struct ByteSink {
        private var start = UnsafeMutablePointer<UInt8>.allocate(capacity: 4096)
        private var count = 0
        private var capacity = 4096

        mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
            guard let base = bytes.baseAddress, bytes.count > 0 else { return }
            if count + bytes.count > capacity { grow(to: count + bytes.count) }
            (start + count).update(from: base, count: bytes.count)
            count += bytes.count
        }

        private mutating func grow(to needed: Int) {
            capacity = max(needed, capacity * 2)
            let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
            bigger.update(from: start, count: count)
            start.deallocate()
            start = bigger
        }

        var bytes: [UInt8] { Array(UnsafeBufferPointer(start: start, count: count)) }
        func free() { start.deallocate() }
    }

    // MARK: Compiling

    private struct Tag {
        var kind: Character   // "v", "&", "#", "^", "/", ">", "!"
        var name: String
        var range: Range<String.Index>
    }

    private static func compile(_ source: String, name: String) throws -> [Node] {
        // 1. Find the tags.
        var tags: [Tag] = []
        var i = source.startIndex
        while let open = source.range(of: "{{", range: i..<source.endIndex) {
            let triple = source[open.upperBound...].hasPrefix("{")
            let closeMark = triple ? "}}}" : "}}"
            let contentStart = triple ? source.index(after: open.upperBound) : open.upperBound
            guard let close = source.range(of: closeMark, range: contentStart..<source.endIndex) else {
                throw SyntaxError(description: "\(name): unclosed tag")
            }
            var content = source[contentStart..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            var kind: Character = triple ? "&" : "v"
            if !triple, let first = content.first, "#^/>!&".contains(first) {
                kind = first
                content = String(content.dropFirst()).trimmingCharacters(in: .whitespaces)
            }
            tags.append(Tag(kind: kind, name: content, range: open.lowerBound..<close.upperBound))
            i = close.upperBound
        }
        // 2. Standalone tags (sections, partials, comments alone on their line) take the line.
        var pieces: [(text: Substring, tag: Tag?)] = []
        var cursor = source.startIndex
        for tag in tags {
            var start = tag.range.lowerBound
            var end = tag.range.upperBound
            if "#^/>!".contains(tag.kind) {
                let lineStart = source[..<start].lastIndex(of: "\n").map { source.index(after: $0) } ?? source.startIndex
                let lineEnd = source[end...].firstIndex(of: "\n")
                let before = source[max(lineStart, cursor)..<start]
                let after = source[end..<(lineEnd ?? source.endIndex)]
                if lineStart >= cursor, before.allSatisfy({ $0 == " " || $0 == "\t" }),
                   after.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) {
                    start = lineStart
                    end = lineEnd.map { source.index(after: $0) } ?? source.endIndex
                }
            }
            pieces.append((source[cursor..<start], nil))
            pieces.append(("", tag))
            cursor = end
        }
        pieces.append((source[cursor...], nil))
        // 3. Build the tree.
        var stack: [(name: String, inverted: Bool, nodes: [Node])] = [("", false, [])]
        for piece in pieces {
            if let tag = piece.tag {
                let path = tag.name == "." ? ["."] : tag.name.split(separator: ".").map(String.init)
                switch tag.kind {
                case "v": stack[stack.count - 1].nodes.append(.variable(path, escaped: true))
                case "&": stack[stack.count - 1].nodes.append(.variable(path, escaped: false))
                case "#", "^": stack.append((tag.name, tag.kind == "^", []))
                case "/":
                    guard stack.count > 1, stack.last!.name == tag.name else {
                        let open = stack.last!.name.isEmpty ? "anything" : "{{#\(stack.last!.name)}}"
                        throw SyntaxError(description: "\(name): {{/\(tag.name)}} does not close \(open)")
                    }
                    let done = stack.removeLast()
                    let donePath = done.name.split(separator: ".").map(String.init)
                    stack[stack.count - 1].nodes.append(.section(donePath, inverted: done.inverted, done.nodes))
                case ">": stack[stack.count - 1].nodes.append(.partial(tag.name))
                default: break // comment
                }
            } else if !piece.text.isEmpty {
                stack[stack.count - 1].nodes.append(.text(String(piece.text)))
            }
        }
        guard stack.count == 1 else { throw SyntaxError(description: "\(name): {{#\(stack.last!.name)}} is not closed") }
        return stack[0].nodes
    }

    // MARK: Rendering

    private func lookup(_ node: Node, _ stack: [MustacheFrame]) -> Any? {
        if node.isCurrentItem {
            if let top = stack.last as? ScalarFrame { return top.value }
            return stack.last
        }
        // Innermost frame outwards, each read in place.
        let first = node.key
        var value: Any? = stack.withUnsafeBufferPointer { frames in
            var i = frames.count - 1
            while i >= 0 {
                if let v = frames[i].mustacheValue(first) { return v }
                i -= 1
            }
            return nil
        }
        if !node.isPlain {
            for key in node.keys.dropFirst() {
                guard let frame = value as? MustacheFrame else { return nil }
                value = frame.mustacheValue(key)
            }
        }
        return value
    }

    private static func isTruthy(_ v: Any?) -> Bool {
        switch v {
        case nil: return false
        case let b as Bool: return b
        case let s as String: return !s.isEmpty
        case let frames as [MustacheFrame]: return !frames.isEmpty
        case let i as Int: return i != 0
        case let a as [Any]: return !a.isEmpty
        case let d as Double: return d != 0
        default: return true // any other present value (a frame, an object)
        }
    }

    private static func text(_ v: Any?) -> String {
        switch v {
        case nil: return ""
        case let s as String: return s
        case let i as Int: return String(i)
        case let b as Bool: return b ? "true" : "false"
        case let d as Double: return String(d)
        case let v?: return "\(v)"
        }
    }

    /// HTML-escapes `& < > " '` into UTF-8 bytes.
    static func escape(_ s: String, into out: inout ByteSink) {
        var s = s
        s.withUTF8 { u in
            var start = 0
            for i in 0..<u.count {
                let b = u[i]
                guard b <= 0x3E else { continue }   // every byte to escape is at most '>'
                let rep: StaticString
                switch b {
                case 0x26: rep = "&amp;"
                case 0x3C: rep = "&lt;"
                case 0x3E: rep = "&gt;"
                case 0x22: rep = "&quot;"
                case 0x27: rep = "&#39;"
                default: continue
                }
                out.append(UnsafeBufferPointer(rebasing: u[start..<i]))
                rep.withUTF8Buffer { out.append($0) }
                start = i + 1
            }
            out.append(UnsafeBufferPointer(rebasing: u[start..<u.count]))
        }
    }

    static func append(_ s: String, to out: inout ByteSink) {
        var s = s
        s.withUTF8 { out.append($0) }
    }

    /// What the innermost frame answers, or `nil` when there is none; read through the stack's
    /// storage (`stack.last` is slower on a full build: bench/README.md).
    private static func innermost<T>(_ stack: [MustacheFrame], _ ask: (MustacheFrame) -> T?) -> T? {
        stack.withUnsafeBufferPointer { frames in
            frames.isEmpty ? nil : ask((frames.baseAddress! + frames.count - 1).pointee)
        }
    }

    private func render(_ nodes: UnsafeMutableBufferPointer<Unmanaged<Node>>, _ stack: inout [MustacheFrame],
                        _ out: inout ByteSink, depth: Int) {
        guard depth < 32 else { return }
        // The nodes outlive the walk (the renderer holds them): read without retaining each.
        for i in 0..<nodes.count {
            nodes[i]._withUnsafeGuaranteedRef { renderNode($0, &stack, &out, depth: depth) }
        }
    }


    private func renderNode(_ node: Node, _ stack: inout [MustacheFrame], _ out: inout ByteSink, depth: Int) {
        switch node.kind {
        case .text: out.append(UnsafeBufferPointer(node.textBytes))
        case .variable:
            let s: String
            // A plain name: the innermost frame's fast text.
            let key = node.key
            if node.isPlain, let fast = Self.innermost(stack, { $0.mustacheText(key) }) {
                s = fast
            } else {
                s = Self.text(lookup(node, stack))
            }
            if node.escaped && escapesHTML { Self.escape(s, into: &out) } else { Self.append(s, to: &out) }
        case .section:
            // A plain name the innermost frame answers as a flag: shown or not, no value looked up.
            if node.isPlain, let flag = Self.innermost(stack, { $0.mustacheFlag(node.key) }) {
                if flag != node.inverted { render(node.childNodes, &stack, &out, depth: depth + 1) }
                return
            }
            // A plain name the innermost frame answers as a list of frames: each item in turn.
            if node.isPlain, !node.inverted, let frames = Self.innermost(stack, { $0.mustacheList(node.key) }) {
                for frame in frames {
                    stack.append(frame)
                    render(node.childNodes, &stack, &out, depth: depth + 1)
                    stack.removeLast()
                }
                return
            }
            let value = lookup(node, stack)
            let children = node.childNodes
            // Flags (`{{#first}}`, `{{#isRefused}}`) are the commonest sections of large tables.
            if let flag = value as? Bool {
                if flag != node.inverted { render(children, &stack, &out, depth: depth + 1) }
                return
            }
            if node.inverted {
                if !Self.isTruthy(value) { render(children, &stack, &out, depth: depth + 1) }
                return
            }
            guard Self.isTruthy(value) else { return }
            if let frames = value as? [MustacheFrame] {
                for frame in frames {
                    stack.append(frame)
                    render(children, &stack, &out, depth: depth + 1)
                    stack.removeLast()
                }
            } else if let list = value as? [Any] {
                for item in list {
                    stack.append(item as? MustacheFrame ?? ScalarFrame(value: item))
                    render(children, &stack, &out, depth: depth + 1)
                    stack.removeLast()
                }
            } else if let frame = value as? MustacheFrame {
                stack.append(frame)
                render(children, &stack, &out, depth: depth + 1)
                stack.removeLast()
            } else {
                render(children, &stack, &out, depth: depth + 1)
            }
        case .partial:
            if let partial = compiled[node.path[0]] { render(partial.childNodes, &stack, &out, depth: depth + 1) }
        }
    }
}
