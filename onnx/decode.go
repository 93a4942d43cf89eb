package onnx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	onnxgo "github.com/owulveryck/onnx-go"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/vaejob/vaejob/pipeline"
)

// ErrFormat is wrapped by the errors Decode and DecodeGraph return when the
// bytes are not an ONNX model in the layout Encode writes.
var ErrFormat = errors.New("not a vaejob ONNX model")

// Limits the pre-scan enforces before onnx-go allocates tensors for declared
// shapes: one dimension, and the elements of all declared (not stored)
// tensors together. The elements of all initializers together may not exceed
// the size of the file in bytes (every stored element takes at least one).
const (
	maxDim           = 1 << 24
	maxDeclaredElems = 1 << 24
)

// maxNodes is the most nodes a graph may have. vaejob writes about 20 plus
// two a layer; a file with more is not one of its models, and refusing it
// bounds the evaluator's work per row.
const maxNodes = 1024

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
// backend, see Graph); the weights come from its initializers, the feature
// names, architecture, variances, scaler maximums and threshold method from
// metadata_props. The rebuilt Model is then encoded again, and its graph must
// equal the file's byte for byte: a file edited by hand or written by
// another tool is refused. The threshold in the graph must equal
// vaejob.threshold, and the scaler in the graph must equal vaejob.scaler.
// The LogVar head is in the file only when the score uses it; otherwise the
// Model's LogVar is zero.
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
	m, meta, err := extract(g, props, data)
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
	var nodes int
	var initElems, declaredElems uint64
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
				if nodes++; nodes > maxNodes {
					return fmt.Errorf("graph has more than %d nodes (vaejob writes about 20 plus two a layer)", maxNodes)
				}
				return scanNode(v)
			case fGraphInitializer:
				name, n, err := scanInitializer(v, uint64(len(data)))
				if err != nil {
					return err
				}
				inits[name] = true
				if initElems += n; initElems > uint64(len(data)) {
					return fmt.Errorf("initializers declare %d or more elements, which exceed the %d-byte file", initElems, len(data))
				}
				return nil
			case fGraphInput, fGraphOutput, fGraphValueInfo:
				n, err := scanValueInfo(v)
				if err != nil {
					return err
				}
				if declaredElems += n; declaredElems > maxDeclaredElems {
					return fmt.Errorf("declared shapes of inputs, outputs and values are too large together (more than %d elements)", maxDeclaredElems)
				}
				return nil
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
// size of the file that stores it, and returns its name and element count.
func scanInitializer(b []byte, fileSize uint64) (string, uint64, error) {
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
		return "", 0, fmt.Errorf("initializer: %w", err)
	}
	n, ok := elems(dims, fileSize)
	if !ok {
		return "", 0, fmt.Errorf("initializer %q: dims %v exceed the %d-byte file", name, dims, fileSize)
	}
	return name, n, nil
}

// scanValueInfo returns the element count of a ValueInfoProto's declared
// shape (its fixed dimensions), refusing one that is too large.
func scanValueInfo(b []byte) (uint64, error) {
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
		return 0, fmt.Errorf("value info: %w", err)
	}
	n, ok := elems(dims, maxDeclaredElems)
	if !ok {
		return 0, fmt.Errorf("declared shape %v is too large", dims)
	}
	return n, nil
}

// elems returns the element count of a tensor with the given dims, and
// whether every dimension is at most maxDim and the count at most maxElems.
func elems(dims []uint64, maxElems uint64) (uint64, bool) {
	n := uint64(1)
	for _, d := range dims {
		if d > maxDim {
			return 0, false
		}
		n *= d
		if n > maxElems {
			return 0, false
		}
	}
	return n, true
}

// initializer returns the float32 initializer called name with the given
// shape.
func (g *Graph) initializer(what, name string, shape ...int) ([]float32, error) {
	v, ok := g.consts[name]
	if !ok {
		return nil, fmt.Errorf("%s: %q is not an initializer", what, name)
	}
	if !v.isFloat() || !slices.Equal(v.shape, shape) {
		return nil, fmt.Errorf("%s: initializer %q is %s%v, want float32%v", what, name, v.dtype(), v.shape, shape)
	}
	return v.f, nil
}

