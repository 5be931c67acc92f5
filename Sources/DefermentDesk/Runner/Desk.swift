import Foundation
import GRDB
import Logging
import DefermentCore
import DefermentFiles
import DefermentStore
import DefermentSite

/// What happened to one dropped file in a run.
public struct FileOutcome: Sendable {
    public enum Result: Sendable, Equatable {
        /// Applied in one transaction; a summary line with counts only.
        case applied(String)
        /// The same bytes were applied before: nothing done (重複檔案).
        case duplicate(String)
        /// Refused as a whole: moved to `outbox/rejected/` with a report (退件).
        case rejected(FileRejection)
        /// Still being written: left for a later run.
        case stillGrowing
        /// A failure that is not the file's content (disk, database): the file is put on hold
        /// for a retry; or the run was stopped: the file stays queued.
        case failed(String)
    }
    public var kind: InputKind
    public var name: String
    public var result: Result
    /// Roster details, when a roster was applied.
    public var roster: RosterFileSummary?
}

/// The summary of a run (處理摘要).
public struct RunSummary: Sendable {
    public var files: [FileOutcome] = []

    /// One line per file, as `run` prints it (names on one line: a newline in a name cannot
    /// forge a line).
    public var lines: [String] {
        if files.isEmpty { return ["沒有待處理的檔案。"] }
        return files.map { f in
            let label = f.kind.label, name = ShownText.escaped(f.name)
            switch f.result {
            case .applied(let line): return "✔ \(label) \(name)：\(line)"
            case .duplicate(let why): return "＝ \(label) \(name)：\(why)"
            case .rejected(let r): return "✘ \(label) \(name)：退件。\(r.problem) 說明已放在 outbox/rejected/。"
            case .stillGrowing: return "… \(label) \(name)：檔案仍在寫入中，留待下次處理。"
            case .failed(let why): return "! \(label) \(name)：處理失敗，檔案保留於佇列（\(why)）"
            }
        }
    }
    public var rejectedCount: Int { files.filter { if case .rejected = $0.result { return true }; return false }.count }
    public var failedCount: Int { files.filter { if case .failed = $0.result { return true }; return false }.count }
}

/// Thrown from a progress callback to abandon the current file; its transaction rolls back and
/// the file stays queued.
public struct StopRequested: Error {}

/// The deferment desk on one root: claims dropped files, applies each in one transaction,
/// archives the raw input and refuses unreadable files with a report.
public final class Desk {
    public let paths: DeskPaths
    public let store: DeskStore
    public private(set) var reference: ReferenceData
    private let seedsDirectory: URL
    private let lock: RootLock
    let logger: Logger
    /// A file written in place must be closed and unchanged this long before it is claimed
    /// (`settle_seconds` in `settings.csv`, default 3); a file renamed in is taken at once.
    public var settleSeconds: Double = 3
    /// How long `run` waits for a growing file before leaving it for later.
    public var maximumSettleWait: Double = 30
    /// Entries refused by a scan and reported by this process already (a `watch` reports each once).
    var reportedEntries: Set<String> = []
    /// Paths the watcher saw renamed into the inbox (complete: taken without a settle time).
    public var renamedIn: Set<String> = []
    /// Roster intake's memory and speed settings.
    public var rosterTuning = RosterIntake.Tuning()

    /// The read-ahead of a large roster after a registry extract (the runner's one scheduling
    /// decision beyond file order).
    let schedule = ReadAheadSchedule()
    /// Seconds before a held file is tried again, doubled per attempt (`hold_retry_seconds`).
    public var holdRetrySeconds: Double = 60

    /// The time zone of the desk's calendar days (arrival days, archive folders).
    public static let timeZone = TimeZone(identifier: "Asia/Taipei")!

    /// The page templates (the first of ``SharedFiles/locate(_:given:root:executable:)``).
    public let templatesDirectory: URL

