extension FirehoseServer {
    /// Loads `--state-file` into the memory backend at start. A corrupt, foreign or unreadable
    /// file is one clear error line, and the server starts empty: it never refuses to start.
    func loadStateFile() {
        guard let path = configuration.stateFile.path, let memory = context.backend as? MemoryBackend else { return }
        do {
            let count = try memory.loadState(from: path, limit: configuration.stateFile.maxBytes)
            context.logger.info("state file \(path): \(count) channel(s) loaded")
        } catch {
            context.logger.error("state file \(path) not loaded: \(error); starting empty")
        }
    }

    /// Writes `--state-file` once the loop has stopped (the graceful-shutdown path).
    func saveStateFile() {
        guard let path = configuration.stateFile.path, let memory = context.backend as? MemoryBackend else { return }
        do {
            let count = try memory.saveState(to: path, limit: configuration.stateFile.maxBytes)
            context.logger.info("state file \(path): \(count) channel(s) written")
        } catch {
            context.logger.error("state file \(path) not written: \(error)")
        }
    }
}
