import ArgumentParser
import FirehoseServer

/// The flags of `HardeningConfiguration`: limits against clients that would hold the loop, a
/// connection or memory. Each has an environment twin; the flag wins.
struct HardeningOptions: ParsableArguments {
    private static let defaults = HardeningConfiguration()

    @Option(name: .long, help: ArgumentHelp("Distinct channels one multiplexed request or WebSocket may subscribe to; more gets 400 (or an error frame on a WebSocket). Range \(HardeningConfiguration.maxChannelsPerConnectionRange.lowerBound) to \(HardeningConfiguration.maxChannelsPerConnectionRange.upperBound). (env: MAX_CHANNELS_PER_CONNECTION; default: \(defaults.maxChannelsPerConnection))", valueName: "count"))
    var maxChannelsPerConnection: Int?

    @Option(name: .long, help: ArgumentHelp("Seconds a request's line, headers and body may take to arrive; slower gets 408 and a close. Range 1 to 3600. (env: REQUEST_TIMEOUT; default: \(defaults.requestTimeout))", valueName: "seconds"))
    var requestTimeout: Double?

    @Option(name: .long, help: ArgumentHelp("Seconds a closing connection may take to send what is queued for it before it is dropped. Range 0.1 to 3600. (env: CLOSE_FLUSH_TIMEOUT; default: \(defaults.closeFlushTimeout))", valueName: "seconds"))
    var closeFlushTimeout: Double?

    @Option(name: .long, help: ArgumentHelp("Channels listed per bucket in /metrics@firehose: the busiest (active_channels still counts all). Range 0 to 10000. (env: METRICS_CHANNELS; default: \(defaults.metricsChannels))", valueName: "count"))
    var metricsChannels: Int?

    @Option(name: .long, help: ArgumentHelp("Bytes all channel buffers may hold (memory backend; each message counts its body, its longest rewrite (JSON-escaped or SSE data lines; 0 when it needs none) and 768 + 4 x (148 + escaped channel name) bytes); a publish past it gets 503. Range 1048576 to 1099511627776. (env: MAX_MEMORY; default: \(defaults.maxMemory))", valueName: "bytes"))
    var maxMemory: Int?

    func apply(to configuration: inout ServerConfiguration) throws {
        var hardening = configuration.hardening
        hardening.maxChannelsPerConnection = try maxChannelsPerConnection ?? Environment.integer("MAX_CHANNELS_PER_CONNECTION") ?? hardening.maxChannelsPerConnection
        hardening.requestTimeout = try requestTimeout ?? Environment.double("REQUEST_TIMEOUT") ?? hardening.requestTimeout
        hardening.closeFlushTimeout = try closeFlushTimeout ?? Environment.double("CLOSE_FLUSH_TIMEOUT") ?? hardening.closeFlushTimeout
        hardening.metricsChannels = try metricsChannels ?? Environment.integer("METRICS_CHANNELS") ?? hardening.metricsChannels
        hardening.maxMemory = try maxMemory ?? Environment.integer("MAX_MEMORY") ?? hardening.maxMemory
        configuration.hardening = hardening
    }
}