    /// Opens a root: takes its lock (or throws ``RootLock/Held``), creates its folders, opens the
    /// database and loads the reference data of `seeds`.
    public init(root: URL, seeds: URL? = nil, templates: URL? = nil, logger: Logger = Logger(label: "deferment")) throws {
        Self.makeOwnerOnlyUmask()
        paths = DeskPaths(root: root)
        templatesDirectory = (try? SharedFiles.locate(.templates, given: templates, root: paths.root))
            ?? paths.root.appendingPathComponent("templates")
        lock = try RootLock(paths: paths)
        try paths.createFolders()
        hostKey = try HostKey.load(paths.hostKey)
        self.logger = logger
        seedsDirectory = (try? SharedFiles.locate(.seeds, given: seeds, root: paths.root)) ?? paths.root.appendingPathComponent("seeds")
        store = try DeskStore(path: paths.database.path)
        reference = try ReferenceData.load(from: seedsDirectory)
        if let value = reference.settings["settle_seconds"].flatMap(Double.init), value >= 0 { settleSeconds = value }
        if let value = reference.settings["hold_retry_seconds"].flatMap(Double.init), value >= 0 { holdRetrySeconds = value }
        try applySeeds(reference)
        try sealAccountKeys()
        createCountyFolders()
    }

    /// The umask the process was started with: the inbox folders follow it.
    public private(set) nonisolated(unsafe) static var operatorUmask: mode_t = 0o022
    nonisolated(unsafe) private static var umaskTaken = false
    /// Everything the desk creates is owner-only unless it says otherwise (the site, the
    /// inbox), whatever umask the desk was started with.
    private static func makeOwnerOnlyUmask() {
        let previous = umask(0o077)
        if !umaskTaken { operatorUmask = previous; umaskTaken = true }
    }
    /// Seals account data keys in the database (``HostKey``).
    let hostKey: HostKey

    /// Creates `inbox/decisions/<county>/` for every county, so staff know where to drop, and
    /// the Maildir (`mail_inbox`) mail servers deliver into.
    func createCountyFolders() {
        for c in reference.counties.counties where PathGate.accepts(c.code, as: .countyCode) {
            try? FileManager.default.createDirectory(at: paths.decisions(county: c.code), withIntermediateDirectories: true)
        }
        for sub in ["new", "cur", "tmp"] { try? AtomicFile.makeFolders(mailInbox.appendingPathComponent(sub), mode: 0o700) }
    }

    /// Reloads `seeds/` if any file changed since it was last loaded.
    public func reloadSeedsIfChanged() throws {
        let fresh = try ReferenceData.load(from: seedsDirectory)
        if fresh.fileHashes != reference.fileHashes {
            logger.info("參考資料已變更，重新載入")
            try applySeeds(fresh)
        }
        reference = fresh
        createCountyFolders()
    }

    private func applySeeds(_ data: ReferenceData) throws {
        var changed: [String] = []
        for (name, hash) in data.fileHashes where try store.seedHash(name) != hash { changed.append(name) }
        guard !changed.isEmpty else { return }
        try store.queue.write { db in
            try DeskStore.saveCounties(db, data.counties.counties)
            for s in data.schools {
                try DeskStore.saveSeedSchool(db, code: s.code, name: s.name, countyCode: s.countyCode, email: s.email)
            }
            for url in data.registryFiles where changed.contains("registry/" + url.lastPathComponent) {
                let result = try RegistryIntake(reference: data).apply(db, fileID: nil, url: url) { _ in }
                logger.info("載入參考役政資料 \(url.lastPathComponent)：\(result.rows) 筆，略過 \(result.problems.count) 筆")
            }
            for name in changed { try DeskStore.recordSeed(db, name: name, sha256: data.fileHashes[name]!) }
        }
        logger.info("參考資料已載入：\(changed.sorted().joined(separator: ", "))")
    }

