import RelucBase
import RelucIR

extension ONNXImporter {
  /// The part of a graph that computes its declared output.
  struct Plan {
    /// The data input (the one graph input without an initializer) and its declared dimensions.
    var input: String
    var inputDims: [Int]
    /// The one declared output.
    var output: String
    /// The indices of the nodes the output depends on, each after the nodes it reads from.
    var order: [Int]
  }

  /// Where a tensor is defined.
  enum Definition {
    case input, initializer
    case node(Int)
  }

  /// "node 3 'name' (Op)": how messages name the node at `index` of the graph's node list.
  static func describe(_ g: Graph, _ index: Int) -> String {
    "node \(index) '\(g.nodes[index].name)' (\(g.nodes[index].opType))"
  }

  /// Checks the graph as a graph and finds what its output depends on: every tensor is defined
  /// exactly once (a graph input, an initializer or a node's output), every tensor a node reads
  /// is defined, the nodes have no cycle (whether the output depends on them or not: such a file
  /// is not a valid ONNX model), and there is one declared output. Returns the nodes the output
  /// depends on in topological order; the others are ignored.
  static func plan(_ g: Graph) throws(ImportError) -> Plan {
    var defined: [String: Definition] = [:]
    func definer(_ d: Definition) -> String {
      switch d {
      case .input: return "as a graph input"
      case .initializer: return "as an initializer"
      case .node(let i): return "by " + describe(g, i)
      }
    }
    for (name, _) in g.inputs {
      if defined[name] != nil { throw ImportError("graph input '\(name)' is declared twice") }
      defined[name] = g.initializers[name] == nil ? .input : .initializer
    }
    for name in g.initializers.keys.sorted() where defined[name] == nil {
      defined[name] = .initializer
    }
    for (i, node) in g.nodes.enumerated() {
      for out in node.outputs where !out.isEmpty {
        if let d = defined[out] {
          throw ImportError(
            "tensor '\(out)' is defined twice: \(definer(d)) and by \(describe(g, i))")
        }
        defined[out] = .node(i)
      }
    }
    // The producing node of each tensor a node reads (nil: an input or initializer).
    var reads: [[Int]] = []
    reads.reserveCapacity(g.nodes.count)
    for (i, node) in g.nodes.enumerated() {
      var from: [Int] = []
      for name in node.inputs where !name.isEmpty {
        guard let d = defined[name] else {
          throw ImportError(
            "\(describe(g, i)) reads tensor '\(name)', which no node, initializer or graph input defines"
          )
        }
        if case .node(let j) = d { from.append(j) }
      }
      reads.append(from)
    }
    guard g.outputs.count == 1, let output = g.outputs.first else {
      let names = g.outputs.map { "'\($0)'" }.joined(separator: ", ")
      throw ImportError(
        "the graph declares \(g.outputs.count) outputs\(names.isEmpty ? "" : " (\(names))"); exactly one is supported"
      )
    }
    guard let outputDefinition = defined[output] else {
      throw ImportError(
        "the graph output '\(output)' is not defined by any node, initializer or graph input")
    }
    let dataInputs = g.inputs.filter { g.initializers[$0.0] == nil }
    guard dataInputs.count == 1, let (input, inputDims) = dataInputs.first else {
      throw ImportError("the graph has \(dataInputs.count) data inputs; exactly one is supported")
    }

    // Topological order of all the nodes by an iterative depth-first search (no recursion: a
    // hostile file may have a million nodes): a node is finished after the nodes it reads from;
    // reaching a node still on the stack closes a cycle through it.
    enum State { case new, open, done }
    var state = [State](repeating: .new, count: g.nodes.count)
    var topological: [Int] = []
    topological.reserveCapacity(g.nodes.count)
    for root in g.nodes.indices where state[root] == .new {
      var stack: [(node: Int, next: Int)] = [(root, 0)]
      state[root] = .open
      while let (node, next) = stack.last {
        if next < reads[node].count {
          stack[stack.count - 1].next += 1
          let j = reads[node][next]
          switch state[j] {
          case .done: break
          case .open: throw ImportError("the graph has a cycle through \(describe(g, j))")
          case .new:
            state[j] = .open
            stack.append((j, 0))
          }
        } else {
          state[node] = .done
          topological.append(node)
          stack.removeLast()
        }
      }
    }

    // The nodes the output depends on.
    var needed = [Bool](repeating: false, count: g.nodes.count)
    if case .node(let last) = outputDefinition {
      var work = [last]
      needed[last] = true
      while let n = work.popLast() {
        for j in reads[n] where !needed[j] {
          needed[j] = true
          work.append(j)
        }
      }
    }
    return Plan(
      input: input, inputDims: inputDims, output: output, order: topological.filter { needed[$0] })
  }
}
