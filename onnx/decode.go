package onnx

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	onnxgo "github.com/owulveryck/onnx-go"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/vaejob/vaejob/pipeline"
)

// ErrFormat is wrapped by the errors Decode and DecodeGraph return when the
// bytes are not an ONNX model in the layout Encode writes.
var ErrFormat = errors.New("not a vaejob ONNX model")

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
// backend, see Graph); the weights, constant features and spike features
// come from its initializers, the feature names, architecture, variances,
// spike costs, scaler maximums and threshold method from metadata_props,
// which must describe the constant and spike features as the graph has
// them. The rebuilt Model is then encoded again, and its graph must
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

// extract rebuilds the Model and Metadata of the file data, whose graph is g
// and whose metadata_props are props, and checks that the file is what
// Encode writes for them.
func extract(g *Graph, props []Prop, data []byte) (*pipeline.Model, Metadata, error) {
	desc, err := readDescription(props)
	if err != nil {
		return nil, Metadata{}, err
	}
	m := desc.model
	if err := checkInterface(g, len(m.Features), desc.version); err != nil {
		return nil, Metadata{}, err
	}
	if err := rebuild(g, m, &desc.arch); err != nil {
		return nil, Metadata{}, err
	}
	if err := desc.complete(m); err != nil {
		return nil, Metadata{}, err
	}
	m.LegacyMissing = desc.version == legacyFormatVersion
	if err := sameGraph(m, desc.version, data); err != nil {
		return nil, Metadata{}, err
	}
	return m, desc.meta, nil
}

// checkInterface checks the graph's input (d features) and outputs, those
// of format version.
func checkInterface(g *Graph, d int, version string) error {
	if g.input != InputName {
		return fmt.Errorf("graph input is %q, want %q", g.input, InputName)
	}
	if g.inputDim != d {
		return fmt.Errorf("graph input has %d features, metadata names %d", g.inputDim, d)
	}
	if want := outputNames(version); !slices.Equal(g.outputs, want) {
		return fmt.Errorf("graph outputs are %q, want %q", g.outputs, want)
	}
	return nil
}

// sameGraph checks that the graph of the file data is, byte for byte, the
// one Encode writes for m in the layout of format version.
func sameGraph(m *pipeline.Model, version string, data []byte) error {
	want, err := encodeGraph(m, version)
	if err != nil {
		return err
	}
	got, err := graphField(data)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, want) {
		return errors.New("the graph is not the one vaejob writes for the model its metadata describes (edited, or written by another tool)")
	}
	return nil
}

// rebuild fills m's scaler, imputation, constant features, spike features
// (but for their costs, which the metadata holds), layers and threshold
// from the initializers Encode names, with the shapes and activations of
// arch.
func rebuild(g *Graph, m *pipeline.Model, arch *Architecture) error {
	d := len(m.Features)
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
	if m.Constant, err = g.constantFeatures(d); err != nil {
		return err
	}
	if m.Spikes, err = g.spikeFeatures(d, m.Constant); err != nil {
		return err
	}
	if err := g.rebuildNetwork(m, arch); err != nil {
		return err
	}
	thr, err := g.initializer("alert", initThreshold)
	if err != nil {
		return err
	}
	m.Threshold = thr[0]
	return nil
}

// constantFeatures returns the indices of the constant features among d,
// from the constant_index initializer; none when it is absent.
func (g *Graph) constantFeatures(d int) ([]int, error) {
	v, ok := g.consts[initConstantIndex]
	if !ok {
		return nil, nil
	}
	if !v.isInt || len(v.shape) != 1 || v.shape[0] == 0 || v.shape[0] > d {
		return nil, fmt.Errorf("constant features: initializer %q is %s%v, want int64[k] with 0 < k ≤ %d", initConstantIndex, v.dtype(), v.shape, d)
	}
	var constant []int
	for _, j := range v.i {
		if j < 0 || j >= int64(d) {
			return nil, fmt.Errorf("constant features: index %d out of range for %d features", j, d)
		}
		constant = append(constant, int(j))
	}
	return constant, nil
}

// spikeFeatures returns the spike features among d features of which
// constant are constant, from the initializers spike_mask and spike_value
// over the features the network sees, without their costs; none when
// spike_mask is absent.
func (g *Graph) spikeFeatures(d int, constant []int) ([]pipeline.Spike, error) {
	mask, ok := g.consts[initSpikeMask]
	if !ok {
		return nil, nil
	}
	varying := pipeline.Varying(d, constant)
	if !mask.isBool || !slices.Equal(mask.shape, []int{len(varying)}) {
		return nil, fmt.Errorf("spike features: initializer %q is %s%v, want bool[%d]", initSpikeMask, mask.dtype(), mask.shape, len(varying))
	}
	values, err := g.initializer("spike features", initSpikeValue, len(varying))
	if err != nil {
		return nil, err
	}
	var spikes []pipeline.Spike
	for k, on := range mask.b {
		if on {
			spikes = append(spikes, pipeline.Spike{Feature: varying[k], Value: values[k]})
		}
	}
	if len(spikes) == 0 {
		return nil, fmt.Errorf("spike features: initializer %q marks none", initSpikeMask)
	}
	return spikes, nil
}

// rebuildNetwork fills m's encoder, latent mean, log-variance head (when
// arch has one) and decoder, each layer from the initializers named by the
// prefix Encode gives it.
func (g *Graph) rebuildNetwork(m *pipeline.Model, arch *Architecture) error {
	var err error
	if m.Encoder, err = g.layers("enc", arch.Encoder); err != nil {
		return err
	}
	if m.Mu, err = g.layer("mu", arch.Mu); err != nil {
		return err
	}
	if arch.LogVar != nil {
		prefix := "logvar"
		if arch.LogVarBound > 0 {
			prefix = "logvar_raw"
		}
		if m.LogVar, err = g.layer(prefix, *arch.LogVar); err != nil {
			return err
		}
		m.LogVarBound = arch.LogVarBound
	}
	m.Decoder, err = g.layers("dec", arch.Decoder)
	return err
}

// layers returns the layers prefix0, prefix1, … with the given specs.
func (g *Graph) layers(prefix string, specs []LayerSpec) ([]pipeline.Dense, error) {
	var ls []pipeline.Dense
	for i, spec := range specs {
		l, err := g.layer(fmt.Sprintf("%s%d", prefix, i), spec)
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
	}
	return ls, nil
}

// layer returns the dense layer whose weights are the initializers
// prefix_W and prefix_B, with the shape and activation of spec.
func (g *Graph) layer(prefix string, spec LayerSpec) (pipeline.Dense, error) {
	l := pipeline.Dense{In: spec.In, Out: spec.Out}
	act, ok := activations[spec.Activation]
	if !ok {
		return l, fmt.Errorf("layer %s: unknown activation %q in metadata %s", prefix, spec.Activation, KeyArchitecture)
	}
	l.Activation = act
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

// activations are the activations a layer of vaejob.architecture may name.
var activations = map[string]pipeline.Activation{
	pipeline.Identity.String(): pipeline.Identity,
	pipeline.ReLU.String():     pipeline.ReLU,
	pipeline.Sigmoid.String():  pipeline.Sigmoid,
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
