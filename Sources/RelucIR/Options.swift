import RelucBase

/// The algorithm a solve runs.
public enum Method: String, Sendable, Equatable, CaseIterable {
  /// Portfolio: the exact MILP on small networks, otherwise PPGA and LP Walk in parallel.
  case auto
  /// Perturbed projected gradient ascent (Tong, Zhu, Serra, Burer 2025).
  case ppga
  /// PPGA with region-boundary steps (the same paper's linear-region variant).
  case ppga_lr
  /// Projected gradient ascent from each start, no perturbation.
  case gradient_walk
  /// LP Walk (Tong, Cai, Serra 2024).
  case lp_walk
  /// MILP Walk (Perakis and Tsiourvas 2022).
  case milp_walk
  /// The exact big-M MILP.
  case milp
  /// Branch and bound over the input box with symbolic (CROWN) bounds, for few inputs.
  case bab
}

/// How pre-activation bounds are computed for the MILP.
public enum BoundsMethod: String, Sendable, Equatable, CaseIterable {
  /// Interval arithmetic, layer by layer.
  case interval
  /// Interval arithmetic, then LP-based tightening (OBBT) layer by layer.
  case lp
  /// Symbolic back-substitution bounds (CROWN/DeepPoly), never looser than interval.
  case symbolic
  /// Symbolic bounds, then LP-based tightening (OBBT) starting from them.
  case symbolic_lp
}

/// How the starting points of the gradient methods are drawn.
public enum Sampling: String, Sendable, Equatable, CaseIterable {
  /// Uniform in the domain (rejection from the bounding box on a polytope).
  case uniform
  /// Latin hypercube over the bounding box, projected onto the domain.
  case lhs
}

/// The precision of the batched gradient kernel's passes (PPGA, PPGA_LR).
public enum Precision: String, Sendable, Equatable, CaseIterable {
  /// Double precision (dgemm).
  case double
  /// Single precision (sgemm, about twice the products per second); kept points are evaluated
  /// again in double.
  case single
}

/// The LP of a linear region that LP Walk solves.
public enum RegionLPKind: String, Sendable, Equatable, CaseIterable {
  /// `inputs` unless its dense matrix is too large for memory, then `lifted` (`RegionLPChoice`).
  case auto
  /// The big-M relaxation with every binary fixed: columns for the inputs, pre-activations and
  /// activations; a new region changes the bounds of the binaries that flip.
  case lifted
  /// The region's rows as affine maps of the inputs: n columns, one dense row per ReLU neuron.
  case inputs
}

/// Cutting planes added to the MILP.
public enum CutsMethod: String, Sendable, Equatable, CaseIterable {
  /// None: the plain big-M formulation.
  case none
  /// Root cuts from the ideal formulation of each ReLU (Anderson et al. 2020).
  case root
  /// The same cuts at every node: our own branch and bound, HiGHS solving the node LPs.
  case all
}