    /// Regenerates the static site in `outbox/site/` from the database. Only schools whose rows
    /// changed since the last build are rendered again; only files whose bytes changed are written.
    @discardableResult
    public func publishSite(force: Bool = false) throws -> SiteBuildResult {
        try ensureAccounts()
        let builder = try SiteBuilder(databasePath: paths.database.path, templatesDirectory: templatesDirectory,
                                      outputDirectory: paths.site, rules: reference.rules, today: Self.day(of: Date()),
                                      accounts: try accounts(), signToken: TokenSigner(key: try decisionTokenKey()).sign)
        builder.returnAddress = mailReturnAddress
        // Pieces of decision workbooks that earlier versions kept between builds (personal data
        // nothing reads any more).
        try? FileManager.default.removeItem(at: paths.legacySiteCache)
        let result = try builder.build(store: store, force: force)
        let counts = "產生 \(result.rendered) 頁／檔，寫入 \(result.written)，移除 \(result.removed)，"
            + "重繪學校 \(result.schoolsRendered)、沿用 \(result.schoolsKept)，重繪各校名冊 \(result.rostersRendered)、沿用 \(result.rostersKept)，"
            + "審核名冊 \(result.workbooks) 份（執行緒合計 \(Self.seconds(result.workbookSeconds, 1)) 秒）"
        logger.info("網站已更新：\(counts)（共 \(Self.seconds(result.seconds, 1)) 秒）")
        let phases = result.phases.map { "\($0.0) \(Self.seconds($0.1))" }.joined(separator: "、")
        logger.debug("網站各階段（秒）：\(phases)、合計 \(Self.seconds(result.seconds))")
        return result
    }

    /// Seconds as the log shows them.
    static func seconds(_ value: Double, _ digits: Int = 3) -> String { String(format: "%.\(digits)f", value) }

    // MARK: - Running

    /// The calendar day of `date` in Taiwan (the desk's day).
    public static func day(of date: Date) -> CivilDate {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = timeZone
        let c = cal.dateComponents([.year, .month, .day], from: date)
        return CivilDate(year: c.year!, month: c.month!, day: c.day!)!
    }

