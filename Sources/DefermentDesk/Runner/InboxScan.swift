import Foundation
import DefermentCore
import DefermentFiles
#if canImport(Glibc)
import Glibc
#endif

/// Scanning the inbox and claiming files (收件): what is waiting, what is refused as an entry,
/// when a file is complete, and the atomic rename into the queue.
extension Desk {
    struct Candidate {
        var kind: InputKind
        var url: URL
        var name: String
        var orderDate: CivilDate
        var claimed: Bool
        /// For a decision workbook, the county folder it was dropped into.
        var county: String? = nil
    }

    /// Files waiting: first those claimed by an interrupted run, then the drop folders; registry,
    /// rosters, decisions, accounts, each by upload date, then name. Decision workbooks are
    /// looked for one level down, in the county folders. Entries are told by `lstat`: only
    /// regular files are candidates; a link, a FIFO, a socket, a device or a folder where none
    /// belongs is refused (left where it is) and one found in the queue is moved to its hold
    /// folder, so nothing there can block a run.
    func scanInbox() -> (files: [Candidate], refused: [RefusedEntry]) {
        var result: [Candidate] = []
        var refused: [RefusedEntry] = []
        func scan(_ folder: URL, kind: InputKind, claimed: Bool) {
            let countyFolders = kind == .decisions
            for entry in FolderEntry.all(in: folder, countyFolders: countyFolders) {
                let (url, name, county) = (entry.url, entry.name, entry.county)
                guard entry.type != .regularFile else {
                    let original = claimed ? QueueFiles.originalName(ofClaimed: url) : name
                    let date = uploadDate(inFileName: original) ?? Self.day(of: modificationDate(url))
                    result.append(Candidate(kind: kind, url: url, name: original, orderDate: date, claimed: claimed, county: county))
                    continue
                }
                let shownName = county.map { "\($0)/\(name)" } ?? name
                var refusal = RefusedEntry(kind: kind, name: shownName, type: entry.type.label,
                                           problem: "「\(ShownText.escaped(shownName))」是\(entry.type.label)，不是一般檔案，系統不會讀取或移動它。",
                                           fix: "請將檔案本身（不是連結、管道或資料夾）以暫存名稱寫入後改名放入收件資料夾。")
                if entry.type == .directory {
                    let atTop = countyFolders && county == nil
                    refusal.problem = "「\(ShownText.escaped(shownName))」是資料夾"
                        + (atTop ? "，但名稱不是縣市代碼（5 位數字）" : "，收件資料夾內不收資料夾") + "，系統不會讀取其中檔案。"
                    refusal.fix = atTop ? "請將審核名冊放入 inbox/decisions/<縣市代碼>/（例如 inbox/decisions/63000/）。" : "請將檔案直接放入收件資料夾。"
                }
                if claimed {
                    // Out of the queue, so that it can never block a later run.
                    try? QueueFiles.move(url, to: QueueFiles.unusedPath(in: paths.hold(kind), name: StoredName.of(name)))
                }
                refused.append(refusal)
            }
        }
        for kind in InputKind.allCases {
            scan(paths.active(kind), kind: kind, claimed: true)
            scan(paths.inbox(kind), kind: kind, claimed: false)
        }
        let order = Dictionary(uniqueKeysWithValues: InputKind.allCases.enumerated().map { ($1, $0) })
        let files = result.sorted {
            let a = (order[$0.kind]!, $0.claimed ? 0 : 1)
            let b = (order[$1.kind]!, $1.claimed ? 0 : 1)
            if a != b { return a < b }
            if $0.orderDate != $1.orderDate { return $0.orderDate < $1.orderDate }
            return $0.name < $1.name
        }
        return (files, refused)
    }

