import ArgumentParser
import FirehoseBuildInfo

/// `firehose`: the server and its small companion clients.
@main
struct FirehoseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "firehose",
        abstract: "A Firehose-compatible real-time server: HTTP long-poll pub/sub with sequence numbers.",
        version: FirehoseVersion.current,
        subcommands: [ServerCommand.self, PublishCommand.self, ConsumeCommand.self, VersionCommand.self],
        defaultSubcommand: ServerCommand.self
    )
}

enum FirehoseVersion {
    static let current = BuildInfo.version
}

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the version.")

    func run() {
        print(BuildInfo.versionLine)
    }
}
