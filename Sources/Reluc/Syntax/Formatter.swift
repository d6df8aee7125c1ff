import RelucBase
import RelucIR

/// Prints a parsed model in canonical form: one statement per line, single spaces around binary
/// operators, literals and comments as written, at most one blank line between statements.
/// `format(parse(format(m))) == format(m)` (tested). Recursion is per nesting level only (bounded
/// by `FrontEndLimits.maxNesting` when parsing); chains are printed in a loop.
public enum Formatter {
  /// The canonical text of a model that parsed without errors (on a thread with a large stack,
  /// like the parser).
  public static func format(_ model: ModelSyntax) -> String {
    onLargeStack { formatOnThisThread(model) }
  }

  static func formatOnThisThread(_ model: ModelSyntax) -> String {
    let file = model.file
    var out: [String] = []
    var pendingComments = model.comments[...]
    var lastEndLine = 0

    func lineOf(_ offset: Int) -> Int { file.position(of: offset).line }
    func emit(_ text: String, startLine: Int, endLine: Int) {
      if lastEndLine > 0, startLine - lastEndLine >= 2 { out.append("") }
      out.append(text)
      lastEndLine = endLine
    }

    for s in model.statements {
      while let c = pendingComments.first, c.start < s.range.start || c.start < s.range.end {
        pendingComments.removeFirst()
        emit(file.text(c), startLine: lineOf(c.start), endLine: lineOf(c.start))
      }
      var text = statement(s, file)
      let endLine = lineOf(s.range.end)
      if let c = pendingComments.first, lineOf(c.start) == endLine {
        pendingComments.removeFirst()
        text += "  " + file.text(c)
      }
      emit(text, startLine: lineOf(s.range.start), endLine: endLine)
    }
    for c in pendingComments {
      emit(file.text(c), startLine: lineOf(c.start), endLine: lineOf(c.start))
    }
    return out.joined(separator: "\n") + (out.isEmpty ? "" : "\n")
  }

  static func statement(_ s: Statement, _ file: SourceFile) -> String {
    switch s {
    case .network(let d):
      var t = "network "
      if let alias = d.alias { t += alias.name + " " }
      t += file.text(d.path.range)
      if let digest = d.digest { t += " sha256 " + file.text(digest.range) }
      if let input = d.input { t += " input " + expr(input, file) }
      return t
    case .objective(let sense, let e, _):
      return sense.rawValue + " " + expr(e, file)
    case .constraint(let name, let binders, let rel, _):
      var t = "constraint "
      if name != nil || !binders.isEmpty {
        t += name?.name ?? ""
        if !binders.isEmpty {
          t += "[" + binders.map { binder($0, file) }.joined(separator: ", ") + "]"
        }
        t += ": "
      }
      for (k, operand) in rel.operands.enumerated() {
        if k > 0 { t += " " + rel.operators[k - 1].rawValue + " " }
        t += expr(operand, file)
      }
      return t
    case .option(let name, let value, _):
      return "option \(name.name) = \(value.text)"
    }
  }

  static func binder(_ b: Binder, _ file: SourceFile) -> String {
    "\(b.name.name) in \(expr(b.lower, file))..\(expr(b.upper, file))"
  }

  /// An expression as canonical text.
  public static func expr(_ e: Expr, _ file: SourceFile) -> String {
    switch e {
    case .number(_, let text, _): return text
    case .reference(let id, let sub, _):
      guard let sub else { return id.name }
      var t = id.name + "[" + expr(sub.lower, file)
      if let u = sub.upper { t += ".." + expr(u, file) }
      return t + "]"
    case .negate(let inner, _): return "-" + expr(inner, file)
    case .chain(let first, let links, _):
      // A loop, not recursion: a chain may have any number of links.
      var t = expr(first, file)
      for link in links { t += " \(link.op.rawValue) " + expr(link.operand, file) }
      return t
    case .paren(let inner, _): return "(" + expr(inner, file) + ")"
    case .sum(let binders, let body, _):
      if binders.isEmpty { return "sum(" + expr(body, file) + ")" }
      return "sum(" + binders.map { binder($0, file) }.joined(separator: ", ") + ") "
        + expr(body, file)
    case .missing: return "?"
    }
  }
}
