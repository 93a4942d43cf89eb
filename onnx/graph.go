package onnx

import (
	"errors"
	"fmt"

	onnxgo "github.com/owulveryck/onnx-go"
	"gorgonia.org/tensor"
)

// supportedOps are the operators the evaluator runs: those Encode emits.
var supportedOps = map[string]bool{
	"Sub": true, "Mul": true, "Add": true, "Exp": true, "Abs": true, "Tanh": true, "Gemm": true, "Relu": true, "Sigmoid": true,
	"Identity": true, "ReduceMean": true, "Greater": true, "IsNaN": true, "Or": true, "IsInf": true, "Where": true,
	"Gather": true, "Concat": true,
}

// Graph is an ONNX graph as onnx-go decodes it, ready to evaluate. It runs
// the operators vaejob emits (Sub, Mul, Add, Exp, Abs, Tanh, Gemm, Relu, Sigmoid,
// Identity, ReduceMean, Greater, IsNaN, IsInf, Or, Where, Gather, Concat) node by node in topological order, with
// ONNX (numpy) broadcasting, in float32. It is the independent "onnx-go"
// answer that Verify compares with the Go scorer.
//
// A Graph is read-only after DecodeGraph and safe for concurrent Run calls.
type Graph struct {
	input    string
	inputDim int // the declared fixed width of the input; 0 if unknown
	outputs  []string
	consts   map[string]*value
	ops      []*node // topological order

	largestConst int // elements of the largest initializer, for Run's budget
}

// node is one operation of the graph.
type node struct {
	op      string
	inputs  []string // "" for an omitted optional input
	outputs []string

	// attributes, already checked and defaulted
	alpha, beta    float32
	transA, transB bool
	axes           []int64
	keepDims       bool
	axis           int64 // Gather, Concat
}

// value is a tensor during evaluation: float32, bool or int64 data,
// row-major.
type value struct {
	shape  []int
	isBool bool
	isInt  bool
	f      []float32
	b      []bool
	i      []int64
}

