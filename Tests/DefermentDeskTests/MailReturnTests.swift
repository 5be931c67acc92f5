import Foundation
import GRDB
import Testing
@testable import DefermentDesk
@testable import DefermentSite
@testable import DefermentStore
import DefermentCore

/// Counties return workbooks by e-mail: messages built as Gmail, Outlook and Thunderbird build
/// them (Scripts/mail_compose.py) are delivered into a real Maildir; receipts go out through
/// msmtp to a real SMTP server on loopback and are read back by Python's email package.
@Suite(.serialized)
struct MailReturnTests {
    static let application = DecisionWorkbook.sheetName(.application)
    static var signed: [String: Any] { ["reviewer": "王承辦", "approver": "李科長", "date": "2026-11-30"] }

    @Test func workbooksReturnedByMailAreAppliedAndAnsweredWithReceipts() throws {
        let f = try DecisionFixture()
        let clerk = "deferment-\(f.county)@example.gov.tw"   // the county's address in seeds/counties.csv
        let rows = try f.rows()
        let app = Self.application
        let final = try f.edit(try f.download(), ["decisions": [["sheet": app, "row": 0, "decision": "核准"], ["sheet": app, "row": 1, "decision": "核准"]],
                                                  "signoff": Self.signed])
        let submitted = try f.edit(try f.download(), ["decisions": [["sheet": app, "row": 3, "decision": "未核准"], ["sheet": app, "row": 4, "decision": "核准"]],
                                                      "signoff": ["reviewer": "王承辦"]])
        let csv = try f.edit(try f.download(), ["decisions": [["sheet": app, "row": 5, "decision": "核准"]], "signoff": Self.signed, "csv": app], ext: "csv")
        // Two workbooks of ours in one message, each deciding another row.
        #expect(rows.count > 6)
        let pairFirst = try f.edit(try f.download(), ["decisions": [["sheet": app, "row": 2, "decision": "核准"]], "signoff": Self.signed])
        let pairSecond = try f.edit(try f.download(), ["decisions": [["sheet": app, "row": 6, "decision": "核准"]], "signoff": Self.signed])
        let foreign = f.root.appendingPathComponent("foreign.xlsx")
        _ = try pythonOutput(["-c", "import openpyxl, sys; wb = openpyxl.Workbook(); wb.active['A1'] = '別的資料'; wb.save(sys.argv[1])", foreign.path])

        func message(_ id: String, from: String, style: String, _ attachments: [(URL, String)]) -> [String: Any] {
            ["message_id": id, "from": from, "style": style, "attachments": attachments.map { ["path": $0.0.path, "name": $0.1] }]
        }
        let name = "審核名冊 \(f.county) 核定.xlsx"
        let specs: [[String: Any]] = [
            message("m1@clerk", from: "臺北市承辦 <\(clerk)>", style: "gmail", [(final, name)]),
            message("m2@clerk", from: clerk, style: "forward", [(submitted, "審核名冊（陳核）.xlsx")]),
            message("m3@clerk", from: clerk, style: "outlook", [(foreign, "其他資料.xlsx"), (csv, "審核名冊匯出.csv")]),
            message("m4@clerk", from: clerk, style: "qp", [(csv, "審核名冊匯出（再寄）.csv")]),
            message("m5@clerk", from: clerk, style: "gmail", []),
            message("m6@stranger", from: "someone@elsewhere.example", style: "gmail", [(final, name)]),
            message("m1@clerk", from: clerk, style: "gmail", [(final, name)]),   // the same message again
            message("m8@clerk", from: clerk, style: "broken", []),
            message("m9@clerk", from: clerk, style: "outlook", [(pairFirst, "審核名冊（一）.xlsx"), (pairSecond, "審核名冊（二）.xlsx")]),
        ]
        let maildir = f.desk.mailInbox
        let json = String(decoding: try JSONSerialization.data(withJSONObject: specs), as: UTF8.self)
        _ = try pythonOutput([scriptsFolder.appendingPathComponent("mail_compose.py").path, maildir.path, json])
        _ = try f.desk.runOnce()

        // Applied as if dropped: the final workbook, the forwarded submission, the CSV (once).
        #expect(try f.text("SELECT review_state FROM roster_row WHERE id = \(rows[0].id)") == "核准")
        #expect(try f.text("SELECT review_state FROM roster_row WHERE id = \(rows[5].id)") == "核准")
        #expect(try f.text("SELECT draft_decision FROM roster_row WHERE id = \(rows[4].id)") == "核准")
        #expect(try f.text("SELECT review_state FROM roster_row WHERE id = \(rows[2].id)") == "核准")
        #expect(try f.text("SELECT review_state FROM roster_row WHERE id = \(rows[6].id)") == "核准")
        #expect(try f.value("SELECT COUNT(*) FROM input_file WHERE kind = 'decisions'") == 5)
        // Every message is taken (cur/, seen), the unreadable one kept and flagged.
        #expect(try FileManager.default.contentsOfDirectory(atPath: maildir.appendingPathComponent("new").path).isEmpty)
        let cur = try FileManager.default.contentsOfDirectory(atPath: maildir.appendingPathComponent("cur").path)
        #expect(cur.count == specs.count)
        #expect(cur.filter { $0.hasSuffix(":2,F") }.count == 1 && cur.filter { $0.hasSuffix(":2,S") }.count == specs.count - 1)

        // The receipts and the reply, delivered through msmtp to a real SMTP server.
        let sink = try SMTPSink(folder: f.root.appendingPathComponent("smtp-received"))
        defer { sink.stop() }
        let command = "msmtp --host=127.0.0.1 --port=\(sink.port) --auth=off --tls=off --from=deferment-desk@example.gov.tw -t"
        #expect(try runCLI(["mail", "send", "--root", f.root.path, "--seeds", seedsFolder.path, "--command", command]).status == 0)
        let received = try ParsedMail.parse(sink.received.map(\.message)).values
        let toClerk = received.filter { $0.to.contains(clerk) && $0.kind == "county-receipt" }
        let toStranger = received.filter { $0.to.contains("someone@elsewhere.example") }
        func receipt(_ fileName: String) -> [ParsedMail] { toClerk.filter { $0.subject.contains(fileName) } }
        #expect(receipt(name).count == 1)
        #expect(receipt(name).first?.subject.contains("已核定") == true)
        #expect(receipt(name).first?.body.contains("核准 2") == true)
        let pending = try #require(receipt("審核名冊（陳核）.xlsx").first)
        #expect(pending.subject.contains("陳核中"))
        #expect(pending.body.contains("「審核意見」：未核准須填寫審核意見"))
        #expect(receipt("其他資料.xlsx").first.map { $0.subject.contains("退件") && $0.body.contains("不是本系統的審核名冊") } == true)
        #expect(receipt("審核名冊匯出.csv").first?.subject.contains("已核定") == true)
        #expect(receipt("審核名冊匯出（再寄）.csv").count == 1)       // quoted-printable: the same bytes, answered
        #expect(receipt("審核名冊（一）.xlsx").count == 1 && receipt("審核名冊（二）.xlsx").count == 1)
        #expect(received.contains { $0.to.contains(clerk) && $0.kind == "mail-no-workbook" && $0.subject.contains("未收到審核名冊附件") })
        #expect(toStranger.count == 1 && toStranger.first.map { $0.subject.contains("退件") && $0.body.contains("登記的承辦信箱") } == true)
        // No national ID, name or birth date in any of them.
        for mail in toClerk + toStranger {
            for r in try f.desk.store.queue.read({ try DeskStore.decisionSheetRows($0, county: f.county, uploadDate: f.date) }) {
                #expect(!mail.body.contains(r.nationalID) && !mail.body.contains(r.name) && !mail.body.contains(r.birthDate))
            }
        }
        // A second run: nothing new, no second receipt.
        _ = try f.desk.runOnce()
        #expect(try f.value("SELECT COUNT(*) FROM mail_queue WHERE kind = 'county-receipt'") == 8)
    }

