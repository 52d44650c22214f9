import ArgumentParser
import FirehoseClient
#if canImport(Glibc)
import Glibc
#endif

struct ConsumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consume",
        abstract: "Long-poll a channel URL and print each message, resuming by sequence number."
    )

    @Argument(help: "The channel URL, e.g. http://localhost:7474/hello")
    var url: String

    @Option(help: "Start after this sequence (0: the latest message first).")
    var lastSequence: Int = 0

    @Option(help: "Exit after this many messages (default: run until interrupted).")
    var count: Int?

    @Flag(help: "Print each frame as the server sent it (JSON) instead of the message text.")
    var json = false

    func validate() throws {
        guard let endpoint = EndpointURL(url) else { throw ValidationError("'\(url)' is not an http:// URL") }
        guard !endpoint.target.contains("?") else { throw ValidationError("give the channel URL without a query") }
    }

    func run() throws {
        let endpoint = EndpointURL(url)!
        var sequence = lastSequence
        var received = 0
        var connection: HTTPClientConnection?
        var backoff = 0.1
        while count.map({ received < $0 }) ?? true {
            do {
                if connection == nil { connection = try HTTPClientConnection(host: endpoint.host, port: endpoint.port, timeout: 60) }
                let response = try connection!.request(method: "GET", target: "\(endpoint.target)?last_message_sequence=\(sequence)")
                backoff = 0.1
                switch response.status {
                case 200:
                    guard let frame = LongPollFrame(json: response.body) else {
                        printError("unreadable frame: \(response.text)")
                        throw ExitCode(1)
                    }
                    sequence = frame.lastSequence
                    received += 1
                    // Unbuffered, so a pipe sees each message as it arrives.
                    var line = (json ? response.text : frame.message) + "\n"
                    line.withUTF8 { _ = write(STDOUT_FILENO, $0.baseAddress, $0.count) }
                case 204:
                    continue
                default:
                    printError("HTTP \(response.status): \(response.text)")
                    throw ExitCode(1)
                }
            } catch let failure as HTTPClientConnection.Failure {
                // The server went away or closed an idle connection: reconnect and resume.
                printError("\(failure); retrying in \(backoff) s")
                connection = nil
                usleep(UInt32(backoff * 1_000_000))
                backoff = min(backoff * 2, 5)
            }
        }
    }
}
