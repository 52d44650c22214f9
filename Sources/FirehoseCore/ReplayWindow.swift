/// The replay rule: which buffered messages a client that last saw `lastSequence` gets right now.
///
/// This is Firehose's `MessageBuffer` rule, kept as pure logic so every backend and transport
/// shares one implementation:
/// - `lastSequence <= 0` means "the latest message";
/// - a client more messages behind than the buffer holds is "underwater" and also gets the latest;
/// - a client behind by `n <= buffered` gets the `n` messages it missed, oldest first;
/// - a client level with the channel gets nothing and waits;
/// - a client *ahead* of the channel (it saw sequences the channel has not reached: the channel
///   was reset by a restart, an expiry or a flush and started again at 1) has missed the whole new
///   generation: it gets every buffered message, oldest first, or waits for the next one when
///   nothing is buffered. This is our extension (spec EXT-13, WSX-13): the reference makes it wait
///   for a sequence the channel reaches only later, losing everything published in between.
/// Long-poll answers with the first message of the range; WebSocket sends them all.
public enum ReplayWindow {
    /// The sequences to send now, oldest first, or `nil` to wait for the next publish.
    /// - Parameters:
    ///   - lastSequence: the client's last seen sequence (negative values count as 0).
    ///   - channelSequence: the sequence of the newest message published on the channel (0: none).
    ///   - buffered: how many of the newest messages the channel still holds.
    public static func missed(lastSequence: Int, channelSequence: Int, buffered: Int) -> ClosedRange<Int>? {
        let available = max(0, min(buffered, channelSequence))
        let wanted: Int
        if lastSequence <= 0 {
            wanted = 1
        } else if lastSequence == channelSequence {
            wanted = 0
        } else if lastSequence > channelSequence {
            wanted = available
        } else {
            // Both are positive here, so the subtraction cannot overflow.
            let behind = channelSequence - lastSequence
            wanted = behind > available ? 1 : behind
        }
        let count = min(wanted, available)
        guard count > 0 else { return nil }
        return (channelSequence - count + 1)...channelSequence
    }
}
