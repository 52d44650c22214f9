/// What a request wants to do with a channel: each needs its own grant in a token.
public enum AccessAction: Sendable, Hashable {
    case publish
    case subscribe
}
