/// The URL a start-up line prints: an IPv6 host goes in brackets (`http://[::]:7474`), so the
/// line can be pasted (and scripts that read the port from it keep working).
enum ServerURL {
    static func http(host: String, port: Int) -> String {
        host.contains(":") ? "http://[\(host)]:\(port)" : "http://\(host):\(port)"
    }
}