    /// Reports a refused entry once per process: in the run's summary and in
    /// `outbox/rejected/<kind>/…退件說明.txt` (written once; the entry itself stays where it is).
    func report(_ entry: RefusedEntry, into summary: inout RunSummary) {
        let key = "\(entry.kind.rawValue)/\(entry.name)"
        guard !reportedEntries.contains(key) else { return }
        reportedEntries.insert(key)
        let rejection = FileRejection(problem: entry.problem, fix: entry.fix)
        summary.files.append(FileOutcome(kind: entry.kind, name: entry.name, result: .rejected(rejection)))
        let url = paths.rejected.appendingPathComponent("\(entry.kind.rawValue)/\(StoredName.of(entry.name)).退件說明.txt")
        if EntryType.of(url.path) == .missing {
            try? QueueFiles.writeAtomically(rejectionReport(name: entry.name, kind: entry.kind, rejection,
                                                            outcome: "未處理；該項目留在原處，未被讀取、跟隨或移動。"), to: url)
        }
        logger.warning("不處理 \(entry.kind.rawValue)/\(ShownText.escaped(entry.name))：\(entry.type)")
    }

    /// Whether a dropped file is complete and may be claimed now: one renamed into the inbox
    /// after it was written is; one written in place must have been closed by every writer and
    /// unchanged for `settleSeconds`. `run` waits for it up to `maximumSettleWait`; `nil` when
    /// it is still being written then.
    func settledState(_ url: URL, renamedIn: Bool = false) -> FileState? {
        let deadline = Date().addingTimeInterval(maximumSettleWait)
        while true {
            guard let state = FileState.of(url.path) else { return nil }
            if renamedIn || state.renamedAfterLastWrite { return state }
            let quiet = state.quietSeconds
            if quiet >= settleSeconds && !OpenFiles.isOpen(url.path) { return state }
            if Date() > deadline { return nil }
            Thread.sleep(forTimeInterval: max(0.05, min(settleSeconds - quiet, 0.25)))
        }
    }

    /// Claims a dropped file (an atomic rename into the queue's active folder) once it is
    /// complete (``settledState(_:renamedIn:)``); `nil` when it is still being written (reported
    /// in `summary`), when it changed while being claimed (put back for a later run) or another
    /// process took it. The queue name is bounded (``StoredName``); a name that had to be
    /// shortened or cleaned is kept whole beside it (``QueueFiles/originalName(ofClaimed:)``).
    func claim(_ candidate: Candidate, into summary: inout RunSummary) -> URL? {
        guard let before = settledState(candidate.url, renamedIn: renamedIn.contains(candidate.url.path)) else {
            if EntryType.of(candidate.url.path) == .regularFile {
                summary.files.append(FileOutcome(kind: candidate.kind, name: candidate.name, result: .stillGrowing))
            }
            return nil
        }
        renamedIn.remove(candidate.url.path)
        let stored = StoredName.of(candidate.name)
        var folder = paths.active(candidate.kind)
        if let county = candidate.county { folder = folder.appendingPathComponent(county) }
        let target = QueueFiles.unusedPath(in: folder, name: "\(Int(Date().timeIntervalSince1970))-\(stored)")
        do {
            if stored != candidate.name { try QueueFiles.keepOriginalName(candidate.name, of: target) }
            try QueueFiles.move(candidate.url, to: target)
            chmod(target.path, 0o600)   // the sender's mode does not follow the file into state/
        } catch {
            QueueFiles.forgetOriginalName(of: target)
            return nil   // another process took it
        }
        // Checked again once claimed: an entry swapped for something else meanwhile goes to the
        // hold folder; a file that changed goes back, whole, for a later run.
        let after = FileState.of(target.path)
        if after == before { return target }
        if after == nil {
            try? QueueFiles.move(target, to: QueueFiles.unusedPath(in: paths.hold(candidate.kind), name: target.lastPathComponent))
            return nil
        }
        let back = QueueFiles.unusedPath(in: candidate.url.deletingLastPathComponent(), name: StoredName.of(candidate.name))
        if (try? QueueFiles.move(target, to: back)) == nil { return target }
        summary.files.append(FileOutcome(kind: candidate.kind, name: candidate.name, result: .stillGrowing))
        return nil
    }
}
