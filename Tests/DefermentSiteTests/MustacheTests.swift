import Testing
@testable import DefermentSite

/// The site's Mustache renderer on the forms its documentation promises, one row per case.
struct MustacheTests {
    @Test(arguments: [
        ("a plain name, HTML-escaped", "<p>{{name}}</p>", "<p>&lt;b&gt; &amp; &quot;x&quot; &#39;y&#39;</p>"),
        ("a raw name", "{{{name}}}|{{& name}}", "<b> & \"x\" 'y'|<b> & \"x\" 'y'"),
        ("a dotted name", "{{school.code}}", "110000"),
        ("a list of frames", "{{#rows}}[{{id}}]{{/rows}}", "[1][2]"),
        ("the current item of a list of texts ({{.}})", "{{#tags}}<{{.}}>{{/tags}}", "<a&amp;b><c>"),
        ("an inverted section on an empty list", "{{^empty}}none{{/empty}}", "none"),
        ("a false flag", "{{#off}}shown{{/off}}", ""),
        ("a missing name", "[{{missing}}]", "[]"),
    ])
    func rendersWhatTheTemplateSays(_ name: String, _ template: String, _ expected: String) throws {
        let renderer = try MustacheRenderer(templates: ["t": template])
        let context: [String: Any] = [
            "name": "<b> & \"x\" 'y'", "school": ["code": "110000"], "rows": [["id": 1], ["id": 2]],
            "tags": ["a&b", "c"], "empty": [String](), "off": false,
        ]
        #expect(renderer.render("t", context) == expected, "\(name)")
    }

    /// A frame answering sections as flags: its `false` ends the lookup (the page's truthy value
    /// of the same name is not used), its `true` shows the section once, and a name it does not
    /// answer as a flag is looked up as before.
    @Test func aFrameAnswersItsSectionsAsFlags() throws {
        struct Flags: MustacheFrame {
            let on: Bool
            func mustacheValue(_ key: MustacheKey) -> Any? { key.name == "label" ? "row" : nil }
            func mustacheFlag(_ key: MustacheKey) -> Bool? { key.name == "marked" ? on : (key.name == "history" ? false : nil) }
        }
        let renderer = try MustacheRenderer(templates: [
            "t": "{{#rows}}[{{#marked}}M{{/marked}}{{^marked}}-{{/marked}}{{#history}}H{{/history}}{{#page}}{{label}}{{/page}}]{{/rows}}",
        ])
        let rows: [MustacheFrame] = [Flags(on: true), Flags(on: false)]
        #expect(renderer.render("t", ["rows": rows, "history": ["page level"], "marked": true, "page": true]) == "[Mrow][-row]")
    }

    /// A frame answering a section's list itself (as a county page's students do) renders as the
    /// same list in a dictionary: each item in turn, and an empty list only its inverted section.
    @Test func aFrameAnswersItsListsAsADictionaryWould() throws {
        struct Group: MustacheFrame {
            let items: [MustacheFrame]
            func mustacheValue(_ key: MustacheKey) -> Any? { key.name == "items" ? items : nil }
            func mustacheList(_ key: MustacheKey) -> [MustacheFrame]? { key.name == "items" ? items : nil }
        }
        let renderer = try MustacheRenderer(templates: [
            "t": "{{#groups}}({{#items}}{{n}}{{label}}{{/items}}{{^items}}none{{/items}}){{/groups}}",
        ])
        let lists: [[MustacheFrame]] = [[["n": 1], ["n": 2]], []]
        let framed: [MustacheFrame] = lists.map { Group(items: $0) }
        let dictionaries: [MustacheFrame] = lists.map { ["items": $0] }
        #expect(renderer.render("t", ["groups": framed, "label": "."]) == "(1.2.)(none)")
        #expect(renderer.render("t", ["groups": dictionaries, "label": "."]) == "(1.2.)(none)")
    }
}