/// Algorithm options after parsing. The defaults are the field initializers; everything else
/// about an option (its name, accepted values, documentation) is its entry in `specs`.
public struct SolveOptions: Sendable, Equatable {
  /// The back end.
  public var method: Method = .auto
  /// Wall-clock limit for the solve, seconds.
  public var timeLimit: Double = 60
  /// Seed of every random choice (starts, perturbations).
  public var seed: Int = 0
  /// Number of starting points (gradient and walk methods); 0: as many as the time limit allows
  /// (the heuristics draw diversified starts until the deadline).
  public var starts: Int = 0
  /// Feasibility tolerance used to check solutions and by the solvers.
  public var feasibilityTolerance: Double = 1e-7
  /// Gradient step as a fraction of the domain's diameter.
  public var stepSize: Double = 0.05
  /// PPGA perturbation radius as a fraction of the domain's diameter.
  public var perturbationRadius: Double = 0.1
  /// PPGA_LR: how far past the region boundary a step goes, as a fraction of the diameter.
  public var overshoot: Double = 1e-6
  /// PPGA_LR: a step that stays in its linear region is extended to the region's boundary.
  public var ppgaLRSkip: Bool = true
  /// PPGA_LR: a failed step across many first-layer boundaries is trimmed, not halved.
  public var ppgaLRTrim: Bool = true
  /// Cap on the iterations of one start.
  public var maxIterations: Int = 10_000
  /// PPGA: perturbations in a row that do not improve the start's best before it ends.
  public var stallIterations: Int = 10
  /// Gradient steps stop when the projected step is shorter than this (fraction of diameter).
  public var stepTolerance: Double = 1e-9
  /// Threads of the gradient methods (the starts are split between them), of the MILP's bound
  /// tightening and of its branch and bound (`cuts = all`).
  public var workers: Int = 2
  /// PPGA: starts run in lockstep per worker through the batched kernel (1: one at a time).
  public var batch: Int = 32
  /// How starting points are drawn.
  public var sampling: Sampling = .uniform
  /// The precision of the batched kernel's forward and backward passes.
  public var lanePrecision: Precision = .single
  /// The heuristics run as the method (gradient methods, LP Walk, `auto`'s race): the best
  /// point's linear region is optimized exactly at the end.
  public var regionPolish: Bool = true
  /// Bound computation for the MILP.
  public var bounds: BoundsMethod = .lp
  /// Cutting planes for the MILP.
  public var cuts: CutsMethod = .all
  /// OBBT: binaries of the previous layer fixed both ways when bounding a neuron (2^k LPs).
  public var obbtSplits: Int = 3
  /// Our branch and bound: the most candidates strong-branched at one node (0: none).
  public var strongBranching: Int = 8
  /// `bab`: boxes with at most this many unstable ReLUs are solved exactly, one LP per
  /// activation pattern (0: never).
  public var babExactReLUs: Int = 8
  /// `bab`: ReLU split candidates tried beside the inputs at each split of a box with few
  /// unstable ReLUs (beta-CROWN's splits; 0: input splits only).
  public var babReLUSplits: Int = 0
  /// Relative MIP gap at which the MILP stops.
  public var mipGap: Double = 1e-6
  /// Whether the MILP starts from a short heuristic run's best point.
  public var warmStart: Bool = true
  /// HiGHS threads (0: HiGHS decides).
  public var threads: Int = 0
  /// LP Walk: step past the LP optimum, relative.
  public var lpWalkEpsilon: Double = 0.01
  /// LP Walk: which LP of a linear region it solves.
  public var lpWalkRegionLP: RegionLPKind = .auto
  /// MILP Walk: relative gap within which a sample is refined by MILPs.
  public var milpWalkGap: Double = 2.0 / 3.0
  /// `auto` uses the exact MILP when the network has at most this many unstable ReLUs...
  public var autoMilpNeurons: Int = 200
  /// ... and at most this many inputs.
  public var autoMilpInputs: Int = 50

  /// Creates the defaults.
  public init() {}

