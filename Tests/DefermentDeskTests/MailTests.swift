import Foundation
import GRDB
import Testing
@testable import DefermentDesk
@testable import DefermentSite
@testable import DefermentStore
import DefermentCore

/// A message as Python's email package reads it.
struct ParsedMail: Decodable {
    var subject: String
    var from: String
    var to: String
    var date: String
    var message_id: String
    var kind: String
    var content_type: String
    var charset: String?
    var body: String
    var raw_header: String
    var longest_line: Int
    var defects: [String]

    static func parse(_ files: [URL]) throws -> [String: ParsedMail] {
        guard !files.isEmpty else { return [:] }
        let json = try pythonOutput([scriptsFolder.appendingPathComponent("mail_parse.py").path] + files.map(\.path))
        return try JSONDecoder().decode([String: ParsedMail].self, from: Data(json.utf8))
    }
}

/// A real SMTP server on loopback (aiosmtpd), storing what it receives.
final class SMTPSink {
    var process = Process()
    var input = Pipe()
    let folder: URL
    var port = 0

    /// Starts the server on a free port (another is tried when one turns out to be taken).
    init(folder: URL) throws {
        self.folder = folder
        for _ in 0..<5 {
            let candidate = try freePort()
            let p = Process(), out = Pipe(), input = Pipe()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["python3", scriptsFolder.appendingPathComponent("smtp_sink.py").path, String(candidate), folder.path]
            p.standardOutput = out
            p.standardInput = input
            try p.run()
            // "ready" once listening; end of output if the port was taken.
            var seen = Data()
            while !String(decoding: seen, as: UTF8.self).contains("ready") {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                seen.append(chunk)
            }
            if String(decoding: seen, as: UTF8.self).contains("ready") {
                (process, self.input, port) = (p, input, candidate)
                return
            }
            p.waitUntilExit()
        }
        throw NSError(domain: "smtp", code: 1, userInfo: [NSLocalizedDescriptionKey: "SMTP server did not start"])
    }

    /// What the server received: message files and their envelope recipients.
    var received: [(message: URL, recipients: [String])] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".eml") }.sorted()
        return names.map { name in
            let rcpt = (try? String(contentsOf: folder.appendingPathComponent(name.replacingOccurrences(of: ".eml", with: ".rcpt")), encoding: .utf8)) ?? ""
            return (folder.appendingPathComponent(name), rcpt.split(separator: "\n").map(String.init))
        }
    }

    func stop() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}

@Suite(.serialized)
struct MailTests {
    /// Both sample months and the demo's county decisions, with one county opted out.
    static func cycle(_ name: String = #function, optOut: String? = "66000") throws -> (URL, Desk) {
        let root = try temporaryRoot(name)
        let desk = try Desk(root: root, seeds: seedsFolder, templates: templatesFolder)
        desk.settleSeconds = 0
        _ = try desk.ensureAccounts()
        if let optOut { try desk.setContact(code: optOut, name: nil, email: nil, notify: false) }
        try drop(try Data(contentsOf: seedsFolder.appendingPathComponent("rosters/roster-20261015.csv")), as: "roster-20261015.csv", into: .rosters, root: root)
        _ = try desk.runOnce()
        _ = try DemoCounties.fillDecisionWorkbooks(desk: desk)
        _ = try desk.runOnce()
        return (root, desk)
    }

    static func messages(_ desk: Desk, in folder: URL? = nil) throws -> [URL] {
        try messages(folder ?? desk.mailSpool)
    }

