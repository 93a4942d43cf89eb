package onnx

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	onnxgo "github.com/owulveryck/onnx-go"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/vaejob/vaejob/pipeline"
)

// ErrFormat is wrapped by the errors Decode and DecodeGraph return when the
// bytes are not an ONNX model in the layout Encode writes.
var ErrFormat = errors.New("not a vaejob ONNX model")

// Limits the pre-scan enforces before onnx-go allocates tensors for declared
// shapes: one dimension, and the elements of one declared (not stored) tensor.
const (
	maxDim           = 1 << 24
	maxDeclaredElems = 1 << 24
)

// DecodeGraph reads an ONNX model with onnx-go and returns its graph ready to
// evaluate. It checks only what evaluation needs: one input, the supported
// operators, every value computed; Decode checks the vaejob layout.
func DecodeGraph(data []byte) (*Graph, error) {
	g, err := load(data)
	if err != nil {
		return nil, fmt.Errorf("decode onnx graph: %w", err)
	}
	return g, nil
}

// Decode reads an ONNX file written by Encode back into a Model and its
// Metadata. The graph is read in process by onnx-go (into a recording
// backend, see Graph) and matched node by node against the layout Encode
// writes; the weights come from its initializers, the feature names, scaler
// maximums and threshold method from metadata_props. The threshold in the
// graph must equal vaejob.threshold, and the scaler in the graph must equal
// vaejob.scaler. The LogVar head is not in the file, so the Model's LogVar is
// zero.
func Decode(data []byte) (*pipeline.Model, Metadata, error) {
	_, m, meta, err := decodeAll(data)
	if err != nil {
		return nil, Metadata{}, fmt.Errorf("decode onnx: %w", err)
	}
	return m, meta, nil
}

// decodeAll decodes data into its Graph, Model and Metadata.
func decodeAll(data []byte) (*Graph, *pipeline.Model, Metadata, error) {
	g, err := load(data)
	if err != nil {
		return nil, nil, Metadata{}, err
	}
	props, err := ReadMetadataProps(data)
	if err != nil {
		return nil, nil, Metadata{}, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	m, meta, err := extract(g, props)
	if err != nil {
		return nil, nil, Metadata{}, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	return g, m, meta, nil
}

// load pre-scans data, decodes it with onnx-go into a recorder and builds the
// Graph.
func load(data []byte) (*Graph, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty input", ErrFormat)
	}
	inits, err := prescan(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	r := newRecorder()
	m := onnxgo.NewModel(r)
	if err := unmarshal(m, data); err != nil {
		return nil, fmt.Errorf("%w: onnx-go: %w", ErrFormat, err)
	}
	g, err := newGraph(r, m, inits)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	return g, nil
}

// unmarshal runs onnx-go's decoder, turning a panic into an error.
func unmarshal(m *onnxgo.Model, data []byte) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic while decoding: %v", p)
		}
	}()
	return m.UnmarshalBinary(data)
}

