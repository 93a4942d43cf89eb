package onnx

import (
	"math"
	"reflect"
	"testing"

	onnxgo "github.com/owulveryck/onnx-go"
)

func fv(shape []int, f ...float32) *value { return &value{shape: shape, f: f} }
func bv(shape []int, b ...bool) *value    { return &value{shape: shape, isBool: true, b: b} }

func TestNodeEval(t *testing.T) {
	nan := float32(math.NaN())
	negZero := float32(math.Copysign(0, -1))
	gemm := func(alpha, beta float32, ta, tb bool) *node {
		return &node{op: "Gemm", inputs: []string{"a", "b", "c"}, alpha: alpha, beta: beta, transA: ta, transB: tb}
	}
	tests := []struct {
		name    string
		n       *node
		args    []*value
		want    *value
		wantErr bool
	}{
		{"sub row broadcast", &node{op: "Sub"}, []*value{fv([]int{2, 3}, 1, 2, 3, 4, 5, 6), fv([]int{3}, 1, 1, 1)}, fv([]int{2, 3}, 0, 1, 2, 3, 4, 5), false},
		{"mul outer broadcast", &node{op: "Mul"}, []*value{fv([]int{2, 1}, 1, 2), fv([]int{1, 3}, 1, 2, 3)}, fv([]int{2, 3}, 1, 2, 3, 2, 4, 6), false},
		{"mul scalar", &node{op: "Mul"}, []*value{fv([]int{2}, 1, 2), fv(nil, 3)}, fv([]int{2}, 3, 6), false},
		{"sub shapes clash", &node{op: "Sub"}, []*value{fv([]int{2}, 1, 2), fv([]int{3}, 1, 2, 3)}, nil, true},
		{"sub bool", &node{op: "Sub"}, []*value{bv([]int{1}, true), fv([]int{1}, 1)}, nil, true},
		{"greater", &node{op: "Greater"}, []*value{fv([]int{3}, 1, 2, nan), fv(nil, 1.5)}, bv([]int{3}, false, true, false), false},
		{"equal row broadcast", &node{op: "Equal"}, []*value{fv([]int{2, 2}, 1, 2, 3, 2), fv([]int{2}, 3, 2)}, bv([]int{2, 2}, false, true, true, true), false},
		{"equal scalar, nan and signed zero", &node{op: "Equal"}, []*value{fv([]int{4}, 0, negZero, nan, float32(math.SmallestNonzeroFloat32)), fv(nil, 0)}, bv([]int{4}, true, true, false, false), false},
		{"equal nan with itself", &node{op: "Equal"}, []*value{fv([]int{1}, nan), fv([]int{1}, nan)}, bv([]int{1}, false), false},
		{"equal shapes clash", &node{op: "Equal"}, []*value{fv([]int{2}, 1, 2), fv([]int{3}, 1, 2, 3)}, nil, true},
		{"equal bool", &node{op: "Equal"}, []*value{bv([]int{1}, true), bv([]int{1}, true)}, nil, true},
		{"equal int64", &node{op: "Equal"}, []*value{{shape: []int{1}, isInt: true, i: []int64{0}}, fv([]int{1}, 0)}, nil, true},
		{"or", &node{op: "Or"}, []*value{bv([]int{2}, true, false), bv([]int{2}, false, false)}, bv([]int{2}, true, false), false},
		{"or float", &node{op: "Or"}, []*value{fv([]int{1}, 1), bv([]int{1}, false)}, nil, true},
		{"isnan", &node{op: "IsNaN"}, []*value{fv([]int{2}, nan, 1)}, bv([]int{2}, true, false), false},
		{"relu", &node{op: "Relu"}, []*value{fv([]int{3}, -1, 0, 2)}, fv([]int{3}, 0, 0, 2), false},
		{"sigmoid", &node{op: "Sigmoid"}, []*value{fv([]int{1}, 0)}, fv([]int{1}, 0.5), false},
		{"identity", &node{op: "Identity"}, []*value{fv([]int{1}, 7)}, fv([]int{1}, 7), false},
		{"gemm bias vector", gemm(1, 1, false, false),
			[]*value{fv([]int{1, 2}, 1, 2), fv([]int{2, 2}, 1, 2, 3, 4), fv([]int{2}, 10, 20)}, fv([]int{1, 2}, 17, 30), false},
		{"gemm transposes alpha beta column bias", gemm(2, 0.5, true, true),
			[]*value{fv([]int{2, 1}, 1, 2), fv([]int{2, 2}, 1, 3, 2, 4), fv([]int{1, 1}, 4)}, fv([]int{1, 2}, 16, 22), false},
		{"gemm no bias", &node{op: "Gemm", alpha: 1, beta: 1}, []*value{fv([]int{1, 1}, 2), fv([]int{1, 1}, 3), nil}, fv([]int{1, 1}, 6), false},
		{"gemm inner mismatch", gemm(1, 1, false, false), []*value{fv([]int{1, 2}, 1, 2), fv([]int{3, 1}, 1, 2, 3), nil}, nil, true},
		{"gemm bad bias", gemm(1, 1, false, false), []*value{fv([]int{1, 1}, 1), fv([]int{1, 2}, 1, 2), fv([]int{3}, 1, 2, 3)}, nil, true},
		{"reduce axis 1", &node{op: "ReduceMean", axes: []int64{1}}, []*value{fv([]int{2, 2}, 1, 3, 5, 7)}, fv([]int{2}, 2, 6), false},
		{"reduce axis -2 keepdims", &node{op: "ReduceMean", axes: []int64{-2}, keepDims: true}, []*value{fv([]int{2, 2}, 1, 3, 5, 7)}, fv([]int{1, 2}, 3, 5), false},
		{"reduce all", &node{op: "ReduceMean"}, []*value{fv([]int{2, 2}, 1, 3, 5, 7)}, fv([]int{}, 4), false},
		{"reduce bad axis", &node{op: "ReduceMean", axes: []int64{2}}, []*value{fv([]int{2, 2}, 1, 3, 5, 7)}, nil, true},
		{"missing input", &node{op: "Relu", inputs: []string{"x"}}, []*value{nil}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.n.op == "Gemm" && len(tt.n.inputs) == 0 {
				tt.n.inputs = []string{"a", "b", "c"}
			}
			got, err := tt.n.eval(tt.args, &budget{perOp: 1 << 20})
			if tt.wantErr {
				if err == nil {
					t.Fatalf("no error; got %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.shape, tt.want.shape) && !(len(got.shape) == 0 && len(tt.want.shape) == 0) {
				t.Errorf("shape %v, want %v", got.shape, tt.want.shape)
			}
			if got.isBool != tt.want.isBool || !reflect.DeepEqual(got.b, tt.want.b) {
				t.Errorf("bools %v, want %v", got.b, tt.want.b)
			}
			if len(got.f) != len(tt.want.f) {
				t.Fatalf("values %v, want %v", got.f, tt.want.f)
			}
			for i := range got.f {
				if math.Abs(float64(got.f[i]-tt.want.f[i])) > 1e-6 {
					t.Errorf("values %v, want %v", got.f, tt.want.f)
					break
				}
			}
		})
	}
}

// TestRecorderIsAGraph checks the gonum graph view of what onnx-go decoded:
// every operation output has edges to its inputs, kept twice for a repeated
// input.
func TestRecorderIsAGraph(t *testing.T) {
	data := handModel([][]byte{
		nodeProto("sq", "Mul", []string{InputName, InputName}, []string{"sq"}),
		nodeProto("s", "ReduceMean", []string{"sq"}, []string{ScoreName}, intsAttr("axes", 1), intAttr("keepdims", 0)),
		nodeProto("n", "IsNaN", []string{ScoreName}, []string{IsAnomalyName}),
	}, nil, []string{ScoreName, IsAnomalyName}, nil)
	r := newRecorder()
	m := onnxgo.NewModel(r)
	if err := unmarshal(m, data); err != nil {
		t.Fatal(err)
	}
	byName := map[string]*recNode{}
	nodes := r.Nodes()
	for nodes.Next() {
		n := nodes.Node().(*recNode)
		byName[n.GetName()] = n
	}
	sq, in := byName["sq"], byName[InputName]
	if sq == nil || in == nil {
		t.Fatalf("nodes %v", byName)
	}
	if !r.HasEdgeFromTo(sq.ID(), in.ID()) || r.HasEdgeFromTo(in.ID(), sq.ID()) || !r.HasEdgeBetween(in.ID(), sq.ID()) {
		t.Error("edge sq → features missing or reversed")
	}
	if r.From(sq.ID()).Len() != 1 || r.To(in.ID()).Len() != 1 || r.Node(sq.ID()) != sq || r.Node(-1) != nil {
		t.Error("From/To/Node disagree with the edges")
	}
	if e := r.Edge(sq.ID(), in.ID()); e == nil || e.ReversedEdge().From().ID() != in.ID() {
		t.Errorf("Edge = %v", e)
	}
	ins, err := r.inputs(sq)
	if err != nil || len(ins) != 2 || ins[0] != in || ins[1] != in {
		t.Errorf("inputs of sq: %v, %v; want features twice", ins, err)
	}
	g, err := newGraph(r, m, map[string]bool{})
	if err != nil {
		t.Fatal(err)
	}
	score, _, err := g.Run([]float32{1, 2, 3}, 1)
	if err != nil || score[0] != 14.0/3 {
		t.Errorf("Run = %v, %v; want 14/3", score, err)
	}
	if g.Input() != InputName || !reflect.DeepEqual(g.Outputs(), []string{ScoreName, IsAnomalyName}) {
		t.Errorf("input %q outputs %q", g.Input(), g.Outputs())
	}
}