  /// Every option, declared once, in the order the man page lists them. Parsing, command-line
  /// overrides, validation messages and the documentation check all read this table.
  public static let specs: [OptionSpec] = [
    .choice("method", \.method, "the back end"),
    .real("time_limit", \.timeLimit, 0, 1e7, "wall-clock limit of the solve, in seconds"),
    .integer("seed", \.seed, 0...Int(Int32.max), "seed of every random choice"),
    .integer(
      "starts", \.starts, 0...1_000_000,
      "starting points of the gradient and walk methods (0: until the time limit)"),
    .real(
      "feasibility_tolerance", \.feasibilityTolerance, 0, 1e-3,
      "tolerance of the final feasibility check and the solvers"),
    .real("step_size", \.stepSize, 0, 1, "gradient step, as a fraction of the domain's diameter"),
    .real(
      "perturbation_radius", \.perturbationRadius, 0, 1,
      "PPGA perturbation radius, as a fraction of the diameter"),
    .real(
      "overshoot", \.overshoot, 0, 0.1,
      "PPGA_LR step past the region boundary, as a fraction of the diameter"),
    .boolean(
      "ppga_lr_skip", \.ppgaLRSkip,
      "PPGA_LR: extend a step that stays in its linear region to the region's boundary"),
    .boolean(
      "ppga_lr_trim", \.ppgaLRTrim,
      "PPGA_LR: trim a failed step at its first-layer crossings instead of halving it"),
    .integer("max_iterations", \.maxIterations, 1...Int.max, "iterations of one start at most"),
    .integer(
      "stall_iterations", \.stallIterations, 1...Int.max,
      "PPGA: perturbations in a row that do not improve before a start ends"),
    .real(
      "step_tolerance", \.stepTolerance, 0, 1,
      "a projected step shorter than this (fraction of diameter) stops"),
    .integer(
      "workers", \.workers, 1...64,
      "threads of the gradient methods (the starts split between them), of OBBT and of the MILP tree"
    ),
    .integer(
      "batch", \.batch, 1...4096,
      "PPGA: starts run in lockstep per worker through matrix-matrix products"),
    .choice("sampling", \.sampling, "how starting points are drawn"),
    .choice(
      "lane_precision", \.lanePrecision,
      "PPGA, PPGA_LR: precision of the batched passes (single: sgemm, points kept re-evaluated in double)"
    ),
    .boolean(
      "region_polish", \.regionPolish,
      "heuristics: end with the LP of the best point's linear region (its expected time, at most 10% of the limit)"
    ),
    .choice("bounds", \.bounds, "pre-activation bounds for the MILP"),
    .choice(
      "cuts", \.cuts,
      "ideal ReLU cuts for the MILP: none, at the root (HiGHS's tree), at every node (ours)"),
    .integer(
      "obbt_splits", \.obbtSplits, 0...8,
      "MILP bounds: previous-layer binaries fixed both ways per bound LP (2^k LPs)"),
    .integer(
      "strong_branching", \.strongBranching, 0...1000,
      "MILP tree (cuts = all): the most candidates strong-branched at one node"),
    .integer(
      "bab_exact_relus", \.babExactReLUs, 0...16,
      "bab: boxes with at most this many unstable ReLUs are solved exactly (one LP per pattern)"),
    .integer(
      "bab_relu_splits", \.babReLUSplits, 0...8,
      "bab: ReLU split candidates tried beside the inputs on boxes with few unstable ReLUs"),
    .real("mip_gap", \.mipGap, 0, 1, openLower: false, "relative MIP gap at which the MILP stops"),
    .boolean("warm_start", \.warmStart, "start the MILP from a short heuristic run's best point"),
    .integer("threads", \.threads, 0...256, "HiGHS threads (0: HiGHS decides)"),
    .real("lp_walk_epsilon", \.lpWalkEpsilon, 0, 1, "LP Walk: relative step past each LP optimum"),
    .choice(
      "lp_walk_region_lp", \.lpWalkRegionLP,
      "LP Walk: the region LP over the inputs or the lifted variables (auto: inputs, up to 1e7 entries)"
    ),
    .real(
      "milp_walk_gap", \.milpWalkGap, 0, 1, openLower: false,
      "MILP Walk: relative gap within which a sample is refined"),
    .integer(
      "auto_milp_neurons", \.autoMilpNeurons, 0...Int.max,
      "auto: run the exact MILP when the network has at most this many ReLUs"),
    .integer(
      "auto_milp_inputs", \.autoMilpInputs, 0...Int.max,
      "auto: run the exact MILP only when the network has at most this many inputs"),
  ]

  /// The names of all options.
  public static var names: [String] { specs.map(\.name) }

  /// The declaration of option `name`, if there is one.
  public static func spec(_ name: String) -> OptionSpec? { specs.first { $0.name == name } }

