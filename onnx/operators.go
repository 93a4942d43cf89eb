package onnx

import (
	"fmt"
	"math"
)

// operator is what the evaluator knows of one ONNX operator: how many inputs
// a node of it takes, and how it computes the node's output.
type operator struct {
	minInputs, maxInputs int
	eval                 evaluator
}

// evaluator computes the output of node n from its inputs, spending from b
// before it allocates.
type evaluator func(n *node, b *budget, args []*value) (*value, error)

// operators are the operators the evaluator runs: those Encode emits. The
// recorder refuses a graph with any other, and setAttributes checks each
// node's number of inputs against its entry.
var operators = map[string]operator{
	"Sub":     {2, 2, floatBinary(func(a, b float32) float32 { return a - b })},
	"Mul":     {2, 2, floatBinary(func(a, b float32) float32 { return a * b })},
	"Add":     {2, 2, floatBinary(func(a, b float32) float32 { return a + b })},
	"Greater": {2, 2, compare(func(a, b float32) bool { return a > b })},
	"Equal":   {2, 2, compare(func(a, b float32) bool { return a == b })},
	"Or":      {2, 2, boolBinary(func(a, b bool) bool { return a || b })},
	"Tanh":    {1, 1, floatUnary(func(x float32) float32 { return float32(math.Tanh(float64(x))) })},
	"Abs":     {1, 1, floatUnary(func(x float32) float32 { return float32(math.Abs(float64(x))) })},
	"Exp":     {1, 1, floatUnary(func(x float32) float32 { return float32(math.Exp(float64(x))) })},
	"Relu":    {1, 1, floatUnary(relu)},
	"Sigmoid": {1, 1, floatUnary(func(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) })},
	"IsNaN":   {1, 1, floatTest(func(x float32) bool { return x != x })},
	"IsInf":   {1, 1, floatTest(func(x float32) bool { return math.IsInf(float64(x), 0) })},
	"Identity": {1, 1, func(_ *node, _ *budget, args []*value) (*value, error) {
		return args[0], nil
	}},
	"Where": {3, 3, func(_ *node, b *budget, args []*value) (*value, error) {
		return where(b, args[0], args[1], args[2])
	}},
	"Gemm": {2, 3, (*node).gemm},
	"Gather": {2, 2, func(n *node, b *budget, args []*value) (*value, error) {
		return n.gather(b, args[0], args[1])
	}},
	"Concat": {1, 1 << 16, (*node).concat},
	"ReduceMean": {1, 1, func(n *node, _ *budget, args []*value) (*value, error) {
		return n.reduceMean(args[0])
	}},
	"ReduceSum": {2, 2, func(n *node, _ *budget, args []*value) (*value, error) {
		return n.reduceSum(args[0], args[1])
	}},
	"Cast": {1, 1, func(n *node, _ *budget, args []*value) (*value, error) {
		return n.cast(args[0])
	}},
}

func relu(x float32) float32 {
	if x < 0 {
		return 0
	}
	return x
}

// floatUnary evaluates an elementwise operator of one float32 input.
func floatUnary(f func(float32) float32) evaluator {
	return func(_ *node, _ *budget, args []*value) (*value, error) {
		x := args[0]
		if !x.isFloat() {
			return nil, fmt.Errorf("input is %s, want float32", x.dtype())
		}
		out := &value{shape: x.shape, f: make([]float32, len(x.f))}
		for i, v := range x.f {
			out.f[i] = f(v)
		}
		return out, nil
	}
}

// floatTest evaluates an elementwise test of one float32 input (IsNaN,
// IsInf), with a bool output.
func floatTest(f func(float32) bool) evaluator {
	return func(_ *node, _ *budget, args []*value) (*value, error) {
		x := args[0]
		if !x.isFloat() {
			return nil, fmt.Errorf("input is %s, want float32", x.dtype())
		}
		out := &value{shape: x.shape, isBool: true, b: make([]bool, len(x.f))}
		for i, v := range x.f {
			out.b[i] = f(v)
		}
		return out, nil
	}
}

// floatBinary evaluates an elementwise arithmetic operator of two float32
// inputs.
func floatBinary(f func(a, b float32) float32) evaluator {
	return elementwise("float32", false, func(out, a, b *value, o, i, j int) { out.f[o] = f(a.f[i], b.f[j]) })
}

// compare evaluates an elementwise comparison of two float32 inputs, with a
// bool output.
func compare(f func(a, b float32) bool) evaluator {
	return elementwise("float32", true, func(out, a, b *value, o, i, j int) { out.b[o] = f(a.f[i], b.f[j]) })
}

