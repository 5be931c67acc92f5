import Crypto
import Foundation
import GRDB
import DefermentCore
import DefermentFiles
import DefermentStore
import DefermentSite
#if canImport(Glibc)
import Glibc
#endif

/// The mail settings of `seeds/settings.csv` (通知信設定), with their defaults.
public struct MailSettings: Sendable {
    /// The site's public base URL, ending in `/`; links in messages start with it.
    public var siteBaseURL: String
    public var from: MailMessage.Mailbox
    /// A sendmail-compatible command reading the message on stdin (recipients from its headers).
    public var command: [String]
    public var maxAttempts: Int
    /// Seconds before the first retry; doubled for each further one.
    public var retrySeconds: Double
    /// Rows pending at a county longer than this bring a weekly reminder.
    public var reminderDays: Int

    public init(_ settings: [String: String]) {
        var base = settings["site_base_url"] ?? "http://127.0.0.1:8080/"
        if !base.hasSuffix("/") { base += "/" }
        siteBaseURL = base
        from = MailMessage.Mailbox(name: settings["mail_from_name"] ?? "在學緩徵作業系統",
                                   address: settings["mail_from"] ?? "deferment-desk@localhost")
        // DEFERMENT_MAIL_COMMAND overrides the setting (e.g. for a staging machine).
        let configured = ProcessInfo.processInfo.environment["DEFERMENT_MAIL_COMMAND"] ?? settings["mail_command"] ?? "msmtp -t"
        command = configured.split(separator: " ").map(String.init)
        maxAttempts = max(1, Int(settings["mail_max_attempts"] ?? "") ?? 5)
        retrySeconds = max(0, Double(settings["mail_retry_seconds"] ?? "") ?? 60)
        reminderDays = max(1, Int(settings["reminder_days"] ?? "") ?? 14)
    }
}

extension Desk {
    /// The mail settings from `seeds/settings.csv`.
    public var mailSettings: MailSettings { MailSettings(reference.settings) }

    /// The mail spool (`outbox/mail/`).
    public var mailSpool: URL { paths.outbox.appendingPathComponent("mail") }

    // MARK: - Queueing (inside the transaction of the change that causes the message)

    /// Queues one message per county a roster assigned rows to, per upload date (the first
    /// roster of a date for that county; later ones of the same date send none).
    func queueRosterNotices(_ db: Database, summary: RosterFileSummary) throws {
        let settings = mailSettings
        for date in summary.uploadDates {
            for county in summary.byCounty.keys.sorted() {
                guard let c = reference.counties.county(code: county),
                      let to = try DeskStore.notificationAddress(db, account: county, fallback: c.email) else { continue }
                let rows = try Row.fetchAll(db, sql: """
                    SELECT roster_kind, SUM(n), COUNT(DISTINCT school_code) FROM roster_counts
                    WHERE county_code = ? AND upload_date = ? GROUP BY roster_kind ORDER BY roster_kind DESC
                    """, arguments: [county, date.iso])
                guard !rows.isEmpty else { continue }
                let schools = try Int.fetchOne(db, sql: """
                    SELECT COUNT(DISTINCT school_code) FROM roster_counts WHERE county_code = ? AND upload_date = ?
                    """,
                                               arguments: [county, date.iso]) ?? 0
                var total = 0
                let rosters: [[String: Any]] = rows.map { r in
                    let n: Int = r[1]
                    total += n
                    return ["name": DecisionWorkbook.sheetName(RosterKind(rawValue: r[0]) ?? .application), "count": n]
                }
                try DeskStore.queueMail(db, key: "county-roster:\(county):\(date.iso)", kind: "county-roster", account: county,
                                        recipient: to, context: [
                    "countyName": c.name, "countyCode": county, "uploadDate": date.roc, "rosters": rosters, "total": total,
                    "schools": schools, "link": settings.siteBaseURL + "counties/\(county)/", "returnAddress": mailReturnAddress,
                ])
            }
        }
    }

    /// Queues one message per school whose results a signed-off decision file changed.
    func queueResultNotices(_ db: Database, county: String, fileID: Int64,
                            changes: [String: [String: (approved: Int, refused: Int)]]) throws {
        let settings = mailSettings
        let countyName = reference.counties.county(code: county)?.name ?? county
        for (school, byDate) in changes.sorted(by: { $0.key < $1.key }) {
            guard let row = try Row.fetchOne(db, sql: "SELECT name, email FROM school WHERE code = ?", arguments: [school]),
                  let to = try DeskStore.notificationAddress(db, account: school, fallback: row[1]) else { continue }
            let dates: [[String: Any]] = byDate.sorted { $0.key > $1.key }.map {
                ["uploadDate": CivilDate.shown($0.key), "approved": $0.value.approved, "refused": $0.value.refused]
            }
            try DeskStore.queueMail(db, key: "school-results:\(school):\(fileID)", kind: "school-results", account: school, recipient: to,
                                    context: [
                "schoolName": row[0] as String, "schoolCode": school, "countyName": countyName, "dates": dates,
                "approved": byDate.values.reduce(0) { $0 + $1.approved }, "refused": byDate.values.reduce(0) { $0 + $1.refused },
                "link": settings.siteBaseURL + "schools/\(school)/",
            ])
        }
    }

