package onnx

import (
	"fmt"
	"math"
)

// Run evaluates the graph on n rows of raw features x (row-major, n×d
// values) and returns the "score" and "is_anomaly" outputs. A node that would
// produce more than n × max(d, largest initializer) elements, or a Gemm that
// would do more multiply-adds, is refused with an error before it allocates
// (see budget): vaejob's graphs never need more.
func (g *Graph) Run(x []float32, n int) (score []float32, isAnomaly []bool, err error) {
	if n < 0 {
		return nil, nil, fmt.Errorf("run graph: %d rows", n)
	}
	d := g.inputDim
	if d == 0 {
		if n == 0 {
			return nil, nil, fmt.Errorf("run graph: input width unknown and no rows")
		}
		d = len(x) / n
	}
	if len(x) != n*d {
		return nil, nil, fmt.Errorf("run graph: %d values for %d rows of %d features", len(x), n, d)
	}
	out, err := g.evaluate(&value{shape: []int{n, d}, f: x})
	if err != nil {
		return nil, nil, fmt.Errorf("run graph: %w", err)
	}
	s, a := out[ScoreName], out[IsAnomalyName]
	switch {
	case s == nil || a == nil:
		return nil, nil, fmt.Errorf("run graph: outputs %q and %q are required, the graph has %q", ScoreName, IsAnomalyName, g.outputs)
	case !s.isFloat() || len(s.shape) != 1 || s.shape[0] != n:
		return nil, nil, fmt.Errorf("run graph: %s is %s%v, want float32[%d]", ScoreName, s.dtype(), s.shape, n)
	case !a.isBool || len(a.shape) != 1 || a.shape[0] != n:
		return nil, nil, fmt.Errorf("run graph: %s is %s%v, want bool[%d]", IsAnomalyName, a.dtype(), a.shape, n)
	}
	// Copies, so that no caller can reach a value the graph holds.
	return append([]float32(nil), s.f...), append([]bool(nil), a.b...), nil
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
	switch n.op {
	case "Sub":
		return floatBinary(b, args[0], args[1], func(a, b float32) float32 { return a - b })
	case "Mul":
		return floatBinary(b, args[0], args[1], func(a, b float32) float32 { return a * b })
	case "Add":
		return floatBinary(b, args[0], args[1], func(a, b float32) float32 { return a + b })
	case "Tanh":
		return floatUnary(args[0], func(x float32) float32 { return float32(math.Tanh(float64(x))) })
	case "Abs":
		return floatUnary(args[0], func(x float32) float32 { return float32(math.Abs(float64(x))) })
	case "Exp":
		return floatUnary(args[0], func(x float32) float32 { return float32(math.Exp(float64(x))) })
	case "Greater":
		return compare(b, args[0], args[1], func(a, b float32) bool { return a > b })
	case "Or":
		return boolBinary(b, args[0], args[1], func(a, b bool) bool { return a || b })
	case "Relu":
		return floatUnary(args[0], func(x float32) float32 {
			if x < 0 {
				return 0
			}
			return x
		})
	case "Sigmoid":
		return floatUnary(args[0], func(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) })
	case "Identity":
		return args[0], nil
	case "IsInf":
		x := args[0]
		if !x.isFloat() {
			return nil, fmt.Errorf("input is %s, want float32", x.dtype())
		}
		out := &value{shape: x.shape, isBool: true, b: make([]bool, len(x.f))}
		for i, v := range x.f {
			out.b[i] = math.IsInf(float64(v), 0)
		}
		return out, nil
	case "Where":
		return where(b, args[0], args[1], args[2])
	case "IsNaN":
		x := args[0]
		if !x.isFloat() {
			return nil, fmt.Errorf("input is %s, want float32", x.dtype())
		}
		out := &value{shape: x.shape, isBool: true, b: make([]bool, len(x.f))}
		for i, v := range x.f {
			out.b[i] = v != v
		}
		return out, nil
	case "Gemm":
		return n.gemm(b, args)
	case "Gather":
		return n.gather(b, args[0], args[1])
	case "Concat":
		return n.concat(b, args)
	case "ReduceMean":
		return n.reduceMean(args[0])
	}
	return nil, fmt.Errorf("operator not supported")
}