func shapeSize(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// Input returns the name of the graph's input.
func (g *Graph) Input() string { return g.input }

// Outputs returns the names of the graph's outputs in declared order.
func (g *Graph) Outputs() []string { return append([]string(nil), g.outputs...) }

// Ops returns the operator types of the graph's nodes in evaluation order.
func (g *Graph) Ops() []string {
	ops := make([]string, len(g.ops))
	for i, n := range g.ops {
		ops[i] = n.op
	}
	return ops
}

// newGraph builds a Graph from what onnx-go told the recorder; inits names
// the initializers.
func newGraph(r *recorder, m *onnxgo.Model, inits map[string]bool) (*Graph, error) {
	if r.err != nil {
		return nil, r.err
	}
	g := &Graph{consts: map[string]*value{}}
	byID := func(id int64) (*recNode, error) {
		n, ok := r.nodes[id]
		if !ok {
			return nil, fmt.Errorf("onnx-go reported unknown node %d", id)
		}
		return n, nil
	}
	if len(m.Input) != 1 {
		return nil, fmt.Errorf("graph has %d inputs besides initializers, want 1 (%q)", len(m.Input), InputName)
	}
	in, err := byID(m.Input[0])
	if err != nil {
		return nil, err
	}
	g.input = in.name
	if in.tensor != nil {
		// onnx-go keeps only the fixed dimensions of a declared shape.
		if s := in.tensor.Shape(); len(s) == 1 {
			g.inputDim = s[0]
		}
	}
	for _, id := range m.Output {
		n, err := byID(id)
		if err != nil {
			return nil, err
		}
		g.outputs = append(g.outputs, n.name)
	}

	produced := map[string]bool{}
	for _, rop := range r.ops {
		n := &node{op: rop.op.Name}
		for _, out := range rop.outputs {
			name := r.nameOf(out)
			switch {
			case produced[name]:
				return nil, fmt.Errorf("value %q is produced by two nodes", name)
			case name == g.input:
				return nil, fmt.Errorf("a %s node overwrites the graph input %q", n.op, name)
			case inits[name]:
				return nil, fmt.Errorf("a %s node overwrites the initializer %q", n.op, name)
			}
			produced[name] = true
			n.outputs = append(n.outputs, name)
		}
		if len(rop.outputs) != 1 {
			return nil, fmt.Errorf("%s node has %d outputs, want 1", n.op, len(rop.outputs))
		}
		ins, err := r.inputs(rop.outputs[0])
		if err != nil {
			return nil, err
		}
		for _, in := range ins {
			if in.name == n.outputs[0] {
				return nil, fmt.Errorf("%s node %q reads its own output", n.op, in.name)
			}
			n.inputs = append(n.inputs, in.name)
		}
		if err := n.setAttributes(rop.op.Attributes); err != nil {
			return nil, fmt.Errorf("%s node %q: %w", n.op, n.outputs[0], err)
		}
		g.ops = append(g.ops, n)
	}

	for _, n := range r.order {
		if !inits[n.name] || n.name == g.input {
			continue
		}
		if n.tensor == nil {
			return nil, fmt.Errorf("initializer %q has no tensor", n.name)
		}
		v, err := fromTensor(n.tensor)
		if err != nil {
			return nil, fmt.Errorf("initializer %q: %w", n.name, err)
		}
		g.consts[n.name] = v
		g.largestConst = max(g.largestConst, shapeSize(v.shape))
	}
	if err := g.sort(); err != nil {
		return nil, err
	}
	for _, o := range g.outputs {
		if !produced[o] {
			return nil, fmt.Errorf("output %q is not produced by any node", o)
		}
	}
	return g, nil
}

func (n *node) setAttributes(attrs map[string]any) error {
	n.alpha, n.beta, n.keepDims = 1, 1, true
	getInt := func(k string, v any) (int64, error) {
		i, ok := v.(int64)
		if !ok {
			return 0, fmt.Errorf("attribute %s: %T, want int", k, v)
		}
		return i, nil
	}
	for k, v := range attrs {
		switch {
		case n.op == "Gemm" && (k == "alpha" || k == "beta"):
			f, ok := v.(float32)
			if !ok {
				return fmt.Errorf("attribute %s: %T, want float", k, v)
			}
			if k == "alpha" {
				n.alpha = f
			} else {
				n.beta = f
			}
		case n.op == "Gemm" && (k == "transA" || k == "transB"):
			i, err := getInt(k, v)
			if err != nil {
				return err
			}
			if k == "transA" {
				n.transA = i != 0
			} else {
				n.transB = i != 0
			}
		case n.op == "ReduceMean" && k == "axes":
			a, ok := v.([]int64)
			if !ok {
				return fmt.Errorf("attribute axes: %T, want ints", v)
			}
			n.axes = append([]int64(nil), a...)
		case (n.op == "Gather" || n.op == "Concat") && k == "axis":
			i, err := getInt(k, v)
			if err != nil {
				return err
			}
			n.axis = i
		case n.op == "ReduceMean" && k == "keepdims":
			i, err := getInt(k, v)
			if err != nil {
				return err
			}
			n.keepDims = i != 0
		default:
			return fmt.Errorf("unsupported attribute %q", k)
		}
	}
	want := map[string][2]int{ // min and max number of inputs
		"Sub": {2, 2}, "Mul": {2, 2}, "Greater": {2, 2}, "Or": {2, 2},
		"Gemm": {2, 3}, "Relu": {1, 1}, "Sigmoid": {1, 1}, "Identity": {1, 1},
		"ReduceMean": {1, 1}, "IsNaN": {1, 1}, "Add": {2, 2}, "Exp": {1, 1}, "Abs": {1, 1}, "Tanh": {1, 1},
		"IsInf": {1, 1}, "Where": {3, 3}, "Gather": {2, 2}, "Concat": {1, 1 << 16},
	}[n.op]
	if len(n.inputs) < want[0] || len(n.inputs) > want[1] {
		return fmt.Errorf("%d inputs, want %d to %d", len(n.inputs), want[0], want[1])
	}
	return nil
}

// sort orders g.ops topologically, keeping file order among ready nodes.
func (g *Graph) sort() error {
	ready := map[string]bool{g.input: true, "": true}
	for k := range g.consts {
		ready[k] = true
	}
	done := make([]bool, len(g.ops))
	sorted := make([]*node, 0, len(g.ops))
	for len(sorted) < len(g.ops) {
		progress := false
		for i, n := range g.ops {
			if done[i] {
				continue
			}
			ok := true
			for _, in := range n.inputs {
				ok = ok && ready[in]
			}
			if !ok {
				continue
			}
			done[i], progress = true, true
			sorted = append(sorted, n)
			for _, o := range n.outputs {
				ready[o] = true
			}
		}
		if !progress {
			for i, n := range g.ops {
				if !done[i] {
					for _, in := range n.inputs {
						if !ready[in] {
							return fmt.Errorf("%s node %q: input %q is never computed (missing initializer or a cycle)", n.op, n.outputs[0], in)
						}
					}
				}
			}
			return errors.New("graph has a cycle")
		}
	}
	g.ops = sorted
	return nil
}

// fromTensor copies a gorgonia tensor that onnx-go decoded into a value.
func fromTensor(t tensor.Tensor) (*value, error) {
	shape := append([]int(nil), t.Shape()...)
	v := &value{shape: shape}
	switch data := t.Data().(type) {
	case []float32:
		v.f = append([]float32(nil), data...)
	case float32:
		v.f = []float32{data}
	case []bool:
		v.isBool, v.b = true, append([]bool(nil), data...)
	case bool:
		v.isBool, v.b = true, []bool{data}
	case []int64:
		v.isInt, v.i = true, append([]int64(nil), data...)
	case int64:
		v.isInt, v.i = true, []int64{data}
	default:
		return nil, fmt.Errorf("unsupported element type %v", t.Dtype())
	}
	n := len(v.f)
	switch {
	case v.isBool:
		n = len(v.b)
	case v.isInt:
		n = len(v.i)
	}
	if n != shapeSize(shape) {
		return nil, fmt.Errorf("%d elements for shape %v", n, shape)
	}
	return v, nil
}
