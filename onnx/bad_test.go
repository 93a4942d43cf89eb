package onnx

import (
	"bytes"
	"errors"
	"flag"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/vaejob/vaejob/pipeline"
)

func goldenBytes(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "tiny.onnx"))
	if err != nil {
		t.Fatalf("%v (run go test ./onnx -update to create it)", err)
	}
	return data
}

// handModel writes a ModelProto around the given nodes and initializers with
// input features[N,3], the given outputs (float32 [N]) and metadata.
func handModel(nodes, inits [][]byte, outputs []string, props []Prop) []byte {
	g := graphProto{
		name:   "hand",
		nodes:  nodes,
		inits:  inits,
		inputs: [][]byte{valueInfo(InputName, dataTypeFloat, dim{param: "N"}, dim{value: 3})},
	}
	for _, o := range outputs {
		g.outputs = append(g.outputs, valueInfo(o, dataTypeFloat, dim{param: "N"}))
	}
	return modelProto{graph: g.encode(), props: props}.encode()
}

// replaceOnce replaces the first old in data with new of the same length, so
// that protobuf lengths stay valid.
func replaceOnce(t *testing.T, data []byte, old, new string) []byte {
	t.Helper()
	if len(old) != len(new) {
		t.Fatalf("replace %q with %q: lengths differ", old, new)
	}
	if !bytes.Contains(data, []byte(old)) {
		t.Fatalf("%q not in the file", old)
	}
	return bytes.Replace(data, []byte(old), []byte(new), 1)
}

func TestDecodeBadInput(t *testing.T) {
	golden := goldenBytes(t)
	goldenV3, err := os.ReadFile(filepath.Join("testdata", "tiny_v3.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	props, err := ReadMetadataProps(golden)
	if err != nil {
		t.Fatal(err)
	}
	propsV3, err := ReadMetadataProps(goldenV3) // a file whose outputs are score and is_anomaly
	if err != nil {
		t.Fatal(err)
	}
	noise := make([]byte, 4096)
	rand.New(rand.NewSource(1)).Read(noise)
	var dupKey msg
	dupKey.string(fEntryKey, KeyRunID)
	dupKey.string(fEntryValue, "again")
	withDup := append(append([]byte(nil), golden...), protowireBytes(fModelMetadataProps, dupKey)...)
	var huge msg
	huge.bytes(fGraphNode, nodeProto("r", "Relu", []string{InputName}, []string{ScoreName}))
	huge.bytes(fGraphInput, valueInfo(InputName, dataTypeFloat, dim{value: 1 << 30}, dim{value: 1 << 30}))
	huge.bytes(fGraphOutput, valueInfo(ScoreName, dataTypeFloat, dim{param: "N"}))
	hugeModel := protowireBytes(fModelGraph, huge)

	tests := []struct {
		name string
		data []byte
		want string // substring of the error
	}{
		{"nil", nil, "empty input"},
		{"text", []byte("this is not an onnx file\n"), ""},
		{"noise", noise, ""},
		{"truncated half", golden[:len(golden)/2], ""},
		{"truncated last byte", golden[:len(golden)-1], ""},
		{"no graph", protowireBytes(fModelProducerName, []byte("x")), "no graph"},
		{"huge declared shape", hugeModel, "too large"},
		{"wrong graph", handModel([][]byte{nodeProto("r", "Relu", []string{InputName}, []string{ScoreName})}, nil, []string{ScoreName}, props), "outputs"},
		{"wrong graph, right outputs", handModel([][]byte{
			nodeProto("r", "Relu", []string{InputName}, []string{"r"}),
			nodeProto("s", "ReduceMean", []string{"r"}, []string{ScoreName}, intsAttr("axes", 1), intAttr("keepdims", 0)),
			nodeProto("n", "IsNaN", []string{ScoreName}, []string{IsAnomalyName}),
		}, nil, []string{ScoreName, IsAnomalyName}, propsV3), `"scaler_offset" is not an initializer`},
		{"unsupported operator", replaceOnce(t, golden, "Relu", "Celu"), "Celu"},
		{"missing initializer", replaceOnce(t, golden, "mu_B", "mu_X"), "mu_X"},
		{"scaler op changed", replaceOnce(t, golden, "Sub", "Mul"), "not the one vaejob writes"},
		{"no metadata", handModel(nil, nil, nil, nil), ""},
		{"threshold metadata differs", replaceOnce(t, golden, FormatThreshold(mustThreshold(t, props)), bump(FormatThreshold(mustThreshold(t, props)))), "threshold"},
		{"architecture differs", replaceOnce(t, golden, `"activation":"relu"`, `"activation":"tanh"`), KeyArchitecture},
		{"scaler metadata differs", replaceOnce(t, golden, `"kind":"minmax"`, `"kind":"maxmin"`), KeyScaler},
		{"format version", replaceOnce(t, golden, "format_version\x12\x014", "format_version\x12\x011"), KeyFormatVersion},
		{"version 4 file labelled version 3", replaceOnce(t, golden, "format_version\x12\x014", "format_version\x12\x013"), KeyTailTable},
		{"version 3 graph labelled version 2", replaceOnce(t, goldenV3, "format_version\x12\x013", "format_version\x12\x012"), "not the one vaejob writes"},
		{"no tail table", replaceOnce(t, golden, KeyTailTable, "vaejob.tail_tablx"), KeyTailTable + " is missing"},
		{"tail table counts damaged", replaceOnce(t, golden, `"at_least":[200,199,`, `"at_least":[200,200,`), "tail table"},
		{"tail table differs from the graph", replaceOnce(t, replaceOnce(t, golden, `"validation_rows":200`, `"validation_rows":201`), `"at_least":[200,`, `"at_least":[201,`), "not the one vaejob writes"},
		{"duplicate metadata key", withDup, "appears twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantFormatError(t, tt.data, tt.want)
		})
	}
}

func protowireBytes(num protowire.Number, payload []byte) []byte {
	var m msg
	m.bytes(num, payload)
	return m
}

func mustThreshold(t *testing.T, props []Prop) float32 {
	t.Helper()
	m, _, err := Decode(goldenBytes(t))
	if err != nil {
		t.Fatal(err)
	}
	return m.Threshold
}

// bump changes the first digit after the decimal point of a decimal, enough
// to move it to another float32.
func bump(s string) string {
	i := strings.IndexByte(s, '.') + 1
	if s[i] == '9' {
		return s[:i] + "8" + s[i+1:]
	}
	return s[:i] + string(s[i]+1) + s[i+1:]
}

func TestDecodeGraphOnly(t *testing.T) {
	// DecodeGraph evaluates any graph of supported operators, vaejob layout
	// or not; Decode rejects it.
	data := handModel([][]byte{
		nodeProto("r", "Relu", []string{InputName}, []string{"r"}),
		nodeProto("s", "ReduceMean", []string{"r"}, []string{ScoreName}, intsAttr("axes", -1), intAttr("keepdims", 0)),
		nodeProto("g", "Greater", []string{ScoreName, "t"}, []string{"gt"}),
		nodeProto("n", "IsNaN", []string{ScoreName}, []string{"nan"}),
		nodeProto("o", "Or", []string{"nan", "gt"}, []string{IsAnomalyName}),
	}, [][]byte{floatTensor("t", nil, []float32{1})}, []string{ScoreName, IsAnomalyName}, nil)
	g, err := DecodeGraph(data)
	if err != nil {
		t.Fatal(err)
	}
	score, flags, err := g.Run([]float32{-1, 2, 4, 0, 0, 1.5}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if score[0] != 2 || score[1] != 0.5 || !flags[0] || flags[1] {
		t.Errorf("score %v, flags %v", score, flags)
	}
	if got := strings.Join(g.Ops(), ","); got != "Relu,ReduceMean,Greater,IsNaN,Or" {
		t.Errorf("ops %s", got)
	}
	if _, _, err := Decode(data); err == nil {
		t.Error("Decode accepted a graph outside the vaejob layout")
	}
}

// FuzzDecode feeds DecodeGraph, Graph.Run and Decode arbitrary bytes: none
// may panic, hang or allocate without bound, and a model Decode accepts must
// be valid and encode again.
func FuzzDecode(f *testing.F) {
	capMinimization(f, "1000x")
	golden := goldenBytes(f)
	f.Add(golden)
	f.Add(golden[:len(golden)/3])
	f.Add([]byte{})
	f.Add([]byte("\x08\x07\x3a\x02\x0a\x00"))
	f.Add(handModel([][]byte{nodeProto("r", "Relu", []string{InputName}, []string{ScoreName})}, nil, []string{ScoreName}, nil))
	// A file of format version 5, with spike features.
	m, rows := randomModel(f, 31, constantArch)
	withScore(m, spiked(pipeline.ScoreNLL), 31, rows)
	spikes, err := Encode(m, testMetadata(m, 31))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(spikes)
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := DecodeGraph(data)
		if err != nil {
			// Decode reads the graph the same way first, so it fails too.
			return
		}
		d := g.inputDim
		if d == 0 || d > 1<<12 {
			d = 3
		}
		_, _, _ = g.Run(make([]float32, 2*d), 2)
		m, meta, err := Decode(data)
		if err != nil {
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("Decode returned an invalid model: %v", err)
		}
		if _, err := Encode(m, meta); err != nil && !strings.Contains(err.Error(), "metadata key") {
			t.Fatalf("decoded model does not encode: %v", err)
		}
	})
}

