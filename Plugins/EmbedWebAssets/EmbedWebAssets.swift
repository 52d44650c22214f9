import Foundation
import PackagePlugin

/// Turns every file in the package's `web/` folder into Swift source at build time, so the server
/// binary carries the browser client and the demo page with no files to install beside it. The
/// generated file lives in the plugin's work directory and is never committed.
@main
struct EmbedWebAssets: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let webDirectory = context.package.directoryURL.appending(path: "web")
        let names = try FileManager.default.contentsOfDirectory(atPath: webDirectory.path)
            // Hidden files (editor swap files, .DS_Store) are not assets.
            .filter { !$0.hasPrefix(".") }
            .sorted()
        let inputs = names.map { webDirectory.appending(path: $0) }
        let output = context.pluginWorkDirectoryURL.appending(path: "WebAssets+Embedded.swift")
        let tool = try context.tool(named: "embed-web-assets")
        return [
            .buildCommand(
                displayName: "Embedding \(names.joined(separator: ", ")) into \(target.name)",
                executable: tool.url,
                arguments: [output.path] + inputs.map(\.path),
                // Declared inputs make an edit to any web file regenerate the source on the next
                // build. (A file added to web/ is picked up when the plugin runs again, which a
                // change to Package.swift or a clean build triggers.)
                inputFiles: inputs,
                outputFiles: [output]
            )
        ]
    }
}