  /// Sets option `name` to `value`, checking its kind and range.
  public mutating func set(_ name: String, _ value: OptionValue) throws(OptionError) {
    guard let spec = Self.spec(name) else {
      throw .unknown(suggestion: closestMatch(to: name, among: Self.names))
    }
    guard spec.store(&self, value) else { throw .badValue(expected: spec.kind.expectation) }
  }

  /// The current value of option `name` (nil for an unknown name).
  public func value(of name: String) -> OptionValue? { Self.spec(name)?.load(self) }

  /// Applies assignments in order (later ones win) and returns the ones that were rejected.
  public mutating func apply(_ assignments: [OptionAssignment]) -> [(
    OptionAssignment, OptionError
  )] {
    var rejected: [(OptionAssignment, OptionError)] = []
    for a in assignments {
      do throws(OptionError) { try set(a.name, a.value) } catch { rejected.append((a, error)) }
    }
    return rejected
  }
}

/// One option: its name, accepted values, a line of documentation and the field it sets.
public struct OptionSpec: Sendable {
  /// The option's name as written in `option NAME = VALUE` and `-O NAME=VALUE`.
  public let name: String
  /// Accepted values.
  public let kind: OptionKind
  /// One line of documentation.
  public let summary: String
  /// Stores a value into the options; false when the value is not acceptable.
  let store: @Sendable (inout SolveOptions, OptionValue) -> Bool
  /// Reads the option's current value.
  let load: @Sendable (SolveOptions) -> OptionValue

  /// The default value.
  public var defaultValue: OptionValue { load(SolveOptions()) }

  /// The default, as it reads in a model file.
  public var defaultText: String { defaultValue.description }

  /// A real option in `lower...upper` (`lower` excluded unless `openLower` is false).
  static func real(
    _ name: String, _ field: WritableKeyPath<SolveOptions, Double> & Sendable, _ lower: Double,
    _ upper: Double, openLower: Bool = true, _ summary: String
  ) -> OptionSpec {
    let kind = OptionKind.real(lower: lower, upper: upper, openLower: openLower)
    return OptionSpec(
      name: name, kind: kind, summary: summary,
      store: { options, value in
        guard case .number(let d) = value, kind.admits(d) else { return false }
        options[keyPath: field] = d
        return true
      },
      load: { .number($0[keyPath: field]) })
  }

  /// An integer option in `range`.
  static func integer(
    _ name: String, _ field: WritableKeyPath<SolveOptions, Int> & Sendable,
    _ range: ClosedRange<Int>,
    _ summary: String
  ) -> OptionSpec {
    let kind = OptionKind.integer(range)
    return OptionSpec(
      name: name, kind: kind, summary: summary,
      store: { options, value in
        guard case .number(let d) = value, kind.admits(d) else { return false }
        options[keyPath: field] = Int(d)
        return true
      },
      load: { .number(Double($0[keyPath: field])) })
  }

  /// An option whose values are the cases of an enumeration.
  static func choice<E: RawRepresentable & CaseIterable & Sendable>(
    _ name: String, _ field: WritableKeyPath<SolveOptions, E> & Sendable, _ summary: String
  ) -> OptionSpec where E.RawValue == String {
    OptionSpec(
      name: name, kind: .choice(E.allCases.map(\.rawValue)), summary: summary,
      store: { options, value in
        let text: String
        switch value {
        case .identifier(let s), .string(let s): text = s
        case .number: return false
        }
        guard let e = E(rawValue: text) else { return false }
        options[keyPath: field] = e
        return true
      },
      load: { .identifier($0[keyPath: field].rawValue) })
  }

  /// A `true`/`false` option.
  static func boolean(
    _ name: String, _ field: WritableKeyPath<SolveOptions, Bool> & Sendable, _ summary: String
  ) -> OptionSpec {
    OptionSpec(
      name: name, kind: .boolean, summary: summary,
      store: { options, value in
        switch value {
        case .identifier("true"): options[keyPath: field] = true
        case .identifier("false"): options[keyPath: field] = false
        default: return false
        }
        return true
      },
      load: { .identifier($0[keyPath: field] ? "true" : "false") })
  }
}

