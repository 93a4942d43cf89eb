package onnx

import (
	"fmt"
	"sort"

	onnxgo "github.com/owulveryck/onnx-go"
	"gonum.org/v1/gonum/graph"
	"gonum.org/v1/gonum/graph/iterator"
	"gorgonia.org/tensor"
)

// recorder is an onnx-go Backend that only records what onnx-go tells it:
// the named nodes (values) of the graph, the tensors onnx-go decodes for
// initializers and declared inputs and outputs, the edges from each operation
// output to its inputs (weighted by input position) and the operations.
//
// Unlike gonum's simple graphs it keeps every edge it is given, so an
// operation that uses the same input twice keeps both inputs.
type recorder struct {
	nodes map[int64]*recNode
	order []*recNode
	next  int64
	edges map[int64][]recEdge // by from-node ID, in insertion order
	ops   []recOp
	err   error
}

var _ onnxgo.Backend = (*recorder)(nil)

func newRecorder() *recorder {
	return &recorder{nodes: map[int64]*recNode{}, edges: map[int64][]recEdge{}}
}

// recNode is one value of the graph.
type recNode struct {
	id     int64
	name   string
	tensor tensor.Tensor
}

func (n *recNode) ID() int64                       { return n.id }
func (n *recNode) SetName(name string)             { n.name = name }
func (n *recNode) GetName() string                 { return n.name }
func (n *recNode) SetTensor(t tensor.Tensor) error { n.tensor = t; return nil }
func (n *recNode) GetTensor() tensor.Tensor        { return n.tensor }

var (
	_ onnxgo.Namer       = (*recNode)(nil)
	_ onnxgo.DataCarrier = (*recNode)(nil)
)

// recEdge goes from an operation's output node to one of its inputs; the
// weight is the input's position.
type recEdge struct {
	from, to graph.Node
	w        float64
}

func (e recEdge) From() graph.Node         { return e.from }
func (e recEdge) To() graph.Node           { return e.to }
func (e recEdge) ReversedEdge() graph.Edge { return recEdge{from: e.to, to: e.from, w: e.w} }
func (e recEdge) Weight() float64          { return e.w }

// recOp is one operation with its output nodes.
type recOp struct {
	op      onnxgo.Operation
	outputs []graph.Node
}

// NewNode returns a new node with a fresh ID; AddNode adds it.
func (r *recorder) NewNode() graph.Node {
	n := &recNode{id: r.next}
	r.next++
	return n
}

// AddNode adds n, which must come from NewNode.
func (r *recorder) AddNode(n graph.Node) {
	rn, ok := n.(*recNode)
	if !ok {
		r.fail(fmt.Errorf("node %d of foreign type %T", n.ID(), n))
		return
	}
	if _, dup := r.nodes[rn.id]; dup {
		r.fail(fmt.Errorf("node %d added twice", rn.id))
		return
	}
	r.nodes[rn.id] = rn
	r.order = append(r.order, rn)
	if rn.id >= r.next {
		r.next = rn.id + 1
	}
}

func (r *recorder) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// NewWeightedEdge returns an edge; SetWeightedEdge records it.
func (r *recorder) NewWeightedEdge(from, to graph.Node, w float64) graph.WeightedEdge {
	return recEdge{from: from, to: to, w: w}
}

// SetWeightedEdge records e, adding its nodes when they are new.
func (r *recorder) SetWeightedEdge(e graph.WeightedEdge) {
	for _, n := range []graph.Node{e.From(), e.To()} {
		if _, ok := r.nodes[n.ID()]; !ok {
			r.AddNode(n)
		}
	}
	id := e.From().ID()
	r.edges[id] = append(r.edges[id], recEdge{from: e.From(), to: e.To(), w: e.Weight()})
}

// ApplyOperation records op as producing outputs. Operators the evaluator
// cannot run are refused here, so decoding fails early with a clear error.
func (r *recorder) ApplyOperation(op onnxgo.Operation, outputs ...graph.Node) error {
	if _, ok := operators[op.Name]; !ok {
		return &onnxgo.ErrNotImplemented{Operator: op.Name, Message: "not used by vaejob models"}
	}
	r.ops = append(r.ops, recOp{op: op, outputs: outputs})
	return nil
}

// inputs returns the input nodes of the operation whose output is out, in
// input order.
func (r *recorder) inputs(out graph.Node) ([]*recNode, error) {
	es := append([]recEdge(nil), r.edges[out.ID()]...)
	sort.SliceStable(es, func(i, j int) bool { return es[i].w < es[j].w })
	ins := make([]*recNode, len(es))
	for i, e := range es {
		if e.w != float64(i) {
			return nil, fmt.Errorf("value %q: inputs are not numbered 0..%d (a value produced twice?)", r.nameOf(out), len(es)-1)
		}
		n, ok := r.nodes[e.to.ID()]
		if !ok {
			return nil, fmt.Errorf("value %q: input node %d unknown", r.nameOf(out), e.to.ID())
		}
		ins[i] = n
	}
	return ins, nil
}

func (r *recorder) nameOf(n graph.Node) string {
	if rn, ok := r.nodes[n.ID()]; ok {
		return rn.name
	}
	return fmt.Sprintf("#%d", n.ID())
}

// The graph.Directed methods, so that recorder is a gonum graph.

// Node returns the node with the given ID, or nil.
func (r *recorder) Node(id int64) graph.Node {
	if n, ok := r.nodes[id]; ok {
		return n
	}
	return nil
}

// Nodes returns all nodes in the order they were added.
func (r *recorder) Nodes() graph.Nodes {
	ns := make([]graph.Node, len(r.order))
	for i, n := range r.order {
		ns[i] = n
	}
	return iterator.NewOrderedNodes(ns)
}

// From returns the nodes reachable by one edge from id.
func (r *recorder) From(id int64) graph.Nodes {
	seen := map[int64]bool{}
	var ns []graph.Node
	for _, e := range r.edges[id] {
		if !seen[e.to.ID()] {
			seen[e.to.ID()] = true
			ns = append(ns, r.nodes[e.to.ID()])
		}
	}
	return iterator.NewOrderedNodes(ns)
}

// To returns the nodes with an edge to id.
func (r *recorder) To(id int64) graph.Nodes {
	var ns []graph.Node
	for _, n := range r.order {
		if r.HasEdgeFromTo(n.id, id) {
			ns = append(ns, n)
		}
	}
	return iterator.NewOrderedNodes(ns)
}

// HasEdgeBetween reports whether an edge joins x and y either way.
func (r *recorder) HasEdgeBetween(x, y int64) bool {
	return r.HasEdgeFromTo(x, y) || r.HasEdgeFromTo(y, x)
}

// HasEdgeFromTo reports whether an edge goes from u to v.
func (r *recorder) HasEdgeFromTo(u, v int64) bool {
	return r.Edge(u, v) != nil
}

// Edge returns the first edge from u to v, or nil.
func (r *recorder) Edge(u, v int64) graph.Edge {
	for _, e := range r.edges[u] {
		if e.to.ID() == v {
			return e
		}
	}
	return nil
}

// byID returns the value onnx-go reported with the given ID.
func (r *recorder) byID(id int64) (*recNode, error) {
	n, ok := r.nodes[id]
	if !ok {
		return nil, fmt.Errorf("onnx-go reported unknown node %d", id)
	}
	return n, nil
}
