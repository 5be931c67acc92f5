import Crypto
import Foundation
import GRDB
import DefermentCore
import DefermentFiles
import DefermentStore

/// Step: the roster templates page (名冊範本).
extension SiteBuilder {
    func publishTemplatesPage() throws {
        let files = try RosterTemplateFiles.write(rules: rules, publisher: publisher)
        try publisher.publish("templates/index.html", text: templates.render("roster-templates", [
            "root": "../", "title": "名冊範本", "files": files,
            "columns": RosterColumn.templateOrder.map { ["name": $0.rawValue, "required": $0.isRequired, "help": $0.help] },
        ]))
    }

    func templatesPage() -> SiteStep {
        SiteStep("名冊範本 templates") { [self] in try publishTemplatesPage(); return 1 }
    }
}
