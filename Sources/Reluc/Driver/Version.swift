import RelucHiGHS

/// reluc's version, with the HiGHS it was built against.
public let relucVersion = "0.1.0 (HiGHS \(HighsSolver.version))"