// capMinimization sets -test.fuzzminimizetime to limit unless the command
// line sets it. Go's minimizer tries deleting every range of bytes of each
// new interesting input, O(n²) decodes: for inputs the size of a model (3 KB)
// that is millions, and with the default limit of 60 s each new input stops
// the search for a minute, so that -fuzztime 60s runs a few thousand
// executions and then appears to hang. A limit in calls keeps the tail cuts
// that shrink most inputs.
func capMinimization(f *testing.F, limit string) {
	const name = "test.fuzzminimizetime"
	set := false
	flag.Visit(func(fl *flag.Flag) { set = set || fl.Name == name })
	if fl := flag.Lookup(name); fl != nil && !set {
		if err := fl.Value.Set(limit); err != nil {
			f.Fatal(err)
		}
	}
}

// wantFormatError checks that Decode refuses data with an error that wraps
// ErrFormat and mentions want, and that Verify refuses it as undecodable
// (not as a score mismatch).
func wantFormatError(t *testing.T, data []byte, want string) {
	t.Helper()
	m, _, err := Decode(data)
	if err == nil {
		t.Fatalf("no error; model %+v", m)
	}
	t.Log(err)
	if !errors.Is(err, ErrFormat) {
		t.Errorf("error does not wrap ErrFormat: %v", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not mention %q", err, want)
	}
	if _, err := Verify(data, nil, 0, nil); err == nil || errors.Is(err, ErrMismatch) {
		t.Errorf("Verify: err = %v, want a decode error", err)
	}
}
