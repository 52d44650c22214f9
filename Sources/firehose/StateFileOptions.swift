import ArgumentParser
import FirehoseServer

private let defaults = StateFileConfiguration()

/// `--state-file`: the memory backend's channels written on a graceful shutdown and read at start.
struct StateFileOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Memory backend only: write every channel (sequence, buffered messages, lifetime left) to this file on SIGTERM/SIGINT and load it at start, so a planned restart loses nothing. Written atomically; a corrupt or foreign file is logged and the server starts empty. (env: STATE_FILE; default: off)", valueName: "path"))
    var stateFile: String?

    @Option(name: .long, help: ArgumentHelp("Largest state file written or read, in bytes (\(StateFileConfiguration.maxBytesRange.lowerBound) to \(StateFileConfiguration.maxBytesRange.upperBound)). (env: STATE_FILE_MAX_BYTES; default: \(defaults.maxBytes))", valueName: "bytes"))
    var stateFileMaxBytes: Int?

    func apply(to configuration: inout ServerConfiguration) throws {
        configuration.stateFile.path = stateFile ?? Environment.string("STATE_FILE") ?? configuration.stateFile.path
        configuration.stateFile.maxBytes = try stateFileMaxBytes ?? Environment.integer("STATE_FILE_MAX_BYTES") ?? configuration.stateFile.maxBytes
    }
}
