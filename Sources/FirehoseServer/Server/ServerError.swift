/// Why the server cannot start: every configuration mistake and start-up failure, as one sentence.
public enum ServerError: Error, CustomStringConvertible, Sendable {
    case startup(String)
    case invalidConfiguration(String)

    public var description: String {
        switch self {
        case let .startup(reason): "cannot start: \(reason)"
        case let .invalidConfiguration(reason): "invalid configuration: \(reason)"
        }
    }
}
