import RelucBase
import RelucIR

/// A constraint row that names an output or a hidden value: `form <= 0`.
struct OutputRow {
  var form: Affine
  var name: String
  /// The statement it came from.
  var range: SourceRange
}

/// Constraint statements: single-input constraints become bounds, other constraints over inputs
/// rows of `A x <= b`, constraints naming outputs or hidden values output rows.
extension Lowering {
  /// Bounds crossing by at most this, relative to their magnitude (at least 1), cross by a
  /// rounding error: a few units in the last place.
  static let roundingCross = 1e-14

  mutating func lowerConstraints(_ net: Symbols) -> (polytope: Polytope, outputRows: [OutputRow])? {
    let n = net.inputSize
    var lower = [Double](repeating: -.infinity, count: n)
    var upper = [Double](repeating: .infinity, count: n)
    // Bounds declared by the network files, on the entries each network is bound to.
    for m in net.networks {
      for (j, col) in m.inputColumns.enumerated() {
        if let lo = m.network.inputLower?[j] { lower[col] = max(lower[col], lo) }
        if let hi = m.network.inputUpper?[j] { upper[col] = min(upper[col], hi) }
      }
    }
    var outputRows: [OutputRow] = []
    var lowerFrom = [SourceRange?](repeating: nil, count: n)
    var upperFrom = [SourceRange?](repeating: nil, count: n)
    var matrix: [Double] = []
    var rhs: [Double] = []
    var names: [String] = []
    var seenNames: [String: SourceRange] = [:]
    let errorsBefore = diagnostics.errorCount

    for s in model.statements {
      guard case .constraint(let name, let binders, let rel, let range) = s else { continue }
      if let name,
        !firstUse(
          of: name, in: &seenNames, Messages.duplicateConstraint(name.name),
          note: "first defined here")
      {
        continue
      }
      let baseName = name?.name ?? "c\(file.position(of: range.start).line)"
      var reportedHuge = false
      if halted { break }
      _ = forEachAssignment(binders, Scope(), net, generating: .constraints) { me, scope in
        me.generatedConstraints += 1
        if me.generatedConstraints > me.limits.maxConstraints {
          me.halt(Messages.tooManyConstraints(me.limits.maxConstraints), at: range)
          return false
        }
        if me.generatedConstraints & 1023 == 0, Interrupt.requested {
          me.halt(Messages.loweringInterrupted, at: range)
          return false
        }
        var values: [Value] = []
        for operand in rel.operands {
          guard let v = me.evaluate(operand, scope, net) else { return false }
          guard me.finiteCoefficients(v, at: operand.range) else { return false }
          values.append(v)
        }
        let length = values.map { $0.components.count }.max() ?? 1
        for v in values where v.components.count != 1 && v.components.count != length {
          me.diagnostics.report(
            Messages.lengthMismatch(v.components.count, length), at: me.loc(range))
          return false
        }
        let suffix =
          binders.isEmpty
          ? ""
          : "[" + binders.map { String(scope.indices[$0.name.name]!) }.joined(separator: ",") + "]"
        for k in 0..<length {
          func comp(_ v: Value) -> Affine {
            v.components.count == 1 ? v.components[0] : v.components[k]
          }
          for (o, op) in rel.operators.enumerated() {
            // lhs op rhs  ->  (lhs - rhs) op 0
            let diff = comp(values[o]) - comp(values[o + 1])
            guard me.finiteCoefficients(.scalar(diff), at: range) else { return false }
            let rowName = baseName + suffix + (length > 1 ? "{\(k)}" : "")
            if !reportedHuge,
              (Array(diff.x.values) + Array(diff.y.values)).contains(where: { abs($0) > 1e9 })
            {
              me.diagnostics.report(Messages.hugeCoefficient, at: me.loc(range))
              reportedHuge = true
            }
            let senses: [Double] = op == .equal ? [1, -1] : (op == .lessEqual ? [1] : [-1])
            for sign in senses {
              let row = diff.scaled(sign)  // row.x . x + row.y . y + row.constant <= 0
              if !row.y.isEmpty {
                outputRows.append(OutputRow(form: row, name: rowName, range: range))
                continue
              }
              if row.x.isEmpty {
                if row.constant > 1e-12 * max(1, abs(row.constant)) {
                  me.diagnostics.report(
                    Messages.constantConstraintFalse(me.file.text(range)), at: me.loc(range))
                  return false
                }
                if sign == senses[0] {
                  me.diagnostics.report(Messages.constantConstraintTrue, at: me.loc(range))
                }
                continue
              }
              if row.x.count == 1, let (j, a) = row.x.first {
                let bound = -row.constant / a
                if a > 0 {
                  if bound < upper[j] {
                    upper[j] = bound
                    upperFrom[j] = range
                  }
                } else if bound > lower[j] {
                  lower[j] = bound
                  lowerFrom[j] = range
                }
                continue
              }
              // Checked before the row is allocated: rows of n doubles.
              let (entries, overflow) = (rhs.count + 1).multipliedReportingOverflow(by: n)
              if overflow || entries > me.limits.maxMatrixEntries {
                me.halt(
                  Messages.matrixTooLarge(rhs.count + 1, n, me.limits.maxMatrixEntries), at: range)
                return false
              }
              var dense = [Double](repeating: 0, count: n)
              for (j, a) in row.x { dense[j] = a }
              matrix.append(contentsOf: dense)
              rhs.append(-row.constant)
              names.append(rowName)
            }
          }
        }
        return true
      }
    }
    guard diagnostics.errorCount == errorsBefore, !halted else { return nil }

    // Crossed and missing bounds. Bounds that cross by a rounding error only (`x >= 0.1` and
    // `3 * x <= 0.3` give the upper bound 0.3 / 3 = 0.09999999999999999) fix the input at their
    // midpoint, which meets both within the final check's tolerance.
    let inputName = net.inputName
    for j in 0..<n where lower[j] > upper[j] {
      let cross = lower[j] - upper[j]
      guard cross <= Self.roundingCross * max(1, abs(lower[j]), abs(upper[j])) else { continue }
      let mid = lower[j] / 2 + upper[j] / 2
      (lower[j], upper[j]) = (mid, mid)
    }
    for j in 0..<n where lower[j] > upper[j] {
      var notes: [DiagnosticNote] = []
      if let r = lowerFrom[j] { notes.append(DiagnosticNote("lower bound set here", at: loc(r))) }
      if let r = upperFrom[j] { notes.append(DiagnosticNote("upper bound set here", at: loc(r))) }
      if lowerFrom[j] == nil || upperFrom[j] == nil {
        notes.append(contentsOf: networkNote("the network file gives bounds too"))
      }
      let at = upperFrom[j] ?? lowerFrom[j] ?? networkStatement ?? SourceRange(0, 0)
      diagnostics.report(
        Messages.boundsCross("\(inputName)[\(j)]", lower[j], upper[j]), at: loc(at), notes: notes)
    }
    for (side, values) in [("lower", lower), ("upper", upper)] {
      let missing = (0..<n).filter { values[$0].isInfinite }
      guard !missing.isEmpty else { continue }
      let list: String
      if missing.count == n, n > 1 {
        list = "\(inputName)[0..\(n - 1)]"
      } else {
        list =
          missing.prefix(4).map { "\(inputName)[\($0)]" }.joined(separator: ", ")
          + (missing.count > 4 ? " and \(missing.count - 4) more" : "")
      }
      diagnostics.report(
        Messages.unbounded(list, side, plural: missing.count > 1),
        at: loc(networkStatement ?? SourceRange(0, 0)))
    }
    guard diagnostics.errorCount == errorsBefore else { return nil }
    return (
      Polytope(
        dimension: n, matrix: matrix, rhs: rhs, rowNames: names, lower: lower, upper: upper),
      outputRows
    )
  }
}
