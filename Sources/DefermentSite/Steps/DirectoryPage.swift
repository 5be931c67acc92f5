import Crypto
import Foundation
import GRDB
import DefermentCore
import DefermentFiles
import DefermentStore

/// Step: the county directory (縣市政府通訊錄), from `seeds/`.
extension SiteBuilder {
    func publishDirectory(counties: [County]) throws {
        try publisher.publish("directory.html", text: templates.render("directory", [
            "root": "", "title": "縣市政府通訊錄", "anyExample": counties.contains(where: \.isExample),
            "counties": counties.map { ["code": $0.code, "name": $0.name, "office": $0.office, "phone": $0.phone,
                                        "address": $0.address, "email": $0.email, "isExample": $0.isExample] },
        ]))
    }

    func directoryPage(_ inputs: SiteInputs) -> SiteStep {
        SiteStep("通訊錄 directory") { [self] in try publishDirectory(counties: inputs.counties); return 1 }
    }
}
