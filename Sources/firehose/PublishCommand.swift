import ArgumentParser
import FirehoseClient
#if canImport(Glibc)
import Glibc
#endif

struct PublishCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "PUT a message to a channel URL (the payload, or standard input when none is given)."
    )

    @Argument(help: "The channel URL, e.g. http://localhost:7474/hello")
    var url: String

    @Argument(help: "The message. Read from standard input when omitted.")
    var payload: String?

    @Option(name: [.short, .long], help: "Seconds the channel lives after this message (sends Cache-Control: max-age=N).")
    var ttl: Int?

    @Option(name: [.short, .long], help: "Messages the channel keeps (sends X-Firehose-Buffer-Size).")
    var bufferSize: Int?

    @Flag(help: "Keep the channel forever (sends X-Firehose-Persist: true).")
    var persist = false

    @Option(help: ArgumentHelp("A bearer token for a server that requires one to publish (sends Authorization: Bearer). (env: FIREHOSE_TOKEN)", valueName: "token"))
    var token: String?

    @Option(name: [.customShort("n"), .long], help: "Publish the message this many times.")
    var times: Int = 1

    @Option(name: [.short, .long], help: "Seconds to wait between two publishes with --times (0 to 3600).")
    var interval: Double = 0

    func validate() throws {
        guard EndpointURL(url) != nil else { throw ValidationError("'\(url)' is not an http:// URL") }
        guard times >= 1 else { throw ValidationError("--times must be at least 1") }
        guard (0...3600).contains(interval) else { throw ValidationError("--interval \(interval) is out of range (0 to 3600)") }
    }

    func run() throws {
        let endpoint = EndpointURL(url)!
        let body = payload.map { Array($0.utf8) } ?? Self.readStandardInput()
        var headers: [(String, String)] = []
        if let ttl { headers.append(("Cache-Control", "max-age=\(ttl)")) }
        if let bufferSize { headers.append(("X-Firehose-Buffer-Size", String(bufferSize))) }
        if persist { headers.append(("X-Firehose-Persist", "true")) }
        if let token = token ?? Environment.string("FIREHOSE_TOKEN") { headers.append(("Authorization", "Bearer \(token)")) }
        do {
            let connection = try HTTPClientConnection(host: endpoint.host, port: endpoint.port)
            for index in 0..<times {
                if index > 0, interval > 0 { usleep(UInt32(interval * 1_000_000)) }
                let response = try connection.request(method: "PUT", target: endpoint.target, headers: headers, body: body)
                guard response.status == 202 else {
                    printError("publish failed: HTTP \(response.status) \(response.text)")
                    throw ExitCode(1)
                }
            }
        } catch let failure as HTTPClientConnection.Failure {
            printError("publish failed: \(failure)")
            throw ExitCode(1)
        }
    }

    static func readStandardInput() -> [UInt8] {
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            data.append(contentsOf: chunk[..<count])
        }
        return data
    }
}

func printError(_ text: String) {
    var line = text + "\n"
    line.withUTF8 { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
}