func floatUnary(x *value, f func(float32) float32) (*value, error) {
	if !x.isFloat() {
		return nil, fmt.Errorf("input is %s, want float32", x.dtype())
	}
	out := &value{shape: x.shape, f: make([]float32, len(x.f))}
	for i, v := range x.f {
		out.f[i] = f(v)
	}
	return out, nil
}

func floatBinary(bud *budget, a, b *value, f func(a, b float32) float32) (*value, error) {
	if !a.isFloat() || !b.isFloat() {
		return nil, fmt.Errorf("inputs are %s and %s, want float32", a.dtype(), b.dtype())
	}
	shape, err := broadcastShape(a.shape, b.shape)
	if err != nil {
		return nil, err
	}
	size, err := bud.alloc(shape)
	if err != nil {
		return nil, err
	}
	out := &value{shape: shape, f: make([]float32, size)}
	broadcast(shape, a.shape, b.shape, func(o, i, j int) { out.f[o] = f(a.f[i], b.f[j]) })
	return out, nil
}

func compare(bud *budget, a, b *value, f func(a, b float32) bool) (*value, error) {
	if !a.isFloat() || !b.isFloat() {
		return nil, fmt.Errorf("inputs are %s and %s, want float32", a.dtype(), b.dtype())
	}
	shape, err := broadcastShape(a.shape, b.shape)
	if err != nil {
		return nil, err
	}
	size, err := bud.alloc(shape)
	if err != nil {
		return nil, err
	}
	out := &value{shape: shape, isBool: true, b: make([]bool, size)}
	broadcast(shape, a.shape, b.shape, func(o, i, j int) { out.b[o] = f(a.f[i], b.f[j]) })
	return out, nil
}

func boolBinary(bud *budget, a, b *value, f func(a, b bool) bool) (*value, error) {
	if !a.isBool || !b.isBool {
		return nil, fmt.Errorf("inputs are %s and %s, want bool", a.dtype(), b.dtype())
	}
	shape, err := broadcastShape(a.shape, b.shape)
	if err != nil {
		return nil, err
	}
	size, err := bud.alloc(shape)
	if err != nil {
		return nil, err
	}
	out := &value{shape: shape, isBool: true, b: make([]bool, size)}
	broadcast(shape, a.shape, b.shape, func(o, i, j int) { out.b[o] = f(a.b[i], b.b[j]) })
	return out, nil
}

