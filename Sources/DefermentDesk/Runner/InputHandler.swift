import Foundation
import DefermentCore

/// A claimed file as a handler receives it: where it is, what it was called, its digest and
/// where the runner will archive it.
struct ClaimedFile {
    var kind: InputKind
    var url: URL
    /// The name the sender gave it (kept whole in the ledger and reports).
    var name: String
    /// For a decision workbook, the county folder it was dropped into.
    var county: String?
    var sha: String
    /// Where the raw file goes once handled, and that path relative to the root (the ledger's).
    var archive: URL
    var relativeArchive: String
    /// The day the file arrived (its modification day), for files that carry no date.
    var arrivalDay: CivilDate
    /// A roster the runner had read ahead of its turn (``ReadAheadSchedule``).
    var readAhead: ReadAhead?
}

/// What a handler did with a file.
struct HandledFile {
    /// The summary line (counts only, no personal data).
    var line: String
    /// A roster's details.
    var roster: RosterFileSummary? = nil
    /// Kept in the archive instead of the file itself (an account request, passwords masked).
    var archivedCopy: Data? = nil
}

/// The handler of one kind of input (處理程序): it checks a claimed file and applies it in one
/// transaction, or throws ``FileRejection`` when the content is refused as a whole. Anything
/// else it throws (a full disk, a locked database) puts the file on hold for a retry. The
/// runner (``Desk/runOnce(progress:shouldStop:)``) does the rest: claim, ledger, archive,
/// refuse, hold.
protocol InputHandler {
    /// - Parameter progress: called with the rows read so far; throws ``StopRequested`` to
    ///   abandon the file (its transaction rolls back; the file stays queued).
    func handle(_ file: ClaimedFile, progress: @escaping (Int) throws -> Void) throws -> HandledFile
}

extension Desk {
    /// The handler for each kind of input.
    func handler(for kind: InputKind) -> InputHandler {
        switch kind {
        case .registry: return RegistryHandler(desk: self)
        case .rosters: return RosterHandler(desk: self)
        case .decisions: return DecisionHandler(desk: self)
        case .accounts: return AccountRequestHandler(desk: self)
        }
    }
}