    /// Queues a reminder to every county with rows pending longer than the set number of days
    /// (counted from the day the desk received the roster), at most one per county per week.
    public func queueReminders(today: CivilDate? = nil) throws {
        let settings = mailSettings
        let day = today ?? Self.day(of: Date())
        var calendar = Calendar(identifier: .iso8601)
        calendar.timeZone = Self.timeZone
        let noon = calendar.date(from: DateComponents(year: day.year, month: day.month, day: day.day, hour: 12))!
        let week = calendar.dateComponents([.yearForWeekOfYear, .weekOfYear], from: noon)
        let weekKey = String(format: "%04d-W%02d", week.yearForWeekOfYear!, week.weekOfYear!)
        // received_at is UTC (SQLite's datetime('now')); days count in the desk's time zone.
        let utc = DateFormatter()
        utc.timeZone = TimeZone(identifier: "UTC")
        utc.dateFormat = "yyyy-MM-dd HH:mm:ss"
        try store.queue.write { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT c.county_code, SUM(c.n), MIN(c.upload_date),
                       (SELECT MIN(f.received_at) FROM input_file f WHERE f.kind = 'rosters' AND f.upload_date = MIN(c.upload_date))
                FROM roster_counts c WHERE c.review_state = '待審核' AND c.county_code <> '' GROUP BY c.county_code
                """)
            for r in rows {
                let county: String = r[0]
                guard let oldest: String = r[2], let c = reference.counties.county(code: county) else { continue }
                let since = (r[3] as String?).flatMap(utc.date(from:)).map(Self.day(of:)) ?? CivilDate.parse(oldest) ?? day
                let days = day.daysSinceEpoch - since.daysSinceEpoch
                guard days > settings.reminderDays,
                      let to = try DeskStore.notificationAddress(db, account: county, fallback: c.email) else { continue }
                try DeskStore.queueMail(db, key: "county-reminder:\(county):\(weekKey)", kind: "county-reminder", account: county,
                                        recipient: to, context: [
                    "countyName": c.name, "pending": r[1] as Int, "oldest": oldest, "days": days, "limit": settings.reminderDays,
                    "link": settings.siteBaseURL + "counties/\(county)/",
                ])
            }
        }
    }

    // MARK: - Spooling

    /// Writes every queued message into `outbox/mail/` once, as `<id>-<kind>.eml`, atomically.
    /// A school's result notices queued since the last pass (one per decision file) go out as one
    /// message summarising them; the message lists the queue ids it carries
    /// (`X-Deferment-Queue-IDs`). A message whose file already exists anywhere in the spool
    /// (ready, sending, sent or failed) is only marked, for exactly the ids it lists: a crash
    /// between writing and marking never makes a second copy.
    @discardableResult
    public func spoolMail() throws -> Int {
        let queued = try store.queue.read { try DeskStore.unspooledMail($0) }
        guard !queued.isEmpty else { return 0 }
        let templates = try MailTemplates(directory: templatesDirectory.appendingPathComponent("mail"))
        let settings = mailSettings
        let spool = MailSpool(root: mailSpool)
        var groups: [[QueuedMail]] = []
        var schoolGroup: [String: Int] = [:]
        for mail in queued {
            if mail.kind == "school-results", let i = schoolGroup[mail.account] { groups[i].append(mail); continue }
            if mail.kind == "school-results" { schoolGroup[mail.account] = groups.count }
            groups.append([mail])
        }
        var written = 0
        for group in groups {
            let first = group[0]
            let name = String(format: "%08lld-%@.eml", first.id, first.kind)
            var carried = group.map(\.id)
            if let existing = spool.find(name) {
                carried = MailSpool.queueIDs(in: existing) ?? [first.id]
            } else {
                let contexts = group.map { (try? JSONSerialization.jsonObject(with: Data($0.context.utf8)) as? [String: Any]) ?? [:] }
                let context = first.kind == "school-results" ? Self.mergeResultContexts(contexts) : contexts[0]
                let (subject, body) = try templates.render(first.kind, context)
                let domain = settings.from.address.split(separator: "@").last.map(String.init) ?? "localhost"
                let message = MailMessage(from: settings.from, to: MailMessage.Mailbox(address: first.recipient), subject: subject,
                                          body: body,
                                          date: Date(), messageID: "deferment-\(first.id)-\(first.kind)@\(domain)",
                                          extraHeaders: [("X-Deferment-Kind", first.kind), ("Auto-Submitted", "auto-generated"),
                                                         ("X-Deferment-Queue-IDs", carried.map(String.init).joined(separator: ", "))])
                try AtomicFile.write(message.rfc5322, to: mailSpool.appendingPathComponent(name))
                written += 1
            }
            try store.queue.write { db in for id in carried { try DeskStore.markSpooled(db, id: id) } }
        }
        if written > 0 { logger.info("通知信已寫入 outbox/mail/：\(written) 封") }
        return written
    }

    /// One school's result notices as one: counts per upload date summed, counties listed.
    static func mergeResultContexts(_ contexts: [[String: Any]]) -> [String: Any] {
        guard var merged = contexts.first else { return [:] }
        var byDate: [String: (Int, Int)] = [:]
        var counties: [String] = []
        for c in contexts {
            if let name = c["countyName"] as? String, !counties.contains(name) { counties.append(name) }
            for d in (c["dates"] as? [[String: Any]]) ?? [] {
                let date = d["uploadDate"] as? String ?? ""
                let (a, r) = byDate[date] ?? (0, 0)
                byDate[date] = (a + (d["approved"] as? Int ?? 0), r + (d["refused"] as? Int ?? 0))
            }
        }
        merged["countyName"] = counties.joined(separator: "、")
        merged["dates"] = byDate.sorted { $0.key > $1.key }.map { ["uploadDate": $0.key, "approved": $0.value.0, "refused": $0.value.1] }
        merged["approved"] = byDate.values.reduce(0) { $0 + $1.0 }
        merged["refused"] = byDate.values.reduce(0) { $0 + $1.1 }
        return merged
    }
}

/// The folders of the mail spool: ready messages in `outbox/mail/`, then `sending/`, `sent/`
/// or `failed/` (with `<name>.error.txt` beside it).
public struct MailSpool: Sendable {
    public let root: URL
    public init(root: URL) { self.root = root }
    public var sending: URL { root.appendingPathComponent("sending") }
    public var sent: URL { root.appendingPathComponent("sent") }
    public var failed: URL { root.appendingPathComponent("failed") }

    /// Where a message is, if it is anywhere in the spool.
    func find(_ name: String) -> URL? {
        [root, sending, sent, failed].map { $0.appendingPathComponent(name) }.first { FileManager.default.fileExists(atPath: $0.path) }
    }

    /// The queue ids a spooled message carries (its `X-Deferment-Queue-IDs` header).
    static func queueIDs(in message: URL) -> [Int64]? {
        guard let data = try? Data(contentsOf: message) else { return nil }
        let head = String(decoding: data.prefix(4096), as: UTF8.self)
        for line in head.components(separatedBy: "\r\n") {
            if line.isEmpty { break }
            if line.hasPrefix("X-Deferment-Queue-IDs:") {
                return line.dropFirst("X-Deferment-Queue-IDs:".count).split(separator: ",")
                    .compactMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
            }
        }
        return nil
    }

    /// Messages ready to send (some may be waiting for their retry time), oldest first.
    public func ready() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? [])
            .filter { $0.hasSuffix(".eml") && !$0.hasPrefix(".") }.sorted()
    }
}

/// What a delivery pass did.
public struct MailSendSummary: Sendable, Equatable {
    public var sent = 0
    /// Failed this time, to be retried later.
    public var retrying = 0
    /// Moved to `failed/` (out of attempts, or interrupted while being handed over).
    public var failed = 0
    /// Waiting for their next retry time.
    public var waiting = 0
    /// Another sender was already running: nothing done.
    public var busy = false
}

/// Delivers the spool through a sendmail-compatible program (Debian's msmtp is the reference).
///
/// Guarantee: a message is handed to the program at most once per attempt, and a message whose
/// hand-over was interrupted by a crash is never handed over again automatically (it cannot be
/// known whether the program accepted it): the next pass moves it from `sending/` to `failed/`
/// with a note, for an operator to check and move back. No message is lost: each one is always
/// in exactly one of `outbox/mail/`, `sending/`, `sent/` or `failed/`, moved by `rename(2)`.
public final class MailSender: @unchecked Sendable {
    public let spool: MailSpool
    public let settings: MailSettings
    /// Seconds a hand-over may take before it counts as failed.
    public var timeout: Double = 120

    public init(spool: MailSpool, settings: MailSettings) {
        self.spool = spool
        self.settings = settings
    }

    /// One delivery pass over the ready messages.
    /// - Parameter beforeEach: called before each message is handed over (`watch` waits there
    ///   while it processes files or publishes, so delivery never competes with them).
    public func sendAll(now: Date = Date(), beforeEach: () -> Void = {}) throws -> MailSendSummary {
        var summary = MailSendSummary()
        let fm = FileManager.default
        for dir in [spool.root, spool.sending, spool.sent, spool.failed] {
            try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        }
        // One sender at a time per spool (watch's background sender and `mail send`).
        let lockFD = open(spool.root.appendingPathComponent(".sender.lock").path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lockFD >= 0 else { throw CocoaError(.fileWriteNoPermission) }
        defer { close(lockFD) }
        guard flock(lockFD, LOCK_EX | LOCK_NB) == 0 else { summary.busy = true; return summary }
        defer { flock(lockFD, LOCK_UN) }

        // Interrupted hand-overs: never retried automatically (they may have gone out).
        for name in ((try? fm.contentsOfDirectory(atPath: spool.sending.path)) ?? []) where name.hasSuffix(".eml") {
            try fail(name, from: spool.sending, attempts: nil,
                     error: "投遞過程中斷（程式結束或當機），無法確認是否已寄出，為避免重複寄送未自動重寄。確認收件者未收到後，可將此檔移回 outbox/mail/ 重新寄送。")
            summary.failed += 1
        }
        for name in spool.ready() {
            var state = Attempts.read(spool.root, name)
            if let next = state.next, next > now { summary.waiting += 1; continue }
            beforeEach()
            let sending = spool.sending.appendingPathComponent(name)
            guard rename(spool.root.appendingPathComponent(name).path, sending.path) == 0 else { continue }
            let result = hand(over: sending)
            if result == nil {
                _ = rename(sending.path, spool.sent.appendingPathComponent(name).path)
                Attempts.remove(spool.root, name)
                summary.sent += 1
                continue
            }
            state.count += 1
            state.lastError = result!
            if state.count >= settings.maxAttempts {
                try fail(name, from: spool.sending, attempts: state.count, error: result!)
                Attempts.remove(spool.root, name)
                summary.failed += 1
            } else {
                state.next = now.addingTimeInterval(settings.retrySeconds * pow(2, Double(state.count - 1)))
                try state.write(spool.root, name)
                _ = rename(sending.path, spool.root.appendingPathComponent(name).path)
                summary.retrying += 1
            }
        }
        return summary
    }

    /// Runs the command with the message on stdin; `nil` on success, else the error.
    func hand(over message: URL) -> String? {
        guard let program = settings.command.first else { return "未設定寄信程式（settings.csv 的 mail_command）" }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [program] + settings.command.dropFirst()
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        do {
            p.standardInput = try FileHandle(forReadingFrom: message)
            try p.run()
        } catch {
            return "無法執行寄信程式 \(program)：\(error)"
        }
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if p.isRunning { p.terminate(); p.waitUntilExit(); return "寄信程式逾時（\(Int(timeout)) 秒）" }
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(),
                          as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return p.terminationStatus == 0 ? nil : "寄信程式結束代碼 \(p.terminationStatus)：\(text)"
    }

    private func fail(_ name: String, from folder: URL, attempts: Int?, error: String) throws {
        let target = spool.failed.appendingPathComponent(name)
        guard rename(folder.appendingPathComponent(name).path, target.path) == 0 else { return }
        let f = DateFormatter()
        f.timeZone = TimeZone(identifier: "Asia/Taipei")
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        var text = "通知信投遞失敗\n檔案：\(name)\n時間：\(f.string(from: Date()))\n"
        if let attempts { text += "已嘗試 \(attempts) 次。\n" }
        text += "原因：\(error)\n"
        try AtomicFile.write(Data(text.utf8), to: spool.failed.appendingPathComponent(name + ".error.txt"))
    }

    /// A message's delivery attempts so far, kept beside it as `.<name>.attempts`.
    struct Attempts {
        var count = 0
        var next: Date?
        var lastError = ""

        static func url(_ root: URL, _ name: String) -> URL { root.appendingPathComponent(".\(name).attempts") }

        static func read(_ root: URL, _ name: String) -> Attempts {
            guard let text = try? String(contentsOf: url(root, name), encoding: .utf8) else { return Attempts() }
            let lines = text.components(separatedBy: "\n")
            var a = Attempts()
            a.count = Int(lines.first ?? "") ?? 0
            if lines.count > 1, let t = Double(lines[1]) { a.next = Date(timeIntervalSince1970: t) }
            if lines.count > 2 { a.lastError = lines[2] }
            return a
        }

        func write(_ root: URL, _ name: String) throws {
            let text = "\(count)\n\(next?.timeIntervalSince1970 ?? 0)\n\(lastError.replacingOccurrences(of: "\n", with: " "))\n"
            try AtomicFile.write(Data(text.utf8), to: Self.url(root, name))
        }

        static func remove(_ root: URL, _ name: String) { try? FileManager.default.removeItem(at: url(root, name)) }
    }
}
