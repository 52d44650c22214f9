/// An object that can wait in one `DeadlineQueue` at a time (intrusive links: no allocation).
class DeadlineNode {
    fileprivate var next: DeadlineNode?
    fileprivate unowned(unsafe) var previous: DeadlineNode?
    fileprivate unowned(unsafe) var queue: DeadlineQueue?
    fileprivate var deadline: Double = 0

    /// Called on the loop thread when the deadline passes; the node is already unlinked.
    func deadlineExpired() {}

    /// Takes the node out of whatever queue holds it.
    func cancelDeadline() { queue?.remove(self) }

    /// Whether the node is waiting in `queue`.
    final func isWaiting(in queue: DeadlineQueue) -> Bool { self.queue === queue }
}

/// Deadlines that all share one duration (the long-poll timeout, the idle timeout), so insertion
/// order is deadline order: scheduling, rescheduling and cancelling are O(1) list operations, and a
/// single libevent timer serves ten thousand waiters instead of one timer each.
final class DeadlineQueue {
    let duration: Double
    private var head: DeadlineNode?
    private unowned(unsafe) var tail: DeadlineNode?
    private var timer: LoopTimer!
    private(set) var count = 0

    init(loop: EventLoop, duration: Double) {
        self.duration = duration
        timer = LoopTimer(loop: loop) { [unowned self] in self.expire() }
    }

    /// (Re)starts `node`'s deadline at now + duration, taking it out of any other queue.
    func schedule(_ node: DeadlineNode) {
        node.cancelDeadline()
        node.deadline = EventLoop.now() + duration
        node.queue = self
        node.previous = tail
        if let tail { tail.next = node } else { head = node }
        tail = node
        count += 1
        if !timer.isPending { timer.schedule(after: duration) }
    }

    fileprivate func remove(_ node: DeadlineNode) {
        guard node.queue === self else { return }
        let next = node.next
        if let previous = node.previous { previous.next = next } else { head = next }
        if let next { next.previous = node.previous } else { tail = node.previous }
        node.next = nil
        node.previous = nil
        node.queue = nil
        count -= 1
    }

    private func expire() {
        let now = EventLoop.now()
        // A small tolerance: the coarse clock may read a little before the timer's own clock.
        while let node = head, node.deadline <= now + 0.002 {
            remove(node)
            node.deadlineExpired()
        }
        if let head { timer.schedule(after: head.deadline - now) }
    }
}
