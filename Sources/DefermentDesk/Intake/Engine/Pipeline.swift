import Foundation

/// Runs a producer on its own thread and the consumer on the caller's, handing items over in
/// batches through a bounded buffer: reading and checking a file overlaps with writing it to
/// SQLite, which must stay on the caller's thread (inside its transaction).
///
/// The producer may be started before anyone consumes (``start(batchSize:capacity:held:produce:)``):
/// a file is then read ahead, up to the buffer's capacity, while the caller finishes the file
/// before it. An error on either side stops both; the first error is rethrown to the consumer.
/// A pipeline dropped without being consumed stops its producer.
final class RowPipeline<T>: @unchecked Sendable {
    private let channel: Channel<T>

    private init(_ channel: Channel<T>) { self.channel = channel }

    /// Starts the producer on a new thread.
    /// - Parameters:
    ///   - batchSize: items per hand-over.
    ///   - capacity: batches the producer may run ahead of the consumer.
    ///   - held: when true, the producer waits for ``release()`` (or the first consumption)
    ///     before it begins: a file read ahead starts once the file before it is read.
    ///   - produce: called on the new thread with an `emit` function.
    static func start(batchSize: Int = 1024, capacity: Int = 8, held: Bool = false,
                      produce: @escaping (_ emit: (T) throws -> Void) throws -> Void) -> RowPipeline<T> {
        RowPipeline(Channel.start(batchSize: batchSize, capacity: capacity, held: held) { emit, _ in try produce(emit) })
    }

    /// ``start(batchSize:capacity:held:produce:)`` for a producer that also asks about the
    /// batches waiting for the consumer (``PipelineFlow``): one that can do some of the
    /// consumer's work does it when the consumer falls behind, and one whose items differ in
    /// size keeps fewer of its large ones waiting.
    static func start(batchSize: Int = 1024, capacity: Int = 8, held: Bool = false,
                      produce: @escaping (_ emit: (T) throws -> Void, _ flow: PipelineFlow) throws -> Void) -> RowPipeline<T> {
        RowPipeline(Channel.start(batchSize: batchSize, capacity: capacity, held: held, produce: produce))
    }

    /// Lets a held producer begin.
    func release() { channel.release() }

    /// Consumes every item on the calling thread, then stops the producer; rethrows the first
    /// error of either side.
    /// - Parameters:
    ///   - prepare: called once before the first item is consumed (work that can overlap with
    ///     the first reads).
    ///   - consume: called for each item, in order.
    func consume(prepare: () throws -> Void = {}, _ consume: (T) throws -> Void) throws {
        try channel.consume(prepare: prepare, consume)
    }

    /// A pipeline dropped unconsumed (or half consumed) stops its producer and waits for it.
    deinit { channel.stop() }
}

/// What a pipeline's producer may ask besides handing items over.
struct PipelineFlow {
    /// The batches waiting for the consumer.
    let backlog: () -> Int
    /// Waits until fewer than `limit` batches (and fewer than the capacity) wait for the
    /// consumer; throws when the consumer has stopped.
    let waitForRoom: (_ limit: Int) throws -> Void
}

private final class Box<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// The buffer between a pipeline's producer thread and its consumer.
private final class Channel<T>: @unchecked Sendable {
    private struct Stopped: Error {}

    private let condition = NSCondition()
    private var batches: [[T]] = []
    /// Batches consumed, handed back so that the producer's thread frees what it allocated
    /// (freeing on another thread costs glibc's allocator a lock per block).
    private var spent: [[T]] = []
    private var finished = false
    private var producerError: Error?
    private var consumerStopped = false
    private var released = false
    private let capacity: Int
    private let done = DispatchSemaphore(value: 0)

    private init(capacity: Int) { self.capacity = capacity }

    static func start(batchSize: Int, capacity: Int, held: Bool,
                      produce: @escaping (_ emit: (T) throws -> Void, _ flow: PipelineFlow) throws -> Void) -> Channel<T> {
        let channel = Channel(capacity: capacity)
        channel.released = !held
        let producer = Box(produce)
        let thread = Thread { [channel] in channel.runProducer(batchSize: batchSize, producer.value) }
        thread.stackSize = 8 << 20
        thread.start()
        return channel
    }

