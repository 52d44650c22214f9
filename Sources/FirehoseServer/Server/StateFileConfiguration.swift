/// `--state-file`: the memory backend's channels survive a planned restart (off by default).
public struct StateFileConfiguration: Sendable {
    /// Where the channels are written on a graceful shutdown and read at start; `nil`: off.
    public var path: String?
    /// The largest state file written or read (bytes); 1 KiB to 64 GiB. A bigger state is not
    /// written (logged), a bigger file is not read (the server starts empty).
    public var maxBytes = 1 << 30

    public static let maxBytesRange = 1024...(64 << 30)

    public init() {}

    func validate(backend: ServerConfiguration.BackendKind) throws(ServerError) {
        guard StateFileConfiguration.maxBytesRange.contains(maxBytes) else {
            throw .invalidConfiguration("--state-file-max-bytes \(maxBytes) is out of range (\(StateFileConfiguration.maxBytesRange.lowerBound) to \(StateFileConfiguration.maxBytesRange.upperBound))")
        }
        if let path, backend != .memory {
            throw .invalidConfiguration("--state-file \(path) is for the memory backend (Redis keeps its own data)")
        }
        if let path, path.isEmpty { throw .invalidConfiguration("--state-file needs a path") }
    }
}
