package onnx

import (
	"fmt"
	"math"
	"slices"
)

// Run evaluates the graph on n rows of raw features x (row-major, n×d
// values) and returns the "score" and "is_anomaly" outputs. A node that would
// produce more than n × max(d, largest initializer) elements, or a Gemm that
// would do more multiply-adds, is refused with an error before it allocates
// (see budget): vaejob's graphs never need more.
func (g *Graph) Run(x []float32, n int) (score []float32, isAnomaly []bool, err error) {
	out, err := g.RunAll(x, n)
	return out.Score, out.IsAnomaly, err
}

// Outputs are the values of a graph's outputs for n rows.
type Outputs struct {
	Score     []float32
	IsAnomaly []bool
	// FeatureScores (n×d, row-major), LatentScore and TailProbability are
	// nil for a graph without them (format version 3 and earlier).
	FeatureScores, LatentScore, TailProbability []float32
}

// RunAll evaluates the graph as Run does and returns all its outputs:
// score and is_anomaly, and feature_scores, latent_score and
// tail_probability when the graph has them.
func (g *Graph) RunAll(x []float32, n int) (Outputs, error) {
	if n < 0 {
		return Outputs{}, fmt.Errorf("run graph: %d rows", n)
	}
	d := g.inputDim
	if d == 0 {
		if n == 0 {
			return Outputs{}, fmt.Errorf("run graph: input width unknown and no rows")
		}
		d = len(x) / n
	}
	if len(x) != n*d {
		return Outputs{}, fmt.Errorf("run graph: %d values for %d rows of %d features", len(x), n, d)
	}
	out, err := g.evaluate(&value{shape: []int{n, d}, f: x})
	if err != nil {
		return Outputs{}, fmt.Errorf("run graph: %w", err)
	}
	s, a := out[ScoreName], out[IsAnomalyName]
	switch {
	case s == nil || a == nil:
		return Outputs{}, fmt.Errorf("run graph: outputs %q and %q are required, the graph has %q", ScoreName, IsAnomalyName, g.outputs)
	case !s.isFloat() || len(s.shape) != 1 || s.shape[0] != n:
		return Outputs{}, fmt.Errorf("run graph: %s is %s%v, want float32[%d]", ScoreName, s.dtype(), s.shape, n)
	case !a.isBool || len(a.shape) != 1 || a.shape[0] != n:
		return Outputs{}, fmt.Errorf("run graph: %s is %s%v, want bool[%d]", IsAnomalyName, a.dtype(), a.shape, n)
	}
	// Copies, so that no caller can reach a value the graph holds.
	res := Outputs{Score: slices.Clone(s.f), IsAnomaly: slices.Clone(a.b)}
	for _, o := range []struct {
		name  string
		shape []int
		dst   *[]float32
	}{
		{FeatureScoresName, []int{n, d}, &res.FeatureScores},
		{LatentScoreName, []int{n}, &res.LatentScore},
		{TailProbabilityName, []int{n}, &res.TailProbability},
	} {
		v := out[o.name]
		if v == nil {
			continue
		}
		if !v.isFloat() || !slices.Equal(v.shape, o.shape) {
			return Outputs{}, fmt.Errorf("run graph: %s is %s%v, want float32%v", o.name, v.dtype(), v.shape, o.shape)
		}
		*o.dst = slices.Clone(v.f)
	}
	return res, nil
}

// budget bounds the work of one evaluation relative to its size: one node
// may produce at most rows × max(input width, largest initializer) elements,
// and a Gemm may do at most as many multiply-adds. vaejob's graphs stay within
// it: each value is [rows, features], [rows, layer width] or smaller, and each
// Gemm does rows × (its weight count) multiply-adds. With at most maxNodes
// nodes, the work and memory of a Run are then linear in the rows and the
// model's size. A graph that needs more (fan-out by Concat or Gather,
// broadcasting to ever more dimensions, Gemm of products) is refused before it
// allocates.
type budget struct {
	perOp int // most elements one node may produce (or multiply-adds)
}

func newBudget(rows, width, largestConst int) *budget {
	return &budget{perOp: satMul(max(rows, 1), max(width, largestConst, 1))}
}

// take checks that one node may spend n elements or multiply-adds.
func (b *budget) take(what string, n int) error {
	if n > b.perOp {
		return fmt.Errorf("%s is too large for this graph and input (limit %d for the rows and the largest initializer): not a graph vaejob writes", what, b.perOp)
	}
	return nil
}

// alloc spends the elements of a value of the given shape and returns their
// number.
func (b *budget) alloc(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		n = satMul(n, d)
	}
	if err := b.take(fmt.Sprintf("output of shape %v", shape), n); err != nil {
		return 0, err
	}
	return n, nil
}

// satMul returns a·b for non-negative a and b, or math.MaxInt when that
// overflows.
func satMul(a, b int) int {
	if a != 0 && b > math.MaxInt/a {
		return math.MaxInt
	}
	return a * b
}

// evaluate evaluates the graph with in as its input and returns its outputs by
// name.
func (g *Graph) evaluate(in *value) (map[string]*value, error) {
	b := newBudget(in.shape[0], in.shape[1], g.largestConst)
	env := make(map[string]*value, len(g.consts)+len(g.ops)+1)
	for k, v := range g.consts {
		env[k] = v
	}
	env[g.input] = in
	for _, n := range g.ops {
		args := make([]*value, len(n.inputs))
		for i, name := range n.inputs {
			args[i] = env[name] // nil for an omitted optional input
		}
		out, err := n.eval(args, b)
		if err != nil {
			return nil, fmt.Errorf("%s node %q: %w", n.op, n.outputs[0], err)
		}
		env[n.outputs[0]] = out
	}
	outs := make(map[string]*value, len(g.outputs))
	for _, o := range g.outputs {
		outs[o] = env[o]
	}
	return outs, nil
}

// eval computes the node's output from its inputs (args, in input order;
// nil for an omitted optional input) with the operator's evaluator, after
// checking that the inputs are present and that the output may be as large
// as the first input.
func (n *node) eval(args []*value, b *budget) (*value, error) {
	for i, a := range args {
		if a == nil && !(n.op == "Gemm" && i == 2) {
			return nil, fmt.Errorf("input %d (%q) is missing", i, n.inputs[i])
		}
	}
	if n.op != "Identity" {
		// Unary operators and ReduceMean produce at most their input.
		if err := b.take("output", len(args[0].f)+len(args[0].b)+len(args[0].i)); err != nil {
			return nil, err
		}
	}
	op, ok := operators[n.op]
	if !ok {
		return nil, fmt.Errorf("operator not supported")
	}
	return op.eval(n, b, args)
}