    /// When a file last changed (its arrival, for a dropped file).
    func modificationDate(_ url: URL) -> Date {
        ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.modificationDate] as? Date) ?? Date()
    }

    /// Processes every waiting file once: held files whose time has come (all with `flush`),
    /// files claimed by an interrupted run, then the drop folders, each kind by its handler.
    /// - Parameters:
    ///   - progress: called with the file name and rows read so far, every 10,000 rows.
    ///   - shouldStop: polled between files and during long files; returning true stops the run,
    ///     leaving the current file queued and the database as before it.
    ///   - spoolsMail: whether the run ends by writing its notifications into the mail spool
    ///     (``spoolNotifications()``); `watch` does it after publishing instead.
    public func runOnce(flush: Bool = false, progress: @escaping (String, Int) -> Void = { _, _ in },
                        shouldStop: @escaping () -> Bool = { false }, spoolsMail: Bool = true) throws -> RunSummary {
        let runStarted = Date()
        var claiming = 0.0, processing = 0.0
        try reloadSeedsIfChanged()
        releaseHeldFiles(flush: flush)
        var summary = RunSummary()
        takeMail(into: &summary)
        let (candidates, refused) = scanInbox()
        let scanned = Date()
        for entry in refused { report(entry, into: &summary) }
        schedule.largeRosterWaiting = candidates.contains { c in
            c.kind == .rosters && rosterTuning.readsRegistryIntoMemory(fileSize: fileSize(of: c.url))
        }
        // A file renamed in is claimed in the run that follows the event: what is left (a name
        // that is ignored, one already gone) is forgotten, so a long `watch` keeps no list.
        defer { schedule.reset(); renamedIn.removeAll() }
        var claimedAhead: [Int: URL] = [:]
        var skipped: Set<Int> = []
        for (index, candidate) in candidates.enumerated() where !skipped.contains(index) {
            if shouldStop() { break }
            var url = candidate.url
            let claimStarted = Date()
            if let claimed = claimedAhead[index] {
                url = claimed
            } else if !candidate.claimed {
                guard let claimed = claim(candidate, into: &summary) else { continue }
                url = claimed
            }
            claiming += Date().timeIntervalSince(claimStarted)
            let processStarted = Date()
            defer { processing += Date().timeIntervalSince(processStarted) }
            let ahead = scheduleReadAhead(after: index, of: candidates, summary: &summary)
            if let next = ahead.url { claimedAhead[index + 1] = next }
            if ahead.skip { skipped.insert(index + 1) }
            let outcome = process(kind: candidate.kind, url: url, name: candidate.name, county: candidate.county,
                                  progress: progress, shouldStop: shouldStop)
            summary.files.append(outcome)
            if case .failed = outcome.result, shouldStop() { break }
        }
        let mailStarted = Date()
        if spoolsMail { spoolNotifications() }
        if !summary.files.isEmpty {
            let shown = [("掃描", scanned.timeIntervalSince(runStarted)), ("認領", claiming), ("檔案", processing),
                         ("通知信", Date().timeIntervalSince(mailStarted))].map { "\($0.0) \(Self.seconds($0.1))" }
            logger.debug("執行各階段（秒）：\(shown.joined(separator: "、"))")
        }
        return summary
    }

    /// Writes what runs queued (notices, reminders, receipts) into the mail spool as messages;
    /// a failure is logged and left for the next run.
    public func spoolNotifications() {
        do {
            try queueReminders()
            try queueReceipts()
            try spoolMail()
        } catch {
            logger.error("通知信寫入失敗（留待下次）：\(error)")
        }
    }

    /// Roster intake with this desk's tuning.
    func rosterIntake(_ reference: ReferenceData) -> RosterIntake {
        var intake = RosterIntake(reference: reference)
        intake.tuning = rosterTuning
        return intake
    }

    func archivePath(kind: InputKind, sha: String, name: String, county: String? = nil) -> URL {
        let day = Self.day(of: Date())
        let month = String(day.iso.prefix(7))
        let folder = county.map { "\(kind.rawValue)/\($0)" } ?? kind.rawValue
        return paths.archive.appendingPathComponent("\(folder)/\(month)/\(sha.prefix(16))-\(StoredName.of(name))")
    }

    /// Takes one claimed file through the runner's steps: the ledger (a repeat is a no-op), the
    /// handler of its kind, then the archive, or `outbox/rejected/` with a report (content
    /// refused), or the hold state (any other failure). Never throws: every outcome is reported.
    func process(kind: InputKind, url: URL, name: String, county: String? = nil, progress: @escaping (String, Int) -> Void,
                 shouldStop: @escaping () -> Bool) -> FileOutcome {
        var outcome = FileOutcome(kind: kind, name: name, result: .failed(""))
        let shown = "\(kind.rawValue)/" + (county.map { "\($0)/" } ?? "") + ShownText.escaped(name)
        // A roster read ahead: its reading (already under way) and digest are taken over.
        let ahead = kind == .rosters ? schedule.takeReading(for: url) : nil
        var sha = ""
        let ledgerStarted = Date()
        do {
            sha = try ahead?.digest.value() ?? FileDigest.sha256(of: url)
            if let repeated = try repeatedFile(url, sha: sha, name: name) {
                outcome.result = repeated
                logger.info("重複檔案 \(shown)，未重複處理")
                return outcome
            }
            let archive = archivePath(kind: kind, sha: sha, name: name, county: county)
            let file = ClaimedFile(kind: kind, url: url, name: name, county: county, sha: sha, archive: archive,
                                   relativeArchive: String(archive.path.dropFirst(paths.root.path.count + 1)),
                                   arrivalDay: Self.day(of: modificationDate(url)), readAhead: ahead)
            let started = Date()
            let handled = try handler(for: kind).handle(file) { rows in
                progress(name, rows)
                if shouldStop() { throw StopRequested() }
            }
            let archiving = Date()
            if let copy = handled.archivedCopy {
                try AtomicFile.write(copy, to: archive)
                try QueueFiles.remove(url)
            } else {
                try QueueFiles.move(url, to: archive)
            }
            let ledger = Self.seconds(started.timeIntervalSince(ledgerStarted))
            let handling = Self.seconds(archiving.timeIntervalSince(started))
            logger.debug("\(shown)：帳本 \(ledger)、處理 \(handling)、歸檔 \(Self.seconds(Date().timeIntervalSince(archiving))) 秒")
            outcome.result = .applied(handled.line)
            outcome.roster = handled.roster
            logger.info("已處理 \(shown)：\(handled.line)（\(Self.seconds(Date().timeIntervalSince(started), 1)) 秒）")
        } catch let rejection as FileRejection {
            outcome.result = .rejected(rejection)
            reject(url: url, name: name, kind: kind, county: county, sha: sha, rejection)
        } catch is StopRequested {
            outcome.result = .failed("已中止，檔案保留於佇列，下次執行時重新處理")
            logger.notice("中止處理 \(shown)；檔案保留於佇列")
        } catch {
            outcome.result = .failed(hold(url, kind: kind, county: county, error: error))
            logger.error("處理 \(shown) 失敗，已移至暫緩區：\(error)")
        }
        if kind == .registry {
            if case .applied = outcome.result {} else { schedule.extractFailed() }
        }
        return outcome
    }

    /// A file whose bytes the ledger has seen: a no-op that is reported (重複檔案), or the archive
    /// move that a run interrupted after its commit; `nil` for a new file.
    private func repeatedFile(_ url: URL, sha: String, name: String) throws -> FileOutcome.Result? {
        guard let earlier = try store.ledgerEntry(sha256: sha) else { return nil }
        let archived = paths.root.appendingPathComponent(earlier.archivedPath)
        if !FileManager.default.fileExists(atPath: archived.path) {
            try QueueFiles.move(url, to: archived)
            return .applied(earlier.summary + "（前次中斷，已補完歸檔）")
        }
        try QueueFiles.move(url, to: QueueFiles.unusedPath(in: paths.archive.appendingPathComponent("duplicates"),
                                                           name: "\(sha.prefix(16))-\(StoredName.of(name))"))
        return .duplicate("與 \(earlier.receivedAt) 已處理的「\(ShownText.escaped(earlier.originalName))」內容完全相同，未重複處理。")
    }

    /// Moves a refused file to `outbox/rejected/` with a zh-TW report beside it.
    private func reject(url: URL, name: String, kind: InputKind, county: String?, sha: String, _ rejection: FileRejection) {
        var folder = paths.rejected
        if kind == .decisions {
            folder = folder.appendingPathComponent("decisions/\(county ?? "未放入縣市資料夾")")
            noteRejectedDecisionFile(county: county, name: name, sha: sha, rejection)
        }
        let target = QueueFiles.unusedPath(in: folder, name: StoredName.of(name))
        let report = rejectionReport(name: name, kind: kind, rejection, outcome: "整個檔案未處理，資料庫中原有資料均未變動。")
        do {
            if let copy = rejection.keptCopy {
                try AtomicFile.write(copy, to: target)
                try QueueFiles.remove(url)
            } else if kind == .accounts {
                // An account request that could not be read may hold passwords: not kept.
                try QueueFiles.remove(url)
            } else {
                try QueueFiles.move(url, to: target)
            }
            try QueueFiles.writeAtomically(report, to: target.deletingLastPathComponent()
                .appendingPathComponent(target.lastPathComponent + ".退件說明.txt"))
        } catch {
            logger.error("無法移動退件檔案 \(ShownText.escaped(name))：\(error)")
        }
        logger.warning("退件 \(kind.rawValue)/\(ShownText.escaped(name))：\(rejection.problem)")
    }

    /// A refusal's report (退件說明), for the person who sent the file.
    func rejectionReport(name: String, kind: InputKind, _ rejection: FileRejection, outcome: String) -> String {
        let formatter = DateFormatter()
        formatter.timeZone = Self.timeZone
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return """
        退件通知
        檔案名稱：\(ShownText.escaped(name))
        檔案類別：\(kind.label)
        處理時間：\(formatter.string(from: Date()))
        結果：\(outcome)

        問題：\(rejection.problem)
        處理方式：\(rejection.fix)

        """
    }
}
