import Crypto
import Foundation
import GRDB
import DefermentCore
import DefermentFiles
import DefermentStore

/// Step: the county directory (縣市政府通訊錄), from `seeds/`.
extension SiteBuilder {
    /// The directory: each county's office and address from `seeds/`, its contact person, phone
    /// and e-mail as the county's clerk keeps them on the 帳號維護 page (the seed's otherwise).
    func publishDirectory(counties: [County], contacts: [String: (name: String, phone: String, email: String)]) throws {
        try publisher.publish("directory.html", text: templates.render("directory", [
            "root": "", "title": "縣市政府通訊錄", "anyExample": counties.contains(where: \.isExample),
            "counties": counties.map { c -> [String: Any] in
                let kept = contacts[c.code]
                return ["code": c.code, "name": c.name, "office": c.office, "contact": kept?.name ?? "",
                        "phone": kept.map { $0.phone.isEmpty ? c.phone : $0.phone } ?? c.phone, "address": c.address,
                        "email": kept.map { $0.email.isEmpty ? c.email : $0.email } ?? c.email, "isExample": c.isExample]
            },
        ]))
    }

    func directoryPage(_ inputs: SiteInputs) -> SiteStep {
        SiteStep("通訊錄 directory") { [self] in try publishDirectory(counties: inputs.counties, contacts: inputs.contacts); return 1 }
    }
}