    /// `watch` notices a message delivered into the Maildir and applies its workbook.
    @Test func watchTakesAMessageAsItIsDelivered() throws {
        let root = try temporaryRoot()
        let common = ["--root", root.path, "--seeds", seedsFolder.path, "--templates", templatesFolder.path]
        try drop(try Data(contentsOf: seedsFolder.appendingPathComponent("rosters/roster-20261015.csv")), as: "roster-20261015.csv",
                 into: .rosters, root: root)
        #expect(try runCLI(["run", "--settle", "0"] + common).status == 0)
        let workbook = root.appendingPathComponent("w.xlsx"), edited = root.appendingPathComponent("edited.xlsx")
        #expect(try runCLI(["decisions", "workbook", "--county", "63000", "--date", "2026-10-15", "--out", workbook.path] + common).status == 0)
        _ = try pythonOutput([scriptsFolder.appendingPathComponent("edit_decisions.py").path, workbook.path, edited.path, """
            {"decisions": [{"sheet": "申請緩徵名冊", "row": 0, "decision": "核准"}],
             "signoff": {"reviewer": "王承辦", "approver": "李科長", "date": "2026-11-30"}}
            """])
        let watch = try Background(deferment.path, ["watch", "--settle", "0"] + common)
        Thread.sleep(forTimeInterval: 1)
        let spec: [[String: Any]] = [["message_id": "w1@clerk", "from": "deferment-63000@example.gov.tw", "style": "gmail",
                                      "attachments": [["path": edited.path, "name": "審核名冊.xlsx"]]]]
        _ = try pythonOutput([scriptsFolder.appendingPathComponent("mail_compose.py").path, root.appendingPathComponent("inbox/mail").path,
                              String(decoding: try JSONSerialization.data(withJSONObject: spec), as: UTF8.self)])
        for _ in 0..<100 where try count(root, "SELECT COUNT(*) FROM mail_queue WHERE kind = 'county-receipt'") == 0 { Thread.sleep(forTimeInterval: 0.1) }
        watch.stop()
        #expect(try count(root, "SELECT COUNT(*) FROM roster_row WHERE review_state = '核准'") == 1)
        #expect(try count(root, "SELECT COUNT(*) FROM mail_queue WHERE kind = 'county-receipt'") == 1)
    }

