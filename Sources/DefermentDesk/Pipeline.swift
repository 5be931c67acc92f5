import Foundation

/// Runs a producer on its own thread and the consumer on the caller's, handing items over in
/// batches through a bounded buffer: reading and checking a file overlaps with writing it to
/// SQLite, which must stay on the caller's thread (inside its transaction).
///
/// An error on either side stops both; the first error is rethrown to the caller.
enum PipelinedRows {
    private struct Stopped: Error {}

    private final class Channel<T>: @unchecked Sendable {
        let condition = NSCondition()
        var batches: [[T]] = []
        /// Batches consumed, handed back so that the producer's thread frees what it allocated
        /// (freeing on another thread costs glibc's allocator a lock per block).
        var spent: [[T]] = []
        var finished = false
        var producerError: Error?
        var consumerStopped = false
        let capacity: Int
        init(capacity: Int) { self.capacity = capacity }
    }

    private final class Box<T>: @unchecked Sendable {
        let value: T
        init(_ value: T) { self.value = value }
    }

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
        let channel = Channel<T>(capacity: capacity)
        let producer = Box(produce)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            var batch: [T] = []
            batch.reserveCapacity(batchSize)
            func flush() throws {
                channel.condition.lock()
                while channel.batches.count >= channel.capacity && !channel.consumerStopped { channel.condition.wait() }
                let stopped = channel.consumerStopped
                if !stopped { channel.batches.append(batch) }
                var spent = channel.spent
                channel.spent = []
                channel.condition.broadcast()
                channel.condition.unlock()
                spent.removeAll()
                if stopped { throw Stopped() }
                batch = []
                batch.reserveCapacity(batchSize)
            }
            do {
                try producer.value { item in
                    batch.append(item)
                    if batch.count >= batchSize { try flush() }
                }
                if !batch.isEmpty { try flush() }
            } catch is Stopped {
            } catch {
                channel.condition.lock()
                channel.producerError = error
                channel.condition.unlock()
            }
            channel.condition.lock()
            channel.finished = true
            channel.condition.broadcast()
            channel.condition.unlock()
            done.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
        defer {
            channel.condition.lock()
            channel.consumerStopped = true
            channel.condition.broadcast()
            channel.condition.unlock()
            done.wait()
        }
        try prepare()
        while true {
            channel.condition.lock()
            while channel.batches.isEmpty && !channel.finished { channel.condition.wait() }
            if channel.batches.isEmpty {
                let error = channel.producerError
                channel.condition.unlock()
                if let error { throw error }
                return
            }
            let batch = channel.batches.removeFirst()
            channel.condition.broadcast()
            channel.condition.unlock()
            for item in batch { try consume(item) }
            channel.condition.lock()
            channel.spent.append(batch)
            channel.condition.unlock()
        }
    }
}
