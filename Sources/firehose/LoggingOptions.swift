import ArgumentParser
import FirehoseServer

/// Flags for the log: its format, the access log, trusted proxies, a log file. Each has an
/// environment twin; the flag wins. Defaults come from `LoggingConfiguration`.
struct LoggingOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("text or json: json writes one object per line with time, level, message and fields. (env: LOG_FORMAT; default: text)", valueName: "format"))
    var logFormat: String?

    @Flag(name: .long, help: ArgumentHelp("Log one line per finished request, WebSocket session and SSE stream: client, method, path, status, bytes, duration, transport. (env: ACCESS_LOG=on)"))
    var accessLog = false

    @Option(name: .long, help: ArgumentHelp("Comma-separated addresses or CIDRs of proxies whose X-Forwarded-For names the client in the access log (e.g. 127.0.0.1,10.0.0.0/8). (env: TRUSTED_PROXIES; default: none)", valueName: "list"))
    var trustedProxies: String?

    @Option(name: .long, help: ArgumentHelp("Append the log to this file instead of stderr; SIGHUP reopens it (for logrotate). (env: LOG_FILE)", valueName: "path"))
    var logFile: String?

    func apply(to configuration: inout ServerConfiguration) throws {
        var logging = configuration.logging
        if let text = logFormat ?? Environment.string("LOG_FORMAT") {
            guard let format = Logger.Format(rawValue: text.lowercased()) else {
                throw ValidationError("--log-format \(text) is not text or json")
            }
            logging.format = format
        }
        if accessLog {
            logging.accessLog = true
        } else if let text = Environment.string("ACCESS_LOG") {
            guard let on = OperationsOptions.onOff(text) else { throw ValidationError("ACCESS_LOG=\(text) is not on or off") }
            logging.accessLog = on
        }
        if let list = trustedProxies ?? Environment.string("TRUSTED_PROXIES") {
            logging.trustedProxies = list.split(separator: ",").map { String($0.filter { $0 != " " && $0 != "\t" }) }.filter { !$0.isEmpty }
        }
        logging.file = logFile ?? Environment.string("LOG_FILE") ?? logging.file
        configuration.logging = logging
    }
}