    /// The parser on the forms clients use for names, and on hostile structure.
    @Test func fileNamesInRFC2231AndRFC2047AndNesting() throws {
        let raw = """
        From: =?UTF-8?B?6Ie65YyX5biC?= <Clerk@Example.gov.tw>
        Message-ID: <abc@x>
        MIME-Version: 1.0
        Content-Type: multipart/mixed; boundary="outer"

        --outer
        Content-Type: text/plain; charset=utf-8

        hi
        --outer
        Content-Type: application/octet-stream; name*=UTF-8''%E5%AF%A9%E6%A0%B8.xlsx
        Content-Transfer-Encoding: base64

        UEsDBA==
        --outer
        Content-Type: message/rfc822

        Content-Type: multipart/mixed; boundary=inner

        --inner
        Content-Type: text/csv; name="=?Big5?B?pvCm4g==?=.csv"
        Content-Disposition: attachment; filename*0*=UTF-8''%E5%90%8D; filename*1*=%E5%86%8A.csv
        Content-Transfer-Encoding: quoted-printable

        a,b=3D=
        c
        --inner--
        --outer--
        """
        // As delivered by a server that keeps CRLF line breaks, and as a Maildir with LF only.
        let crlf = try MIMEMessage(Data(raw.replacingOccurrences(of: "\n", with: "\r\n").utf8))
        #expect(crlf.attachments.map(\.fileName) == ["審核.xlsx", "名冊.csv"])
        let m = try MIMEMessage(Data(raw.utf8))
        #expect(m.senderAddress == "clerk@example.gov.tw")
        #expect(m.messageID == "abc@x")
        #expect(m.attachments.map(\.fileName) == ["審核.xlsx", "名冊.csv"])
        #expect(m.attachments.first?.data == Data([0x50, 0x4B, 0x03, 0x04]))
        #expect(m.attachments.last.map { String(decoding: $0.data, as: UTF8.self) } == "a,b=c")
        // A sender that is not an address, and endless nesting, are refused.
        #expect(MIMEMessage.address("<a b@c.tw>") == nil && MIMEMessage.address("x@y") == nil)
        let deep = String(repeating: "Content-Type: message/rfc822\n\n", count: 20) + "x"
        #expect(throws: MIMEMessage.Unreadable.self) { try MIMEMessage(Data(deep.utf8)) }
    }
}