/// A value written for an option, in a model file or on the command line.
public enum OptionValue: Sendable, Equatable {
  case number(Double)
  case identifier(String)
  case string(String)

  /// Parses a command-line value: a number, else an identifier.
  public static func parse(_ text: String) -> OptionValue {
    if let d = Double(text) { return .number(d) }
    return .identifier(text)
  }

  /// How the value is shown in messages.
  public var description: String {
    switch self {
    case .number(let d): return formatNumber(d)
    case .identifier(let s): return s
    case .string(let s): return "\"\(s)\""
    }
  }
}

/// The type and range of an option.
public enum OptionKind: Sendable, Equatable {
  /// One of a list of identifiers.
  case choice([String])
  /// An integer in a closed range.
  case integer(ClosedRange<Int>)
  /// A real number in a range; `openLower` excludes the lower end.
  case real(lower: Double, upper: Double, openLower: Bool)
  /// `true` or `false`.
  case boolean

  /// Whether a number is acceptable (for integer and real kinds).
  func admits(_ d: Double) -> Bool {
    guard d.isFinite else { return false }
    switch self {
    case .integer(let r):
      return d == d.rounded() && d >= Double(r.lowerBound) && d <= Double(r.upperBound) && d < 9e18
    case .real(let lo, let hi, let open):
      return (open ? d > lo : d >= lo) && d <= hi
    case .choice, .boolean:
      return false
    }
  }

  /// A human description of the accepted values.
  public var expectation: String {
    switch self {
    case .choice(let c): return "one of " + c.joined(separator: ", ")
    case .integer(let r):
      return r.upperBound == Int.max
        ? "an integer >= \(r.lowerBound)" : "an integer in \(r.lowerBound)...\(r.upperBound)"
    case .real(let lo, let hi, let open):
      let l = open ? "> \(formatNumber(lo))" : ">= \(formatNumber(lo))"
      return hi.isInfinite ? "a number \(l)" : "a number \(l) and <= \(formatNumber(hi))"
    case .boolean: return "true or false"
    }
  }
}

/// Why an option assignment was rejected.
public enum OptionError: Error, Equatable, Sendable {
  /// No option of that name; carries the closest name, if any.
  case unknown(suggestion: String?)
  /// The value is not acceptable; carries what is expected.
  case badValue(expected: String)
}

/// An option assignment and where it was written: `option NAME = VALUE` in a model file, or a
/// command-line flag (`--time-limit 5`, `-O starts=64`). Command-line assignments are typed
/// values from the argument parser, applied after the model's.
public struct OptionAssignment: Sendable, Equatable {
  /// Where an assignment was written.
  public enum Origin: Sendable, Equatable {
    /// An `option` statement: the ranges of its name and of its value.
    case model(name: SourceRange, value: SourceRange, statement: SourceRange)
    /// A command-line flag, as the user spelled it (`--time-limit`, `-O`).
    case commandLine(flag: String)
  }

  /// The option's name.
  public var name: String
  /// The value.
  public var value: OptionValue
  /// Where it was written.
  public var origin: Origin

  /// Creates an assignment.
  public init(_ name: String, _ value: OptionValue, origin: Origin) {
    self.name = name
    self.value = value
    self.origin = origin
  }

  /// A command-line assignment given by a dedicated flag.
  public static func flag(_ flag: String, _ name: String, _ value: OptionValue) -> OptionAssignment
  {
    OptionAssignment(name, value, origin: .commandLine(flag: flag))
  }

  /// Parses `-O NAME=VALUE`; nil when there is no `=`.
  public static func parseOverride(_ text: String) -> OptionAssignment? {
    guard let eq = text.firstIndex(of: "=") else { return nil }
    let name = String(text[..<eq])
    let value = OptionValue.parse(String(text[text.index(after: eq)...]))
    return OptionAssignment(name, value, origin: .commandLine(flag: "-O"))
  }
}