// broadcastShape returns the shape of a multidirectional (numpy) broadcast
// of shapes a and b.
func broadcastShape(a, b []int) ([]int, error) {
	r := max(len(a), len(b))
	out := make([]int, r)
	for k := 0; k < r; k++ {
		da, db := 1, 1
		if i := k - (r - len(a)); i >= 0 {
			da = a[i]
		}
		if i := k - (r - len(b)); i >= 0 {
			db = b[i]
		}
		switch {
		case da == db, db == 1:
			out[k] = da
		case da == 1:
			out[k] = db
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

// broadcast calls f for each element of the output shape with the flat
// indices of the output and of the elements of a and b it combines. a and b
// must broadcast to shape.
func broadcast(shape, a, b []int, f func(o, i, j int)) {
	r := len(shape)
	strides := func(s []int) []int {
		st := make([]int, r)
		acc := 1
		for k := len(s) - 1; k >= 0; k-- {
			if s[k] != 1 {
				st[k+r-len(s)] = acc
			}
			acc *= s[k]
		}
		return st
	}
	sa, sb := strides(a), strides(b)
	total := shapeSize(shape)
	if total == 0 {
		return
	}
	idx := make([]int, r)
	i, j := 0, 0
	for o := 0; o < total; o++ {
		f(o, i, j)
		for k := r - 1; k >= 0; k-- {
			idx[k]++
			i += sa[k]
			j += sb[k]
			if idx[k] < shape[k] {
				break
			}
			i -= sa[k] * idx[k]
			j -= sb[k] * idx[k]
			idx[k] = 0
		}
	}
}

// gemm computes Y = alpha·A'·B' + beta·C with A' and B' optionally
// transposed and C broadcast to [M, N] (unidirectionally).
func (n *node) gemm(bud *budget, args []*value) (*value, error) {
	a, b := args[0], args[1]
	if !a.isFloat() || !b.isFloat() || len(a.shape) != 2 || len(b.shape) != 2 {
		return nil, fmt.Errorf("gemm inputs: A is %s%v and B is %s%v, want 2-D float32", a.dtype(), a.shape, b.dtype(), b.shape)
	}
	m, k := a.shape[0], a.shape[1]
	if n.transA {
		m, k = k, m
	}
	kb, nn := b.shape[0], b.shape[1]
	if n.transB {
		kb, nn = nn, kb
	}
	if k != kb {
		return nil, fmt.Errorf("gemm inputs A%v and B%v do not multiply (transA=%v, transB=%v)", a.shape, b.shape, n.transA, n.transB)
	}
	at := func(r, c int) float32 {
		if n.transA {
			return a.f[c*m+r]
		}
		return a.f[r*k+c]
	}
	bt := func(r, c int) float32 {
		if n.transB {
			return b.f[c*k+r]
		}
		return b.f[r*nn+c]
	}
	size, err := bud.alloc([]int{m, nn})
	if err != nil {
		return nil, err
	}
	if err := bud.take(fmt.Sprintf("gemm of %dx%d by %dx%d", m, k, k, nn), satMul(size, k)); err != nil {
		return nil, err
	}
	out := &value{shape: []int{m, nn}, f: make([]float32, size)}
	for r := 0; r < m; r++ {
		for c := 0; c < nn; c++ {
			var s float32
			for i := 0; i < k; i++ {
				s += at(r, i) * bt(i, c)
			}
			out.f[r*nn+c] = n.alpha * s
		}
	}
	if len(args) > 2 && args[2] != nil {
		c := args[2]
		if !c.isFloat() {
			return nil, fmt.Errorf("gemm input C is bool, want float32")
		}
		shape, err := broadcastShape(c.shape, out.shape)
		if err != nil || len(shape) != 2 || shape[0] != m || shape[1] != nn {
			return nil, fmt.Errorf("gemm input C%v does not broadcast to [%d %d]", c.shape, m, nn)
		}
		broadcast(out.shape, out.shape, c.shape, func(o, _, j int) { out.f[o] += n.beta * c.f[j] })
	}
	return out, nil
}

// reduceMean averages over n.axes (all axes when none are given).
func (n *node) reduceMean(x *value) (*value, error) {
	if !x.isFloat() {
		return nil, fmt.Errorf("input is %s, want float32", x.dtype())
	}
	r := len(x.shape)
	reduce := make([]bool, r)
	if len(n.axes) == 0 {
		for k := range reduce {
			reduce[k] = true
		}
	}
	for _, ax := range n.axes {
		a := int(ax)
		if a < 0 {
			a += r
		}
		if a < 0 || a >= r || ax < int64(-r) || ax >= int64(r) {
			return nil, fmt.Errorf("axis %d out of range for rank %d", ax, r)
		}
		reduce[a] = true
	}
	var outShape, keptShape []int
	count := 1
	for k, d := range x.shape {
		if reduce[k] {
			count *= d
			keptShape = append(keptShape, 1)
			if n.keepDims {
				outShape = append(outShape, 1)
			}
			continue
		}
		keptShape = append(keptShape, d)
		outShape = append(outShape, d)
	}
	size := shapeSize(keptShape)
	sums := make([]float64, size)
	// Map each input element to its output element by broadcasting the
	// kept shape against the input shape.
	broadcast(x.shape, x.shape, keptShape, func(o, _, j int) { sums[j] += float64(x.f[o]) })
	out := &value{shape: outShape, f: make([]float32, size)}
	for i, s := range sums {
		out.f[i] = float32(s / float64(count))
	}
	if outShape == nil {
		out.shape = []int{}
	}
	return out, nil
}

// where is ONNX Where: cond ? x : y, elementwise with multidirectional
// broadcasting of all three inputs.
func where(bud *budget, cond, x, y *value) (*value, error) {
	if !cond.isBool || !x.isFloat() || !y.isFloat() {
		return nil, fmt.Errorf("inputs are %s, %s and %s, want bool, float32, float32", cond.dtype(), x.dtype(), y.dtype())
	}
	cx, err := broadcastShape(cond.shape, x.shape)
	if err != nil {
		return nil, err
	}
	shape, err := broadcastShape(cx, y.shape)
	if err != nil {
		return nil, err
	}
	size, err := bud.alloc(shape)
	if err != nil {
		return nil, err
	}
	out := &value{shape: shape, f: make([]float32, size)}
	ic, ix, iy := broadcastIndex(shape, cond.shape), broadcastIndex(shape, x.shape), broadcastIndex(shape, y.shape)
	for o := range out.f {
		if cond.b[ic(o)] {
			out.f[o] = x.f[ix(o)]
		} else {
			out.f[o] = y.f[iy(o)]
		}
	}
	return out, nil
}

// broadcastIndex maps a flat index into shape to the flat index of the
// element of an operand of shape sub that broadcasts to it.
func broadcastIndex(shape, sub []int) func(int) int {
	r := len(shape)
	strides := make([]int, r) // strides of sub, 0 along broadcast axes
	stride := 1
	for k := r - 1; k >= 0; k-- {
		i := k - (r - len(sub))
		if i >= 0 && sub[i] != 1 {
			strides[k] = stride
			stride *= sub[i]
		}
	}
	return func(o int) int {
		idx := 0
		for k := r - 1; k >= 0; k-- {
			idx += (o % shape[k]) * strides[k]
			o /= shape[k]
		}
		return idx
	}
}

// normAxis resolves the node's axis attribute (negative counts from the
// end) for a tensor of rank r.
func (n *node) normAxis(r int) (int, error) {
	a := n.axis
	if a < 0 {
		a += int64(r)
	}
	if a < 0 || a >= int64(r) {
		return 0, fmt.Errorf("axis %d out of range for rank %d", n.axis, r)
	}
	return int(a), nil
}

// gather is ONNX Gather: the slices of data at the int64 indices along
// n.axis; the output shape is data's with that axis replaced by the
// indices' shape. A negative index counts from the end of the axis.
func (n *node) gather(bud *budget, data, indices *value) (*value, error) {
	if !data.isFloat() || !indices.isInt {
		return nil, fmt.Errorf("inputs are %s and %s, want float32 and int64", data.dtype(), indices.dtype())
	}
	axis, err := n.normAxis(len(data.shape))
	if err != nil {
		return nil, err
	}
	outer, size, inner := shapeSize(data.shape[:axis]), data.shape[axis], shapeSize(data.shape[axis+1:])
	shape := append(append(append([]int{}, data.shape[:axis]...), indices.shape...), data.shape[axis+1:]...)
	outSize, err := bud.alloc(shape)
	if err != nil {
		return nil, err
	}
	out := &value{shape: shape, f: make([]float32, 0, outSize)}
	for o := 0; o < outer; o++ {
		for _, i := range indices.i {
			if i < 0 {
				i += int64(size)
			}
			if i < 0 || i >= int64(size) {
				return nil, fmt.Errorf("index %d out of range for axis %d of size %d", i, axis, size)
			}
			start := (o*size + int(i)) * inner
			out.f = append(out.f, data.f[start:start+inner]...)
		}
	}
	return out, nil
}

// concat is ONNX Concat: float32 inputs of one rank, equal but along
// n.axis, joined along it.
func (n *node) concat(bud *budget, args []*value) (*value, error) {
	first := args[0]
	for _, a := range args {
		if !a.isFloat() {
			return nil, fmt.Errorf("input is %s, want float32", a.dtype())
		}
	}
	axis, err := n.normAxis(len(first.shape))
	if err != nil {
		return nil, err
	}
	shape := append([]int(nil), first.shape...)
	shape[axis] = 0
	for _, a := range args {
		if len(a.shape) != len(shape) {
			return nil, fmt.Errorf("inputs of rank %d and %d", len(first.shape), len(a.shape))
		}
		for k, d := range a.shape {
			if k != axis && d != first.shape[k] {
				return nil, fmt.Errorf("shapes %v and %v differ off axis %d", first.shape, a.shape, axis)
			}
		}
		shape[axis] += a.shape[axis]
	}
	size, err := bud.alloc(shape)
	if err != nil {
		return nil, err
	}
	outer := shapeSize(shape[:axis])
	out := &value{shape: shape, f: make([]float32, 0, size)}
	for o := 0; o < outer; o++ {
		for _, a := range args {
			block := a.shape[axis] * shapeSize(a.shape[axis+1:])
			out.f = append(out.f, a.f[o*block:(o+1)*block]...)
		}
	}
	return out, nil
}