func extract(g *Graph, props []Prop, data []byte) (*pipeline.Model, Metadata, error) {
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
	version, err := required(KeyFormatVersion)
	if err != nil {
		return nil, Metadata{}, err
	}
	if version != FormatVersion && version != legacyFormatVersion {
		return nil, Metadata{}, fmt.Errorf("metadata %s is %q, this version reads %q and %q", KeyFormatVersion, version, FormatVersion, legacyFormatVersion)
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
	var constantNames []string
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
		{KeyVariance, &m.Variance, false},
		{KeyLaplaceScale, &m.LaplaceScale, false},
		{KeyConstantFeatures, &constantNames, false},
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

	if err := rebuild(g, m, &arch, d); err != nil {
		return nil, Metadata{}, err
	}
	if math.Float32bits(m.Threshold) != math.Float32bits(float32(thr)) {
		return nil, Metadata{}, fmt.Errorf("graph threshold %v differs from metadata %s %q", m.Threshold, KeyThreshold, thrText)
	}
	if !slices.Contains(pipeline.ScalerKinds, scaler.Kind) {
		return nil, Metadata{}, fmt.Errorf("metadata %s: unknown scaler kind %q", KeyScaler, scaler.Kind)
	}
	if !sameFloats(scaler.Offset, m.Scaler.Offset) || !sameFloats(scaler.Scale, m.Scaler.Scale) {
		return nil, Metadata{}, fmt.Errorf("metadata %s differs from the scaler in the graph", KeyScaler)
	}
	m.Scaler.Kind, m.Scaler.Min, m.Scaler.Max = scaler.Kind, scaler.Min, scaler.Max
	if err := m.Validate(); err != nil {
		return nil, Metadata{}, fmt.Errorf("decoded model is invalid: %w", err)
	}
	var graphConstant []string
	for _, j := range m.Constant {
		graphConstant = append(graphConstant, m.Features[j])
	}
	if !slices.Equal(graphConstant, constantNames) {
		return nil, Metadata{}, fmt.Errorf("metadata %s %q differs from the constant features of the graph %q", KeyConstantFeatures, constantNames, graphConstant)
	}
	m.LegacyMissing = version == legacyFormatVersion
	want, err := encodeGraph(m, m.LegacyMissing)
	if err != nil {
		return nil, Metadata{}, err
	}
	got, err := graphField(data)
	if err != nil {
		return nil, Metadata{}, err
	}
	if !bytes.Equal(got, want) {
		return nil, Metadata{}, errors.New("the graph is not the one vaejob writes for the model its metadata describes (edited, or written by another tool)")
	}
	return m, meta, nil
}

// rebuild fills m's scaler, layers and threshold from the initializers
// Encode names, with the shapes and activations of arch.
func rebuild(g *Graph, m *pipeline.Model, arch *Architecture, d int) error {
	var err error
	if m.Scaler.Offset, err = g.initializer("scaler", initScalerOffset, d); err != nil {
		return err
	}
	if m.Scaler.Scale, err = g.initializer("scaler", initScalerScale, d); err != nil {
		return err
	}
	if _, ok := g.consts[initImputeValue]; ok {
		if m.Imputation, err = g.initializer("imputation", initImputeValue, d); err != nil {
			return err
		}
	}
	if v, ok := g.consts[initConstantIndex]; ok {
		if !v.isInt || len(v.shape) != 1 || v.shape[0] == 0 || v.shape[0] > d {
			return fmt.Errorf("constant features: initializer %q is %s%v, want int64[k] with 0 < k ≤ %d", initConstantIndex, v.dtype(), v.shape, d)
		}
		for _, j := range v.i {
			if j < 0 || j >= int64(d) {
				return fmt.Errorf("constant features: index %d out of range for %d features", j, d)
			}
			m.Constant = append(m.Constant, int(j))
		}
	}
	layer := func(prefix string, spec LayerSpec) (pipeline.Dense, error) {
		l := pipeline.Dense{In: spec.In, Out: spec.Out}
		switch spec.Activation {
		case pipeline.Identity.String():
			l.Activation = pipeline.Identity
		case pipeline.ReLU.String():
			l.Activation = pipeline.ReLU
		case pipeline.Sigmoid.String():
			l.Activation = pipeline.Sigmoid
		default:
			return l, fmt.Errorf("layer %s: unknown activation %q in metadata %s", prefix, spec.Activation, KeyArchitecture)
		}
		if spec.In <= 0 || spec.Out <= 0 || spec.In > maxDim || spec.Out > maxDim {
			return l, fmt.Errorf("layer %s: shape %dx%d in metadata %s", prefix, spec.In, spec.Out, KeyArchitecture)
		}
		var err error
		if l.W, err = g.initializer("layer "+prefix, prefix+"_W", spec.In, spec.Out); err != nil {
			return l, err
		}
		if l.B, err = g.initializer("layer "+prefix, prefix+"_B", spec.Out); err != nil {
			return l, err
		}
		return l, nil
	}
	for i, spec := range arch.Encoder {
		l, err := layer(fmt.Sprintf("enc%d", i), spec)
		if err != nil {
			return err
		}
		m.Encoder = append(m.Encoder, l)
	}
	if m.Mu, err = layer("mu", arch.Mu); err != nil {
		return err
	}
	if arch.LogVar != nil {
		prefix := "logvar"
		if arch.LogVarBound > 0 {
			prefix = "logvar_raw"
		}
		if m.LogVar, err = layer(prefix, *arch.LogVar); err != nil {
			return err
		}
		m.LogVarBound = arch.LogVarBound
	}
	for i, spec := range arch.Decoder {
		l, err := layer(fmt.Sprintf("dec%d", i), spec)
		if err != nil {
			return err
		}
		m.Decoder = append(m.Decoder, l)
	}
	thr, err := g.initializer("alert", initThreshold)
	if err != nil {
		return err
	}
	m.Threshold = thr[0]
	return nil
}

// graphField returns the bytes of the ModelProto's graph field.
func graphField(data []byte) ([]byte, error) {
	var graph []byte
	err := walk(data, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num == fModelGraph && typ == protowire.BytesType {
			graph = v
		}
		return nil
	})
	if err != nil || graph == nil {
		return nil, fmt.Errorf("read graph: no graph field (%v)", err)
	}
	return graph, nil
}

func sameFloats(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
}
