import RelucBase
import RelucIR

/// A disjunct of a property written as a model (`.rmod`): the network statement, the margin of
/// the first output condition as the objective, the inputs' bounds, then every other condition
/// as a constraint (conditions on outputs use the language's output constraints).
public enum PropertyModel {
  /// The model text of `disjunct` (which has a problem), whose network file is `networkPath`
  /// (as written in the model), with `header` comment lines first.
  public static func text(
    _ disjunct: PropertyDisjunct, problem: Problem, networkPath: String, header: [String]
  ) -> String {
    let net = problem.network
    let x = net.inputName
    let y = net.outputName
    var out = header.map { "# \($0)\n" }.joined()
    out += "network \"\(networkPath)\"\n\n"
    let rows = problem.outputConstraints
    if rows.isEmpty {
      out += "# No output condition: every point of the inputs' set is in the unsafe set.\n"
      out += "maximize \(y)[0]\n"
    } else {
      out +=
        "# The margin of the first output condition (line \(line(disjunct, 0, problem))): >= 0 where it holds.\n"
      let g = rows.inputRow(0).map { -$0 }
      let h = rows.outputRow(0).map { -$0 }
      out += "maximize \(expression(g, x, h, y, constant: rows.rhs[0]))\n"
    }
    out += "\n"
    let p = problem.polytope
    for j in 0..<p.dimension {
      out +=
        "constraint \(x)\(j)_bounds: \(number(p.lower[j])) <= \(x)[\(j)] <= \(number(p.upper[j]))\n"
    }
    for r in 0..<p.rowCount {
      let zero = [Double](repeating: 0, count: net.outputSize)
      out +=
        "constraint input_row\(r + 1): \(expression(Array(p.row(r)), x, zero, y, constant: 0)) <= \(number(p.rhs[r]))\n"
    }
    for r in 0..<rows.rowCount {
      out += "# line \(line(disjunct, r, problem))\n"
      out +=
        "constraint output_row\(r + 1): \(expression(Array(rows.inputRow(r)), x, Array(rows.outputRow(r)), y, constant: 0)) <= \(number(rows.rhs[r]))\n"
    }
    return out
  }

  /// The line of the VNN-LIB file the output row `r` came from (its row name is `c<line>`).
  static func line(_ d: PropertyDisjunct, _ r: Int, _ problem: Problem) -> Int {
    Int(problem.outputConstraints.rowNames[r].dropFirst()) ?? 0
  }

  /// `sum g_j x[j] + sum h_i y[i] + constant` in the model language (`y[0] - 2 * y[1] + 0.5`).
  static func expression(
    _ g: [Double], _ x: String, _ h: [Double], _ y: String, constant: Double
  ) -> String {
    var terms: [(Double, String)] = []
    for (j, c) in g.enumerated() where c != 0 { terms.append((c, "\(x)[\(j)]")) }
    for (i, c) in h.enumerated() where c != 0 { terms.append((c, "\(y)[\(i)]")) }
    var s = ""
    for (k, (c, v)) in terms.enumerated() {
      let magnitude = abs(c) == 1 ? v : "\(number(abs(c))) * \(v)"
      if k == 0 {
        s = c < 0 ? "-" + magnitude : magnitude
      } else {
        s += c < 0 ? " - " + magnitude : " + " + magnitude
      }
    }
    if constant != 0 || s.isEmpty {
      if s.isEmpty {
        s = number(constant)
      } else {
        s += constant < 0 ? " - \(number(-constant))" : " + \(number(constant))"
      }
    }
    return s
  }

  /// The shortest decimal form that reads back to the same double (`0.5`, `3`, `1e-07`).
  static func number(_ v: Double) -> String { formatNumber(v) }
}