    func release() {
        condition.lock()
        released = true
        condition.broadcast()
        condition.unlock()
    }

    /// Batches waiting for the consumer.
    private func backlog() -> Int {
        condition.lock()
        defer { condition.unlock() }
        return batches.count
    }

    /// Waits until fewer than `limit` batches wait (see ``PipelineFlow/waitForRoom``).
    private func waitForRoom(_ limit: Int) throws {
        condition.lock()
        while batches.count >= min(limit, capacity) && !consumerStopped { condition.wait() }
        let stopped = consumerStopped
        condition.unlock()
        if stopped { throw Stopped() }
    }

    private func runProducer(batchSize: Int, _ produce: (_ emit: (T) throws -> Void, _ flow: PipelineFlow) throws -> Void) {
        var batch: [T] = []
        batch.reserveCapacity(batchSize)
        func flush() throws {
            condition.lock()
            while batches.count >= capacity && !consumerStopped { condition.wait() }
            let stopped = consumerStopped
            if !stopped { batches.append(batch) }
            var spentBatches = spent
            spent = []
            condition.broadcast()
            condition.unlock()
            spentBatches.removeAll()
            if stopped { throw Stopped() }
            batch = []
            batch.reserveCapacity(batchSize)
        }
        condition.lock()
        while !released && !consumerStopped { condition.wait() }
        let stoppedBeforeStart = consumerStopped
        condition.unlock()
        if !stoppedBeforeStart {
            do {
                try produce({ item in
                    batch.append(item)
                    if batch.count >= batchSize { try flush() }
                }, PipelineFlow(backlog: backlog, waitForRoom: waitForRoom))
                if !batch.isEmpty { try flush() }
            } catch is Stopped {
            } catch {
                condition.lock()
                producerError = error
                condition.unlock()
            }
        }
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
        done.signal()
    }

    /// Stops the producer (if still running) and waits for its thread to end.
    func stop() {
        condition.lock()
        let alreadyStopped = consumerStopped
        consumerStopped = true
        condition.broadcast()
        condition.unlock()
        if !alreadyStopped { done.wait() }
    }

    func consume(prepare: () throws -> Void = {}, _ consume: (T) throws -> Void) throws {
        release()
        defer { stop() }
        try prepare()
        while true {
            condition.lock()
            while batches.isEmpty && !finished { condition.wait() }
            if batches.isEmpty {
                let error = producerError
                // The batches consumed since the producer's last hand-over: freed on another
                // thread, so that the caller goes on (to commit) without waiting for it.
                let leftover = Box(spent)
                spent = []
                condition.unlock()
                DispatchQueue.global(qos: .utility).async { withExtendedLifetime(leftover) {} }
                if let error { throw error }
                return
            }
            let batch = batches.removeFirst()
            condition.broadcast()
            condition.unlock()
            for item in batch { try consume(item) }
            condition.lock()
            spent.append(batch)
            condition.unlock()
        }
    }
}

/// A producer and a consumer started together: see ``RowPipeline``.
enum PipelinedRows {
    /// - Parameters:
    ///   - batchSize: items per hand-over.
    ///   - capacity: batches the producer may run ahead of the consumer.
    ///   - produce: called on a background thread with an `emit` function.
    ///   - prepare: called on the calling thread once the producer has started, before the
    ///     first item is consumed (work that can overlap with the first reads).
    ///   - consume: called on the calling thread for each item, in order.
    static func run<T>(batchSize: Int = 1024, capacity: Int = 8,
                       produce: @escaping (_ emit: (T) throws -> Void) throws -> Void,
                       prepare: () throws -> Void = {},
                       consume: (T) throws -> Void) throws {
        try RowPipeline.start(batchSize: batchSize, capacity: capacity, produce: produce)
            .consume(prepare: prepare, consume)
    }
}
