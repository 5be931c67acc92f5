import Foundation
import GRDB
import DefermentCore
import DefermentFiles
import DefermentStore

/// Rows on their way from the reading thread to the writing one, up to a thousand at a time,
/// in the order they are stored.
enum IntakeItem: Sendable {
    /// Read and checked; the writing thread decides them with the registry. Each with whether
    /// its school or upload date differs from the row before it (see ``PackedRosterRows``) and
    /// whether its key certainly comes up for the first time in the file (``SeenRowKeys``).
    case read([(row: RosterIntake.ReadRow, startsPair: Bool, keyFirstSeen: Bool)])
    /// Decided on the reading thread, against the registry in memory, and packed as stored.
    case packed(PackedRosterRows)
}

/// Hands the registry snapshot, read on the transaction's thread, to the reading thread.
final class SnapshotHandOver: @unchecked Sendable {
    private let lock = NSLock()
    private var snapshot: RegistrySnapshot?

    /// Loads the snapshot.
    func load(_ make: () throws -> RegistrySnapshot) throws {
        let made = try make()
        lock.withLock { snapshot = made }
    }

    /// The snapshot once loaded, without waiting for it.
    var ready: RegistrySnapshot? { lock.withLock { snapshot } }
}
