/// The rules the desk applies, as read from the rules files in `seeds/rules/` (審核規則).
///
/// Nothing here is a constant of the code: every value comes from a seed file, so a change of
/// regulation is a change of data.
public struct DefermentRules: Sendable, Equatable {
    /// Age limit (就學年齡上限) per kind of student; the key is the kind's name in the rules file.
    public var ageLimits: TextTable<Int>
    /// Which roster each enrolment status (學籍狀態) goes to.
    public var rosterKindByStatus: TextTable<RosterKind>
    /// Every service status (兵役狀態) the registry may carry, with whether it blocks deferment.
    public var serviceStatusBlocks: TextTable<Bool>
    /// Every education level (教育程度) the registry may carry, with whether attending a senior
    /// high school would be "the same or a lower level" (就讀同等級或低於原等級學校).
    public var educationIsSameOrHigher: TextTable<Bool>

    /// The kind name for regular students in `ageLimits`.
    public static let regularKind = "一般學生"
    /// The kind name for non-school-based experimental education in `ageLimits`.
    public static let experimentalKind = "非學校型態實驗教育學生"

    public init(ageLimits: [String: Int], rosterKindByStatus: [String: RosterKind],
                serviceStatusBlocks: [String: Bool], educationIsSameOrHigher: [String: Bool]) {
        self.ageLimits = TextTable(ageLimits)
        self.rosterKindByStatus = TextTable(rosterKindByStatus)
        self.serviceStatusBlocks = TextTable(serviceStatusBlocks)
        self.educationIsSameOrHigher = TextTable(educationIsSameOrHigher)
    }

    /// The age limit for a student.
    public func ageLimit(experimental: Bool) -> Int? {
        ageLimits[experimental ? Self.experimentalKind : Self.regularKind]
    }
}