    static func messages(_ dir: URL) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".eml") }.sorted().map { dir.appendingPathComponent($0) }
    }

    /// When messages are written, what they say, and that they say nothing personal.
    @Test func notificationsAreComposedWithCountsAndLinksOnly() throws {
        let (_, desk) = try Self.cycle()
        let files = try Self.messages(desk)
        let mails = try ParsedMail.parse(files)
        #expect(mails.count == files.count)
        let byKind = Dictionary(grouping: mails.values, by: \.kind)
        let counties = try desk.store.queue.read { try String.fetchAll($0, sql: "SELECT DISTINCT county_code FROM roster_row WHERE county_code IS NOT NULL ORDER BY 1") }
        // One message per county with rows (but the one that opted out) for the upload date.
        #expect(byKind["county-roster"]?.count == counties.count - 1)
        #expect(byKind["county-roster"]?.contains { $0.to.contains("66000") } == false)
        for mail in byKind["county-roster"] ?? [] {
            #expect(mail.subject.hasPrefix("【在學緩徵】115/10/15 學生名冊已分派至"))
            let code = String(mail.to.split(separator: "-").last!.prefix(5))
            let expected = try desk.store.queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM roster_row WHERE county_code LIKE ? || '%'", arguments: [code]) ?? 0 }
            #expect(mail.subject.hasSuffix("待審核 \(expected) 筆"), "\(mail.subject)")
            #expect(mail.body.contains("https://deferment.example.gov.tw/counties/"))
        }
        // One message per school whose results a signed-off file changed (the 陳核中 county's
        // decisions tell no school), summarising every county's decisions in one.
        let schoolsWithFinal = try desk.store.queue.read {
            try Int.fetchOne($0, sql: "SELECT COUNT(DISTINCT school_code) FROM roster_row WHERE review_state IN ('核准', '未核准') AND school_code NOT IN (SELECT code FROM account WHERE notify = 0)") ?? 0
        }
        #expect(byKind["school-results"]?.count == schoolsWithFinal)
        for mail in byKind["school-results"] ?? [] {
            #expect(mail.subject.contains("的名冊審核結果已更新"))
            #expect(mail.body.contains("https://deferment.example.gov.tw/schools/"))
        }
        // RFC 5322 and 2047: parsed without defects, UTF-8 text, lines within 78 characters.
        for mail in mails.values {
            #expect(mail.defects.isEmpty)
            #expect(mail.content_type == "text/plain" && mail.charset?.lowercased() == "utf-8")
            #expect(mail.longest_line <= 78)
            let asciiHeader = mail.raw_header.unicodeScalars.allSatisfy { $0.isASCII }
            #expect(asciiHeader)
            #expect(mail.raw_header.contains("Subject: =?UTF-8?B?"))
            #expect(mail.from == "在學緩徵作業系統 <deferment-desk@example.gov.tw>")
        }
        // No national ID, name or birth date anywhere in any message, raw or decoded.
        let personal = try desk.store.queue.read { db in
            try Row.fetchAll(db, sql: "SELECT national_id, name, birth_date FROM roster_row").flatMap { [$0[0] as String, $0[1] as String, $0[2] as String] }
        }
        let values = Set(personal.filter { $0.count >= 2 })
        for (path, mail) in mails {
            let raw = try String(contentsOf: URL(fileURLWithPath: path), encoding: .utf8)
            for v in values {
                let leaked = mail.body.contains(v) || mail.subject.contains(v) || raw.contains(v)
                #expect(!leaked, "\(path) holds personal data")
            }
        }
    }

    /// A second roster of the same upload date sends the county nothing new; a reminder goes
    /// out once per county per week for rows pending too long.
    @Test func oneMessagePerUploadDateAndWeeklyReminders() throws {
        let (root, desk) = try Self.cycle(optOut: nil)
        let before = try Self.messages(desk).count
        let id = Fixture.id(808)
        try drop(Fixture.registryHeader + "\(id),0951023,王小明,63000,高中肄業,未經徵兵處理,,\n", as: "reg.csv", into: .registry, root: root)
        try drop(Fixture.rosterHeader + "\(id),0951023,王小明,110000,範例高中,普通科,3,1151015,1160630,在學,否\n", as: "extra-20261015.csv", into: .rosters, root: root)
        _ = try desk.runOnce()
        #expect(try Self.messages(desk).count == before)

        // The rosters arrived 20 days ago: every county with pending rows is reminded, once.
        try desk.store.queue.write { try $0.execute(sql: "UPDATE input_file SET received_at = datetime('now', '-20 days') WHERE kind = 'rosters'") }
        _ = try desk.runOnce()
        let reminders = try Self.messages(desk).filter { $0.lastPathComponent.hasSuffix("county-reminder.eml") }
        let pendingCounties = try desk.store.queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(DISTINCT county_code) FROM roster_counts WHERE review_state = '待審核' AND county_code <> ''") ?? 0 }
        #expect(reminders.count == pendingCounties)
        let parsed = try ParsedMail.parse(reminders)
        let allSay = parsed.values.allSatisfy { $0.subject.contains("尚有") && $0.body.contains("已等候 20 天") }
        #expect(allSay)
        _ = try desk.runOnce()
        #expect(try Self.messages(desk).filter { $0.lastPathComponent.hasSuffix("county-reminder.eml") }.count == pendingCounties)
    }

    /// End to end: msmtp hands every message to a real SMTP server on loopback, which receives
    /// exactly what was spooled; each message moves to sent/.
    @Test func deliveryThroughMsmtpToARealSMTPServer() throws {
        let (root, desk) = try Self.cycle()
        let spooled = try Self.messages(desk)
        let expected = try ParsedMail.parse(spooled)
        let sink = try SMTPSink(folder: root.appendingPathComponent("smtp-received"))
        defer { sink.stop() }
        let command = "msmtp --host=127.0.0.1 --port=\(sink.port) --auth=off --tls=off --from=deferment-desk@example.gov.tw -t"
        let r = try runCLI(["mail", "send", "--root", root.path, "--seeds", seedsFolder.path, "--command", command])
        #expect(r.status == 0, "\(r.out) \(r.err)")
        #expect(r.out.contains("寄出 \(spooled.count)"))
        #expect(try Self.messages(desk).isEmpty)
        let sent = try Self.messages(desk, in: MailSpool(root: desk.mailSpool).sent)
        #expect(sent.count == spooled.count)
        let received = sink.received
        #expect(received.count == spooled.count)
        let got = try ParsedMail.parse(received.map(\.message))
        let want = Set(expected.values.map { $0.message_id + "|" + $0.subject + "|" + $0.to + "|" + $0.body })
        let have = Set(got.values.map { $0.message_id + "|" + $0.subject + "|" + $0.to + "|" + $0.body })
        #expect(have == want)
        for (message, recipients) in received {
            let to = try #require(got[message.path]?.to)
            #expect(recipients == [to.trimmingCharacters(in: CharacterSet(charactersIn: "<> "))])
        }
        // A second pass has nothing left to send.
        let again = try runCLI(["mail", "send", "--root", root.path, "--seeds", seedsFolder.path, "--command", command])
        #expect(again.out.contains("寄出 0"))
        #expect(sink.received.count == spooled.count)
    }

    /// With the server down, messages are retried with backoff and then moved to failed/ with
    /// the error beside them; a hand-over interrupted by a crash is not sent again.
    @Test func failedDeliveryAndInterruptedHandOver() throws {
        let (root, desk) = try Self.cycle()
        let spooled = try Self.messages(desk)
        let closed = try ClosedPort()
        defer { closed.release() }
        let closedPort = closed.port
        let command = "msmtp --host=127.0.0.1 --port=\(closedPort) --auth=off --tls=off --from=deferment-desk@example.gov.tw -t"
        let args = ["mail", "send", "--root", root.path, "--seeds", seedsFolder.path, "--command", command, "--max-attempts", "2"]
        // First pass: every message fails once and waits for its retry (one hour away).
        let first = try runCLI(args + ["--retry-seconds", "3600"])
        #expect(first.out.contains("稍後重試 \(spooled.count)"))
        let waiting = try runCLI(args + ["--retry-seconds", "3600"])
        #expect(waiting.out.contains("等待重試時間 \(spooled.count)"))
        #expect(try Self.messages(desk).count == spooled.count)
        // Backoff over: the second failure is the last attempt.
        let spool = MailSpool(root: desk.mailSpool)
        for file in try FileManager.default.contentsOfDirectory(atPath: spool.root.path) where file.hasSuffix(".attempts") {
            try "1\n0\nearlier\n".write(to: spool.root.appendingPathComponent(file), atomically: true, encoding: .utf8)
        }
        let last = try runCLI(args + ["--retry-seconds", "0"])
        #expect(last.status == 1)
        #expect(try Self.messages(desk).isEmpty)
        let failed = try Self.messages(desk, in: spool.failed)
        #expect(failed.count == spooled.count)
        let error = try String(contentsOf: spool.failed.appendingPathComponent(failed[0].lastPathComponent + ".error.txt"), encoding: .utf8)
        #expect(error.contains("已嘗試 2 次") && error.contains("寄信程式結束代碼"))

        // A message left in sending/ (the process died while handing it over) goes to failed/,
        // never to the server again.
        let sink = try SMTPSink(folder: root.appendingPathComponent("smtp-received"))
        defer { sink.stop() }
        try FileManager.default.moveItem(at: failed[0], to: spool.sending.appendingPathComponent(failed[0].lastPathComponent))
        let good = "msmtp --host=127.0.0.1 --port=\(sink.port) --auth=off --tls=off --from=deferment-desk@example.gov.tw -t"
        let recovered = try runCLI(["mail", "send", "--root", root.path, "--seeds", seedsFolder.path, "--command", good])
        #expect(recovered.out.contains("移至 failed/ 1"))
        #expect(sink.received.isEmpty)
        let note = try String(contentsOf: spool.failed.appendingPathComponent(failed[0].lastPathComponent + ".error.txt"), encoding: .utf8)
        #expect(note.contains("投遞過程中斷"))
    }

    /// `watch` delivers after each publish, on its own thread: the SMTP server receives the
    /// county's message while the watcher keeps running.
    @Test func watchDeliversAfterPublishing() throws {
        let root = try temporaryRoot()
        try DeskPaths(root: root).createFolders()
        let sink = try SMTPSink(folder: root.appendingPathComponent("smtp-received"))
        defer { sink.stop() }
        let p = Process()
        p.executableURL = deferment
        p.arguments = ["watch", "--root", root.path, "--seeds", seedsFolder.path, "--templates", templatesFolder.path]
        var env = ProcessInfo.processInfo.environment
        env["DEFERMENT_MAIL_COMMAND"] = "msmtp --host=127.0.0.1 --port=\(sink.port) --auth=off --tls=off --from=deferment-desk@example.gov.tw -t"
        env["DEFERMENT_PBKDF2_ROUNDS"] = "2000"
        p.environment = env
        p.standardError = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        defer { if p.isRunning { kill(p.processIdentifier, SIGKILL) }; p.waitUntilExit() }
        let id = Fixture.id(91)
        try drop(Fixture.registryHeader + "\(id),0951023,王小明,63000,高中肄業,未經徵兵處理,,\n", as: "reg.csv", into: .registry, root: root)
        try drop(Fixture.rosterHeader + "\(id),0951023,王小明,110000,範例高中,普通科,3,1151015,1160630,在學,否\n", as: "roster-20261015.csv", into: .rosters, root: root)
        let deadline = Date().addingTimeInterval(60)
        while sink.received.isEmpty && Date() < deadline { usleep(100_000) }
        let received = sink.received
        #expect(received.count == 1)
        #expect(received.first?.recipients == ["deferment-63000@example.gov.tw"])
        #expect(p.isRunning)
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        #expect(try Self.messages(DeskPaths(root: root).outbox.appendingPathComponent("mail/sent")).count == 1)
    }

    /// A sender killed (SIGKILL) while the program holds a message: the next pass moves it to
    /// failed/ with a note and never hands it over again, so it reaches the server at most once.
    @Test func senderKilledDuringHandOverNeverSendsTwice() throws {
        let (root, desk) = try Self.cycle()
        let spooled = try Self.messages(desk)
        let sink = try SMTPSink(folder: root.appendingPathComponent("smtp-received"))
        defer { sink.stop() }
        // A slow sendmail: it waits, then hands the message to msmtp.
        let slow = root.appendingPathComponent("slow-sendmail.sh")
        try "#!/bin/sh\nsleep 2\nexec msmtp \"$@\"\n".write(to: slow, atomically: true, encoding: .utf8)
        chmod(slow.path, 0o755)
        let command = "\(slow.path) --host=127.0.0.1 --port=\(sink.port) --auth=off --tls=off --from=deferment-desk@example.gov.tw -t"
        let p = Process()
        p.executableURL = deferment
        p.arguments = ["mail", "send", "--root", root.path, "--seeds", seedsFolder.path, "--command", command]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let spool = MailSpool(root: desk.mailSpool)
        let deadline = Date().addingTimeInterval(20)
        var inFlight: [String] = []
        while inFlight.isEmpty && Date() < deadline {
            inFlight = ((try? FileManager.default.contentsOfDirectory(atPath: spool.sending.path)) ?? []).filter { $0.hasSuffix(".eml") }
            usleep(20_000)
        }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let interrupted = try #require(inFlight.first)
        sleep(3) // the orphaned sendmail may still deliver it: that is the one time it goes out
        let command2 = "msmtp --host=127.0.0.1 --port=\(sink.port) --auth=off --tls=off --from=deferment-desk@example.gov.tw -t"
        let r = try runCLI(["mail", "send", "--root", root.path, "--seeds", seedsFolder.path, "--command", command2])
        #expect(r.out.contains("移至 failed/ 1"))
        #expect(FileManager.default.fileExists(atPath: spool.failed.appendingPathComponent(interrupted).path))
        // Every other message went out exactly once; the interrupted one at most once.
        let ids = try ParsedMail.parse(sink.received.map(\.message)).values.map(\.message_id)
        #expect(Set(ids).count == ids.count)
        #expect(ids.count == spooled.count || ids.count == spooled.count - 1)
        #expect(try Self.messages(desk, in: spool.sent).count == spooled.count - 1)
    }

    /// Spooling is idempotent: a crash after writing a message but before marking it spooled
    /// does not write a second copy (even if the first was already sent).
    @Test func spoolingNeverWritesASecondCopy() throws {
        let (_, desk) = try Self.cycle()
        let spool = MailSpool(root: desk.mailSpool)
        let files = try Self.messages(desk)
        // Simulate: the first message was sent, then the database forgot it was spooled.
        try FileManager.default.createDirectory(at: spool.sent, withIntermediateDirectories: true)
        try FileManager.default.moveItem(at: files[0], to: spool.sent.appendingPathComponent(files[0].lastPathComponent))
        try desk.store.queue.write { try $0.execute(sql: "UPDATE mail_queue SET spooled_at = NULL") }
        #expect(try desk.spoolMail() == 0)
        #expect(try Self.messages(desk).count == files.count - 1)
        #expect(try desk.store.queue.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM mail_queue WHERE spooled_at IS NULL") } == 0)
    }

    /// RFC 2047 headers decode back exactly, however long the subject.
    @Test(arguments: ["短主旨", "【在學緩徵】" + String(repeating: "國立臺灣師範大學附屬高級中學", count: 4) + " 審核結果（核准 12 筆、未核准 3 筆）", "ASCII only subject", "含 =? 與 ?= 的主旨"])
    func headersDecodeBack(_ subject: String) throws {
        let m = MailMessage(from: .init(name: "在學緩徵作業系統", address: "desk@example.gov.tw"), to: .init(address: "a@example.edu.tw"),
                            subject: subject, body: "第一行\n第二行：https://example.gov.tw/schools/110000/\n", date: Date(timeIntervalSince1970: 1_790_000_000),
                            messageID: "deferment-1-test@example.gov.tw")
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("m-\(UUID().uuidString).eml")
        try m.rfc5322.write(to: url)
        let parsed = try #require(try ParsedMail.parse([url])[url.path])
        #expect(parsed.subject == subject)
        #expect(parsed.from == "在學緩徵作業系統 <desk@example.gov.tw>")
        #expect(parsed.body == "第一行\r\n第二行：https://example.gov.tw/schools/110000/\r\n" || parsed.body == "第一行\n第二行：https://example.gov.tw/schools/110000/\n")
        #expect(parsed.longest_line <= 78)
        #expect(parsed.defects.isEmpty)
        #expect(parsed.message_id == "<deferment-1-test@example.gov.tw>")
    }
}

/// A loopback port that refuses connections: bound by this process but not listening.
///
/// A port merely picked at random may be free in Linux's ephemeral range (32768–60999); a
/// connection to it can then be given that very port as its source and connect to itself
/// (TCP simultaneous open), and the SMTP client waits forever for its own greeting. Holding the
/// port bound keeps both the kernel's port choice and any server away from it.
final class ClosedPort {
    let port: Int
    private var fd: Int32

    init() throws {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard s >= 0 else { throw NSError(domain: "ClosedPort", code: Int(errno)) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, length) == 0 && getsockname(s, $0, &length) == 0 }
        }
        guard bound else { close(s); throw NSError(domain: "ClosedPort", code: Int(errno)) }
        fd = s
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func release() {
        if fd >= 0 { close(fd); fd = -1 }
    }
}