// prescan checks the wire format of the parts of the ModelProto that make
// onnx-go allocate memory, so that a corrupt or hostile file fails with an
// error instead of exhausting memory: the dimensions of declared values and
// of initializers, and tensor or graph attributes (vaejob never writes those).
// It returns the names of the initializers, which onnx-go does not tell apart
// from other values that carry a tensor.
func prescan(data []byte) (map[string]bool, error) {
	sawGraph := false
	inits := map[string]bool{}
	err := walk(data, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num != fModelGraph {
			return nil
		}
		if typ != protowire.BytesType {
			return fmt.Errorf("graph field has wire type %d", typ)
		}
		sawGraph = true
		return walk(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
			if typ != protowire.BytesType {
				return nil
			}
			switch num {
			case fGraphNode:
				return scanNode(v)
			case fGraphInitializer:
				name, err := scanInitializer(v, len(data))
				inits[name] = true
				return err
			case fGraphInput, fGraphOutput, fGraphValueInfo:
				return scanValueInfo(v)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	if !sawGraph {
		return nil, errors.New("no graph in the model")
	}
	return inits, nil
}

func scanNode(b []byte) error {
	return walk(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num != fNodeAttribute || typ != protowire.BytesType {
			return nil
		}
		return walk(v, func(num protowire.Number, _ protowire.Type, _ []byte, _ uint64) error {
			switch num {
			case fAttrT, fAttrG, fAttrTensors, fAttrGraphs:
				return fmt.Errorf("node attribute field %d (tensor or graph) is not supported", num)
			}
			return nil
		})
	})
}

// scanInitializer checks that a TensorProto's element count cannot exceed the
// size of the file that stores it, and returns its name.
func scanInitializer(b []byte, fileSize int) (string, error) {
	var dims []uint64
	var name string
	err := walk(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		if num == fTensorName && typ == protowire.BytesType {
			name = string(v)
		}
		if num != fTensorDims {
			return nil
		}
		if typ == protowire.VarintType {
			dims = append(dims, x)
			return nil
		}
		for len(v) > 0 {
			d, n := protowire.ConsumeVarint(v)
			if n < 0 {
				return fmt.Errorf("malformed tensor dims: %w", protowire.ParseError(n))
			}
			dims = append(dims, d)
			v = v[n:]
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("initializer: %w", err)
	}
	if !dimsWithin(dims, uint64(fileSize)) {
		return "", fmt.Errorf("initializer %q: dims %v exceed the %d-byte file", name, dims, fileSize)
	}
	return name, nil
}

func scanValueInfo(b []byte) error {
	var dims []uint64
	var dive func(depth int) func(protowire.Number, protowire.Type, []byte, uint64) error
	// ValueInfoProto.type → TypeProto.tensor_type → Tensor.shape → dim → dim_value
	path := []protowire.Number{fValueType, fTypeTensorType, fTensorTypeShape, fShapeDim, fDimValue}
	dive = func(depth int) func(protowire.Number, protowire.Type, []byte, uint64) error {
		return func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
			if num != path[depth] {
				return nil
			}
			if depth == len(path)-1 {
				if typ == protowire.VarintType {
					dims = append(dims, x)
				}
				return nil
			}
			if typ != protowire.BytesType {
				return nil
			}
			return walk(v, dive(depth+1))
		}
	}
	if err := walk(b, dive(0)); err != nil {
		return fmt.Errorf("value info: %w", err)
	}
	if !dimsWithin(dims, maxDeclaredElems) {
		return fmt.Errorf("declared shape %v is too large", dims)
	}
	return nil
}

func dimsWithin(dims []uint64, maxElems uint64) bool {
	n := uint64(1)
	for _, d := range dims {
		if d > maxDim {
			return false
		}
		n *= d
		if n > maxElems {
			return false
		}
	}
	return true
}

// extractor matches a Graph against the layout Encode writes.
type extractor struct {
	g             *Graph
	used          map[*node]bool
	scaled, recon string // value names found by network
}

// find returns the one node of type op whose inputs satisfy match.
func (x *extractor) find(what, op string, match func(n *node) bool) (*node, error) {
	var found *node
	for _, n := range x.g.ops {
		if n.op != op || !match(n) {
			continue
		}
		if found != nil {
			return nil, fmt.Errorf("%s: two %s nodes (%q and %q) match", what, op, found.outputs[0], n.outputs[0])
		}
		found = n
	}
	if found == nil {
		return nil, fmt.Errorf("%s: no %s node found", what, op)
	}
	x.used[found] = true
	return found, nil
}

// constant returns the float32 initializer called name with the given shape.
func (x *extractor) constant(what, name string, shape ...int) ([]float32, error) {
	v, ok := x.g.consts[name]
	if !ok {
		return nil, fmt.Errorf("%s: %q is not an initializer", what, name)
	}
	if v.isBool || !slices.Equal(v.shape, shape) {
		return nil, fmt.Errorf("%s: initializer %q is %s%v, want float32%v", what, name, v.dtype(), v.shape, shape)
	}
	return v.f, nil
}

// consumers returns the nodes that read value name.
func (x *extractor) consumers(name string) []*node {
	var cs []*node
	for _, n := range x.g.ops {
		if slices.Contains(n.inputs, name) {
			cs = append(cs, n)
		}
	}
	return cs
}

func extract(g *Graph, props []Prop) (*pipeline.Model, Metadata, error) {
	kv := map[string]string{}
	for _, p := range props {
		if _, dup := kv[p.Key]; dup {
			return nil, Metadata{}, fmt.Errorf("metadata key %q appears twice", p.Key)
		}
		kv[p.Key] = p.Value
	}
	required := func(key string) (string, error) {
		v, ok := kv[key]
		if !ok {
			return "", fmt.Errorf("metadata %s is missing", key)
		}
		return v, nil
	}
	if v, err := required(KeyFormatVersion); err != nil {
		return nil, Metadata{}, err
	} else if v != FormatVersion {
		return nil, Metadata{}, fmt.Errorf("metadata %s is %q, this version reads %q", KeyFormatVersion, v, FormatVersion)
	}
	jsonKey := func(key string, dst any, need bool) error {
		v, ok := kv[key]
		if !ok {
			if need {
				return fmt.Errorf("metadata %s is missing", key)
			}
			return nil
		}
		if err := json.Unmarshal([]byte(v), dst); err != nil {
			return fmt.Errorf("metadata %s: %w", key, err)
		}
		return nil
	}
	m := &pipeline.Model{}
	var arch Architecture
	var scaler pipeline.Scaler
	meta := Metadata{
		ProducerVersion:    kv[KeyProducerVersion],
		RunID:              kv[KeyRunID],
		TrainingDataSHA256: kv[KeyTrainingDataSHA256],
	}
	for _, e := range []struct {
		key  string
		dst  any
		need bool
	}{
		{KeyFeatureNames, &m.Features, true},
		{KeyArchitecture, &arch, true},
		{KeyScaler, &scaler, true},
		{KeyTestVector, &meta.TestVector, false},
	} {
		if err := jsonKey(e.key, e.dst, e.need); err != nil {
			return nil, Metadata{}, err
		}
	}
	score, err := required(KeyScoreKind)
	if err != nil {
		return nil, Metadata{}, err
	}
	m.Score = pipeline.ScoreKind(score)
	m.ThresholdMethod = kv[KeyThresholdMethod]
	thrText, err := required(KeyThreshold)
	if err != nil {
		return nil, Metadata{}, err
	}
	thr, err := strconv.ParseFloat(thrText, 32)
	if err != nil {
		return nil, Metadata{}, fmt.Errorf("metadata %s: %w", KeyThreshold, err)
	}
	for _, p := range props {
		if !reservedKeys[p.Key] {
			if meta.Extra == nil {
				meta.Extra = map[string]string{}
			}
			meta.Extra[p.Key] = p.Value
		}
	}

	d := len(m.Features)
	if d == 0 {
		return nil, Metadata{}, fmt.Errorf("metadata %s is empty", KeyFeatureNames)
	}
	if g.input != InputName {
		return nil, Metadata{}, fmt.Errorf("graph input is %q, want %q", g.input, InputName)
	}
	if g.inputDim != d {
		return nil, Metadata{}, fmt.Errorf("graph input has %d features, metadata names %d", g.inputDim, d)
	}
	if !slices.Equal(g.outputs, []string{ScoreName, IsAnomalyName}) {
		return nil, Metadata{}, fmt.Errorf("graph outputs are %q, want %q", g.outputs, []string{ScoreName, IsAnomalyName})
	}

	x := &extractor{g: g, used: map[*node]bool{}}
	if err := x.network(m, &arch, d); err != nil {
		return nil, Metadata{}, err
	}
	graphThr, err := x.scoring()
	if err != nil {
		return nil, Metadata{}, err
	}
	if math.Float32bits(graphThr) != math.Float32bits(float32(thr)) {
		return nil, Metadata{}, fmt.Errorf("graph threshold %v differs from metadata %s %q", graphThr, KeyThreshold, thrText)
	}
	m.Threshold = graphThr
	if len(x.used) != len(g.ops) {
		var extra []string
		for _, n := range g.ops {
			if !x.used[n] {
				extra = append(extra, fmt.Sprintf("%s→%q", n.op, n.outputs[0]))
			}
		}
		return nil, Metadata{}, fmt.Errorf("graph has nodes outside the vaejob layout: %s", strings.Join(extra, ", "))
	}

	if scaler.Kind != m.Scaler.Kind || !sameFloats(scaler.Min, m.Scaler.Min) || !sameFloats(scaler.Scale, m.Scaler.Scale) {
		return nil, Metadata{}, fmt.Errorf("metadata %s differs from the scaler in the graph", KeyScaler)
	}
	m.Scaler.Max = scaler.Max
	if err := m.Validate(); err != nil {
		return nil, Metadata{}, fmt.Errorf("decoded model is invalid: %w", err)
	}
	return m, meta, nil
}

// network matches the scaler and the chain of dense layers from the input to
// the reconstruction, filling m's Scaler, Encoder, Mu and Decoder.
func (x *extractor) network(m *pipeline.Model, arch *Architecture, d int) error {
	sub, err := x.find("scaler", "Sub", func(n *node) bool { return n.inputs[0] == InputName })
	if err != nil {
		return err
	}
	if m.Scaler.Min, err = x.constant("scaler", sub.inputs[1], d); err != nil {
		return err
	}
	mul, err := x.find("scaler", "Mul", func(n *node) bool { return n.inputs[0] == sub.outputs[0] })
	if err != nil {
		return err
	}
	if m.Scaler.Scale, err = x.constant("scaler", mul.inputs[1], d); err != nil {
		return err
	}
	m.Scaler.Kind = "minmax"
	scaled := mul.outputs[0]

	var layers []pipeline.Dense
	cur, width := scaled, d
	for {
		var gemms []*node
		for _, c := range x.consumers(cur) {
			if c.op == "Gemm" {
				gemms = append(gemms, c)
			}
		}
		if len(gemms) == 0 {
			break
		}
		if len(gemms) > 1 {
			return fmt.Errorf("layer %d: value %q feeds %d Gemm nodes", len(layers), cur, len(gemms))
		}
		gm := gemms[0]
		x.used[gm] = true
		what := fmt.Sprintf("layer %d (%q)", len(layers), gm.outputs[0])
		if gm.inputs[0] != cur || len(gm.inputs) != 3 || gm.transA || gm.transB || gm.alpha != 1 || gm.beta != 1 {
			return fmt.Errorf("%s: want Gemm(%s, W, B) with alpha=beta=1 and no transposes", what, cur)
		}
		wv, ok := x.g.consts[gm.inputs[1]]
		if !ok || len(wv.shape) != 2 {
			return fmt.Errorf("%s: weights %q are not a 2-D initializer", what, gm.inputs[1])
		}
		l := pipeline.Dense{In: width, Out: wv.shape[1]}
		if l.W, err = x.constant(what, gm.inputs[1], l.In, l.Out); err != nil {
			return err
		}
		if l.B, err = x.constant(what, gm.inputs[2], l.Out); err != nil {
			return err
		}
		out := gm.outputs[0]
		if cs := x.consumers(out); len(cs) == 1 && (cs[0].op == "Relu" || cs[0].op == "Sigmoid") {
			x.used[cs[0]] = true
			l.Activation = pipeline.ReLU
			if cs[0].op == "Sigmoid" {
				l.Activation = pipeline.Sigmoid
			}
			out = cs[0].outputs[0]
		}
		layers = append(layers, l)
		cur, width = out, l.Out
	}

	nEnc, nDec := len(arch.Encoder), len(arch.Decoder)
	if len(layers) != nEnc+1+nDec {
		return fmt.Errorf("graph has %d dense layers, metadata %s describes %d", len(layers), KeyArchitecture, nEnc+1+nDec)
	}
	specs := append(append(append([]LayerSpec(nil), arch.Encoder...), arch.Mu), arch.Decoder...)
	for i, s := range specs {
		l := layers[i]
		if s.In != l.In || s.Out != l.Out || s.Activation != l.Activation.String() {
			return fmt.Errorf("dense layer %d is %dx%d %s in the graph, %dx%d %s in metadata %s",
				i, l.In, l.Out, l.Activation, s.In, s.Out, s.Activation, KeyArchitecture)
		}
	}
	m.Encoder = layers[:nEnc:nEnc]
	m.Mu = layers[nEnc]
	m.Decoder = layers[nEnc+1:]
	if nEnc == 0 {
		m.Encoder = nil
	}
	if nDec == 0 {
		m.Decoder = nil
	}
	x.recon = cur
	x.scaled = scaled
	return nil
}

// scoring matches score = ReduceMean((scaled - recon)², axis 1) and
// is_anomaly = Or(Greater(score, threshold), IsNaN(score)), and returns the
// threshold.
func (x *extractor) scoring() (float32, error) {
	diff, err := x.find("score", "Sub", func(n *node) bool { return n.inputs[0] == x.scaled && n.inputs[1] == x.recon })
	if err != nil {
		return 0, err
	}
	// alias follows Identity nodes back to their source.
	aliases := map[string]*node{}
	for _, n := range x.g.ops {
		if n.op == "Identity" {
			aliases[n.outputs[0]] = n
		}
	}
	isDiff := func(name string) bool {
		for {
			if name == diff.outputs[0] {
				return true
			}
			id, ok := aliases[name]
			if !ok {
				return false
			}
			name = id.inputs[0]
		}
	}
	sq, err := x.find("score", "Mul", func(n *node) bool { return isDiff(n.inputs[0]) && isDiff(n.inputs[1]) })
	if err != nil {
		return 0, err
	}
	for _, in := range sq.inputs {
		for id, ok := aliases[in]; ok; id, ok = aliases[id.inputs[0]] {
			x.used[id] = true
		}
	}
	mean, err := x.find("score", "ReduceMean", func(n *node) bool { return n.inputs[0] == sq.outputs[0] })
	if err != nil {
		return 0, err
	}
	if mean.outputs[0] != ScoreName || mean.keepDims || !(slices.Equal(mean.axes, []int64{1}) || slices.Equal(mean.axes, []int64{-1})) {
		return 0, fmt.Errorf("score: want ReduceMean(axes=[1], keepdims=0) → %q", ScoreName)
	}
	gt, err := x.find("alert", "Greater", func(n *node) bool { return n.inputs[0] == ScoreName })
	if err != nil {
		return 0, err
	}
	tv, ok := x.g.consts[gt.inputs[1]]
	if !ok || tv.isBool || len(tv.f) != 1 || len(tv.shape) > 1 {
		return 0, fmt.Errorf("alert: Greater(%s, %q): the threshold must be a float32 scalar initializer", ScoreName, gt.inputs[1])
	}
	nan, err := x.find("alert", "IsNaN", func(n *node) bool { return n.inputs[0] == ScoreName })
	if err != nil {
		return 0, err
	}
	or, err := x.find("alert", "Or", func(n *node) bool {
		a, b := n.inputs[0], n.inputs[1]
		return (a == gt.outputs[0] && b == nan.outputs[0]) || (a == nan.outputs[0] && b == gt.outputs[0])
	})
	if err != nil {
		return 0, err
	}
	if or.outputs[0] != IsAnomalyName {
		return 0, fmt.Errorf("alert: Or writes %q, want %q", or.outputs[0], IsAnomalyName)
	}
	return tv.f[0], nil
}

func sameFloats(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
}