// boolBinary evaluates an elementwise logical operator of two bool inputs.
func boolBinary(f func(a, b bool) bool) evaluator {
	return elementwise("bool", true, func(out, a, b *value, o, i, j int) { out.b[o] = f(a.b[i], b.b[j]) })
}

// elementwise evaluates an elementwise operator of two inputs of element type in
// with multidirectional (numpy) broadcasting; the output is bool when
// boolOut is set, float32 otherwise. set writes output element o from
// element i of a and element j of b.
func elementwise(in string, boolOut bool, set func(out, a, b *value, o, i, j int)) evaluator {
	return func(_ *node, bud *budget, args []*value) (*value, error) {
		a, b := args[0], args[1]
		if a.dtype() != in || b.dtype() != in {
			return nil, fmt.Errorf("inputs are %s and %s, want %s", a.dtype(), b.dtype(), in)
		}
		shape, err := broadcastShape(a.shape, b.shape)
		if err != nil {
			return nil, err
		}
		size, err := bud.alloc(shape)
		if err != nil {
			return nil, err
		}
		out := &value{shape: shape}
		if boolOut {
			out.isBool, out.b = true, make([]bool, size)
		} else {
			out.f = make([]float32, size)
		}
		broadcast(shape, a.shape, b.shape, func(o, i, j int) { set(out, a, b, o, i, j) })
		return out, nil
	}
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
	r, err := newReduction(x.shape, n.axes, n.keepDims)
	if err != nil {
		return nil, err
	}
	sums := make([]float64, r.size)
	r.each(x.shape, func(o, j int) { sums[j] += float64(x.f[o]) })
	out := &value{shape: r.outShape, f: make([]float32, r.size)}
	for i, s := range sums {
		out.f[i] = float32(s / float64(r.count))
	}
	return out, nil
}

// reduceSum is ReduceSum of operator set 13 on int64 data (what the tail
// lookup counts): the sum over the axes given by the int64 input axes.
func (n *node) reduceSum(x, axes *value) (*value, error) {
	if !x.isInt || !axes.isInt || len(axes.shape) != 1 || len(axes.i) == 0 {
		return nil, fmt.Errorf("inputs are %s%v and %s%v, want int64 data and int64[k] axes", x.dtype(), x.shape, axes.dtype(), axes.shape)
	}
	r, err := newReduction(x.shape, axes.i, n.keepDims)
	if err != nil {
		return nil, err
	}
	out := &value{shape: r.outShape, isInt: true, i: make([]int64, r.size)}
	r.each(x.shape, func(o, j int) { out.i[j] += x.i[o] })
	return out, nil
}

// reduction is where each element of a tensor goes when some of its axes
// are reduced.
type reduction struct {
	outShape  []int // the output's shape ([] for a scalar)
	keptShape []int // the input's shape with 1 on each reduced axis
	size      int   // elements of the output
	count     int   // input elements per output element
}

// newReduction resolves axes (all axes when none; negative ones count from
// the end) for a tensor of the given shape.
func newReduction(shape []int, axes []int64, keepDims bool) (reduction, error) {
	rank := len(shape)
	reduce := make([]bool, rank)
	if len(axes) == 0 {
		for k := range reduce {
			reduce[k] = true
		}
	}
	for _, ax := range axes {
		if ax < int64(-rank) || ax >= int64(rank) {
			return reduction{}, fmt.Errorf("axis %d out of range for rank %d", ax, rank)
		}
		a := int(ax)
		if a < 0 {
			a += rank
		}
		reduce[a] = true
	}
	r := reduction{outShape: []int{}, count: 1}
	for k, d := range shape {
		if reduce[k] {
			r.count *= d
			r.keptShape = append(r.keptShape, 1)
			if keepDims {
				r.outShape = append(r.outShape, 1)
			}
			continue
		}
		r.keptShape = append(r.keptShape, d)
		r.outShape = append(r.outShape, d)
	}
	r.size = shapeSize(r.keptShape)
	return r, nil
}

// each calls add(o, j) for each element o of a tensor of the given shape
// and the output element j it reduces onto, in order of o.
func (r reduction) each(shape []int, add func(o, j int)) {
	broadcast(shape, shape, r.keptShape, func(o, _, j int) { add(o, j) })
}

// cast is ONNX Cast from bool to int64 (false 0, true 1), the one cast
// vaejob's graphs make.
func (n *node) cast(x *value) (*value, error) {
	if !x.isBool || n.to != dataTypeInt64 {
		return nil, fmt.Errorf("cast from %s to data type %d, want bool to int64 (%d)", x.dtype(), n.to, dataTypeInt64)
	}
	out := &value{shape: x.shape, isInt: true, i: make([]int64, len(x.b))}
	for k, b := range x.b {
		if b {
			out.i[k] = 1
		}
	}
	return out, nil
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
