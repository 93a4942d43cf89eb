package onnx

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// hostileGraphs are small files whose graphs, evaluated naively, allocate
// or compute without bound: each would exhaust memory or run for hours.
func hostileGraphs() []struct {
	name string
	data []byte
	want string // substring of the error from DecodeGraph or Run
} {
	// score and is_anomaly from a value v, so that the graph is complete.
	tail := func(v string) [][]byte {
		return [][]byte{
			nodeProto("s", "ReduceMean", []string{v}, []string{ScoreName}, intAttr("keepdims", 0)),
			nodeProto("n", "IsNaN", []string{ScoreName}, []string{IsAnomalyName}),
		}
	}
	outputs := []string{ScoreName, IsAnomalyName}
	repeat := func(v string, k int) []string {
		s := make([]string, k)
		for i := range s {
			s[i] = v
		}
		return s
	}

	// Concat of 200 copies, four times over: 2×200⁴ rows.
	concat := []([]byte){
		nodeProto("c1", "Concat", repeat(InputName, 200), []string{"c1"}, intAttr("axis", 0)),
		nodeProto("c2", "Concat", repeat("c1", 200), []string{"c2"}, intAttr("axis", 0)),
		nodeProto("c3", "Concat", repeat("c2", 200), []string{"c3"}, intAttr("axis", 0)),
		nodeProto("c4", "Concat", repeat("c3", 200), []string{"c4"}, intAttr("axis", 0)),
	}

	// Broadcasting [K,1,1,1], [1,K,1,1], ... to [K,K,K,K].
	const k = 1000
	ones := make([]float32, k)
	bcast := [][]byte{
		nodeProto("b1", "Add", []string{"a", "b"}, []string{"b1"}),
		nodeProto("b2", "Add", []string{"b1", "c"}, []string{"b2"}),
		nodeProto("b3", "Add", []string{"b2", "d"}, []string{"b3"}),
	}
	bcastInits := [][]byte{
		floatTensor("a", []int64{k, 1, 1, 1}, ones),
		floatTensor("b", []int64{1, k, 1, 1}, ones),
		floatTensor("c", []int64{1, 1, k, 1}, ones),
		floatTensor("d", []int64{1, 1, 1, k}, ones),
	}

	// Gather with [K,1] zero indices along an axis of size 1, again and
	// again: each node multiplies the size by K.
	const kg = 300
	zeros := make([]int64, kg)
	gather := [][]byte{
		nodeProto("g1", "Gather", []string{InputName, "i"}, []string{"g1"}, intAttr("axis", 0)),
		nodeProto("g2", "Gather", []string{"g1", "i"}, []string{"g2"}, intAttr("axis", 1)),
		nodeProto("g3", "Gather", []string{"g2", "i"}, []string{"g3"}, intAttr("axis", 2)),
		nodeProto("g4", "Gather", []string{"g3", "i"}, []string{"g4"}, intAttr("axis", 3)),
	}
	gatherInits := [][]byte{int64Tensor("i", []int64{kg, 1}, zeros)}

	// Gemm of [K,1]·[1,K] then [K,K]·[K,K]: K³ multiply-adds from 2K
	// stored numbers.
	const km = 3000
	gemm := [][]byte{
		nodeProto("m1", "Gemm", []string{"col", "row"}, []string{"m1"}),
		nodeProto("m2", "Gemm", []string{"m1", "m1"}, []string{"m2"}),
	}
	gemmInits := [][]byte{
		floatTensor("col", []int64{km, 1}, make([]float32, km)),
		floatTensor("row", []int64{1, km}, make([]float32, km)),
	}

	// Many nodes: far more than vaejob ever writes.
	var many [][]byte
	prev := InputName
	for i := range maxNodes + 1 {
		name := "r" + strconv.Itoa(i)
		many = append(many, nodeProto(name, "Relu", []string{prev}, []string{name}))
		prev = name
	}

	// Value infos declaring 2^24 elements each, 64 times over: onnx-go
	// would allocate a tensor for each.
	var declared msg
	for _, n := range tail(InputName) {
		declared.bytes(fGraphNode, n)
	}
	declared.bytes(fGraphInput, valueInfo(InputName, dataTypeFloat, dim{param: "N"}, dim{value: 3}))
	for _, o := range outputs {
		declared.bytes(fGraphOutput, valueInfo(o, dataTypeFloat, dim{param: "N"}))
	}
	for i := range 64 {
		declared.bytes(fGraphValueInfo, valueInfo("v"+strconv.Itoa(i), dataTypeFloat, dim{value: 4096}, dim{value: 4096}))
	}

	return []struct {
		name string
		data []byte
		want string
	}{
		{"declared shapes", protowireBytes(fModelGraph, declared), "too large together"},
		{"concat fan-out", handModel(append(concat, tail("c4")...), nil, outputs, nil), "too large"},
		{"broadcast blow-up", handModel(append(bcast, tail("b3")...), bcastInits, outputs, nil), "too large"},
		{"gather blow-up", handModel(append(gather, tail("g4")...), gatherInits, outputs, nil), "too large"},
		{"gemm work", handModel(append(gemm, tail("m2")...), gemmInits, outputs, nil), "too large"},
		{"too many nodes", handModel(append(many, tail(prev)...), nil, outputs, nil), "nodes"},
		{"initializers declaring more elements than the file holds", handModel(
			[][]byte{nodeProto("r", "Relu", []string{InputName}, []string{"r"})},
			repeatInit(2000, 20000), outputs, nil), "exceed"},
		{"bool initializer declaring more elements than the file holds", handModel(
			[][]byte{nodeProto("r", "Relu", []string{InputName}, []string{"r"})},
			[][]byte{boolTensor("b", []int64{1 << 24}, nil)}, outputs, nil), "exceed"},
		{"bool initializer declaring more elements than it stores", handModel(
			[][]byte{nodeProto("r", "Relu", []string{InputName}, []string{"r"})},
			[][]byte{boolTensor("b", []int64{50}, make([]bool, 10))}, outputs, nil), "10 bool elements for dims [50]"},
	}
}

// repeatInit returns n float initializers that each declare k elements and
// store none.
func repeatInit(n, k int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = floatTensor("t"+strconv.Itoa(i), []int64{int64(k)}, nil)
	}
	return out
}

// TestHostileGraphsFailFast checks that graphs built to make the decoder or
// the evaluator work without bound are refused quickly with a clear error.
func TestHostileGraphsFailFast(t *testing.T) {
	for _, tt := range hostileGraphs() {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				g, err := DecodeGraph(tt.data)
				if err == nil {
					_, _, err = g.Run(make([]float32, 6), 2)
				}
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil {
					t.Fatal("no error")
				}
				t.Log(err)
				if !strings.Contains(err.Error(), tt.want) {
					t.Errorf("error %q does not mention %q", err, tt.want)
				}
				if strings.Contains(err.Error(), "decode onnx graph") && !errors.Is(err, ErrFormat) {
					t.Errorf("decode error does not wrap ErrFormat: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("still running after 5 s")
			}
			done2 := make(chan error, 1)
			go func() { _, _, err := Decode(tt.data); done2 <- err }()
			select {
			case err := <-done2:
				if err == nil {
					t.Fatal("Decode: no error")
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Decode still running after 5 s")
			}
		})
	}
}
