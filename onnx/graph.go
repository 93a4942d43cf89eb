package onnx

import (
	"errors"
	"fmt"

	onnxgo "github.com/owulveryck/onnx-go"
	"gonum.org/v1/gonum/graph"
	"gorgonia.org/tensor"
)

// Graph is an ONNX graph as onnx-go decodes it, ready to evaluate. It runs
// the operators vaejob emits (Sub, Mul, Add, Exp, Abs, Tanh, Gemm, Relu, Sigmoid,
// Identity, ReduceMean, ReduceSum, Greater, Equal, IsNaN, IsInf, Or, Where,
// Gather, Concat, Cast) node by node in topological order, with
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
	to             int64 // Cast: the ONNX data type to cast to
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

// dtype names v's element type as ONNX does.
func (v *value) dtype() string {
	switch {
	case v.isBool:
		return "bool"
	case v.isInt:
		return "int64"
	}
	return "float32"
}

// isFloat reports whether v holds float32 data.
func (v *value) isFloat() bool { return !v.isBool && !v.isInt }

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
	if err := g.readInterface(r, m); err != nil {
		return nil, err
	}
	produced, err := g.readNodes(r, inits)
	if err != nil {
		return nil, err
	}
	if err := g.readInitializers(r, inits); err != nil {
		return nil, err
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

// readInterface sets the graph's one input, its width, and its outputs.
func (g *Graph) readInterface(r *recorder, m *onnxgo.Model) error {
	if len(m.Input) != 1 {
		return fmt.Errorf("graph has %d inputs besides initializers, want 1 (%q)", len(m.Input), InputName)
	}
	in, err := r.byID(m.Input[0])
	if err != nil {
		return err
	}
	g.input = in.name
	if in.tensor != nil {
		// onnx-go keeps only the fixed dimensions of a declared shape.
		if s := in.tensor.Shape(); len(s) == 1 {
			g.inputDim = s[0]
		}
	}
	for _, id := range m.Output {
		n, err := r.byID(id)
		if err != nil {
			return err
		}
		g.outputs = append(g.outputs, n.name)
	}
	return nil
}

// readNodes sets the graph's operations, in file order, and returns the
// names of the values they produce. Each value is produced once, by a node
// with one output that neither reads it nor overwrites the input or an
// initializer.
func (g *Graph) readNodes(r *recorder, inits map[string]bool) (map[string]bool, error) {
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
		if err := n.readInputs(r, rop.outputs[0]); err != nil {
			return nil, err
		}
		if err := n.setAttributes(rop.op.Attributes); err != nil {
			return nil, fmt.Errorf("%s node %q: %w", n.op, n.outputs[0], err)
		}
		g.ops = append(g.ops, n)
	}
	return produced, nil
}

// readInputs sets the names of the node's inputs: those of the operation
// whose output is out.
func (n *node) readInputs(r *recorder, out graph.Node) error {
	ins, err := r.inputs(out)
	if err != nil {
		return err
	}
	for _, in := range ins {
		if in.name == n.outputs[0] {
			return fmt.Errorf("%s node %q reads its own output", n.op, in.name)
		}
		n.inputs = append(n.inputs, in.name)
	}
	return nil
}

// readInitializers copies the tensors of the initializers into g.consts.
func (g *Graph) readInitializers(r *recorder, inits map[string]bool) error {
	for _, n := range r.order {
		if !inits[n.name] || n.name == g.input {
			continue
		}
		if n.tensor == nil {
			return fmt.Errorf("initializer %q has no tensor", n.name)
		}
		v, err := fromTensor(n.tensor)
		if err != nil {
			return fmt.Errorf("initializer %q: %w", n.name, err)
		}
		g.consts[n.name] = v
		g.largestConst = max(g.largestConst, shapeSize(v.shape))
	}
	return nil
}

// setAttributes sets the node's attributes from those onnx-go decoded,
// with ONNX's defaults for the absent ones, and checks its number of inputs
// against the operator table.
func (n *node) setAttributes(attrs map[string]any) error {
	n.alpha, n.beta, n.keepDims = 1, 1, true
	for k, v := range attrs {
		if err := n.setAttribute(k, v); err != nil {
			return err
		}
	}
	op := operators[n.op]
	if len(n.inputs) < op.minInputs || len(n.inputs) > op.maxInputs {
		return fmt.Errorf("%d inputs, want %d to %d", len(n.inputs), op.minInputs, op.maxInputs)
	}
	return nil
}

// setAttribute sets attribute k to v; k must be an attribute the evaluator
// reads for the node's operator.
func (n *node) setAttribute(k string, v any) error {
	switch {
	case n.op == "Gemm" && k == "alpha":
		return readFloatAttr(k, v, &n.alpha)
	case n.op == "Gemm" && k == "beta":
		return readFloatAttr(k, v, &n.beta)
	case n.op == "Gemm" && k == "transA":
		return readFlagAttr(k, v, &n.transA)
	case n.op == "Gemm" && k == "transB":
		return readFlagAttr(k, v, &n.transB)
	case n.op == "ReduceMean" && k == "axes":
		a, ok := v.([]int64)
		if !ok {
			return fmt.Errorf("attribute axes: %T, want ints", v)
		}
		n.axes = append([]int64(nil), a...)
		return nil
	case (n.op == "ReduceMean" || n.op == "ReduceSum") && k == "keepdims":
		return readFlagAttr(k, v, &n.keepDims)
	case n.op == "Cast" && k == "to":
		return readIntAttr(k, v, &n.to)
	case (n.op == "Gather" || n.op == "Concat") && k == "axis":
		return readIntAttr(k, v, &n.axis)
	}
	return fmt.Errorf("unsupported attribute %q", k)
}

// readFloatAttr sets *dst to the float attribute k of value v.
func readFloatAttr(k string, v any, dst *float32) error {
	f, ok := v.(float32)
	if !ok {
		return fmt.Errorf("attribute %s: %T, want float", k, v)
	}
	*dst = f
	return nil
}

// readIntAttr sets *dst to the int attribute k of value v.
func readIntAttr(k string, v any, dst *int64) error {
	i, ok := v.(int64)
	if !ok {
		return fmt.Errorf("attribute %s: %T, want int", k, v)
	}
	*dst = i
	return nil
}

// readFlagAttr sets *dst to whether the int attribute k of value v is
// non-zero.
func readFlagAttr(k string, v any, dst *bool) error {
	var i int64
	if err := readIntAttr(k, v, &i); err != nil {
		return err
	}
	*dst = i != 0
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
