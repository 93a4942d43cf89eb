package onnx

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/vaejob/vaejob/pipeline"
)

// Metadata keys written to metadata_props, in the order the encoder writes
// them. Extra entries from Metadata.Extra follow, sorted by key.
const (
	KeyFormatVersion      = "vaejob.format_version"
	KeyProducerVersion    = "vaejob.producer_version"
	KeyRunID              = "vaejob.run_id"
	KeyFeatureNames       = "vaejob.feature_names"
	KeyScoreKind          = "vaejob.score_kind"
	KeyThreshold          = "vaejob.threshold"
	KeyThresholdMethod    = "vaejob.threshold_method"
	KeyScaler             = "vaejob.scaler"
	KeyTrainingDataSHA256 = "vaejob.training_data_sha256"
	KeyArchitecture       = "vaejob.architecture"
	KeyTestVector         = "vaejob.test_vector"
	KeyVariance           = "vaejob.variance"
	KeyLaplaceScale       = "vaejob.laplace_scale"
	// KeyConstantFeatures names, as a JSON array, the features that were
	// constant on the training rows (see pipeline.Model.Constant); absent
	// when there are none.
	KeyConstantFeatures = "vaejob.constant_features"
	// KeyTailTable holds the tail table (JSON pipeline.TailTable: the
	// number of validation rows, the edges and the counts) that the graph's
	// tail_probability reads; present from format version 4 on.
	KeyTailTable = "vaejob.tail_table"
	// KeySpikes lists the spike features (see pipeline.Model.Spikes and
	// pipeline.Spike) as a JSON array of objects in feature order; present
	// exactly in files of format version 5, which have some. Each object
	// has:
	//
	//   - "feature": the feature's name;
	//   - "value": the spike as a raw value, one that the graph scales
	//     exactly to the spike (a raw input equal to it scores as on the
	//     spike; so may other raw values within float32 rounding of it,
	//     when the scale is below 1). It is the float32 nearest
	//     scaled_value / scale + offset (vaejob.scaler), or failing that
	//     the nearest of its neighbours within 2 ulps that scales exactly,
	//     and absent when none does (or the scale is 0): then only
	//     scaled_value says where the spike is;
	//   - "scaled_value": the spike in scaled units, the float32 the graph
	//     compares the scaled input with (initializer spike_value);
	//   - "cost": what a row off the spike adds to the score, besides its
	//     likelihood term (a row on the spike adds 0).
	//
	// Each number is the shortest decimal that reads back as the same
	// float32.
	KeySpikes = "vaejob.spikes"
)

var reservedKeys = map[string]bool{
	KeyFormatVersion: true, KeyProducerVersion: true, KeyRunID: true,
	KeyFeatureNames: true, KeyScoreKind: true, KeyThreshold: true,
	KeyThresholdMethod: true, KeyScaler: true, KeyTrainingDataSHA256: true,
	KeyArchitecture: true, KeyTestVector: true, KeyVariance: true, KeyLaplaceScale: true,
	KeyConstantFeatures: true, KeyTailTable: true, KeySpikes: true,
}

// Metadata is what an ONNX file carries about the run that produced it,
// beside the model itself. Everything the model defines (feature names,
// scaler, threshold and how it was chosen, score kind, architecture) is
// written from the pipeline.Model; these fields add the rest.
type Metadata struct {
	// ProducerVersion is the vaejob version that wrote the file; it is also
	// the ModelProto's producer_version.
	ProducerVersion string
	// RunID names the run that trained the model.
	RunID string
	// TrainingDataSHA256 is the hex digest of the training data.
	TrainingDataSHA256 string
	// TestVector holds synthetic rows and the scores the Go scorer gives them,
	// so any runtime can check the file it loaded.
	TestVector pipeline.TestVector
	// Extra holds further metadata_props entries. Encode requires the keys to
	// start with "vaejob." and not to be one of the Key constants; Decode puts
	// every entry it does not interpret here.
	Extra map[string]string
}

// Architecture describes the layers of the encoded network, as written in the
// vaejob.architecture metadata entry. Decode uses it to split the chain of
// Gemm nodes into encoder, latent mean and decoder.
type Architecture struct {
	Encoder []LayerSpec `json:"encoder"`
	Mu      LayerSpec   `json:"mu"`
	// LogVar is present when the score uses the encoder's log-variance;
	// LogVarBound is the model's bound on it (0: none).
	LogVar      *LayerSpec  `json:"logvar,omitempty"`
	LogVarBound float32     `json:"logvar_bound,omitempty"`
	Decoder     []LayerSpec `json:"decoder"`
}

// LayerSpec is one dense layer in Architecture.
type LayerSpec struct {
	In         int    `json:"in"`
	Out        int    `json:"out"`
	Activation string `json:"activation"`
}

func architectureOf(m *pipeline.Model) Architecture {
	spec := func(l pipeline.Dense) LayerSpec {
		return LayerSpec{In: l.In, Out: l.Out, Activation: l.Activation.String()}
	}
	a := Architecture{Encoder: []LayerSpec{}, Mu: spec(m.Mu), Decoder: []LayerSpec{}}
	for _, l := range m.Encoder {
		a.Encoder = append(a.Encoder, spec(l))
	}
	for _, l := range m.Decoder {
		a.Decoder = append(a.Decoder, spec(l))
	}
	if usesLogVar(m) {
		lv := spec(m.LogVar)
		a.LogVar = &lv
		a.LogVarBound = m.LogVarBound
	}
	return a
}

// usesLogVar reports whether the graph of m computes the log-variance head.
func usesLogVar(m *pipeline.Model) bool { return m.Score == pipeline.ScoreELBO }

// FormatThreshold writes a threshold the way the vaejob.threshold entry holds
// it: the shortest decimal that parses back to the same float32.
func FormatThreshold(t float32) string {
	return strconv.FormatFloat(float64(t), 'g', -1, 32)
}

// Props returns the metadata_props entries Encode writes for m and meta, in
// file order.
func Props(m *pipeline.Model, meta Metadata) ([]Prop, error) {
	jsonOf := func(key string, v any) (string, error) {
		b, err := json.Marshal(v)
		if err != nil {
			return "", fmt.Errorf("metadata %s: %w", key, err)
		}
		return string(b), nil
	}
	features, err := jsonOf(KeyFeatureNames, m.Features)
	if err != nil {
		return nil, err
	}
	scaler, err := jsonOf(KeyScaler, m.Scaler)
	if err != nil {
		return nil, err
	}
	arch, err := jsonOf(KeyArchitecture, architectureOf(m))
	if err != nil {
		return nil, err
	}
	tv, err := jsonOf(KeyTestVector, meta.TestVector)
	if err != nil {
		return nil, err
	}
	props := []Prop{
		{KeyFormatVersion, formatVersion(m)},
		{KeyProducerVersion, meta.ProducerVersion},
		{KeyRunID, meta.RunID},
		{KeyFeatureNames, features},
		{KeyScoreKind, string(m.Score)},
		{KeyThreshold, FormatThreshold(m.Threshold)},
		{KeyThresholdMethod, m.ThresholdMethod},
		{KeyScaler, scaler},
		{KeyTrainingDataSHA256, meta.TrainingDataSHA256},
		{KeyArchitecture, arch},
		{KeyTestVector, tv},
	}
	for _, e := range []struct {
		key string
		v   []float32
	}{{KeyVariance, m.Variance}, {KeyLaplaceScale, m.LaplaceScale}} {
		if e.v == nil {
			continue
		}
		v, err := jsonOf(e.key, e.v)
		if err != nil {
			return nil, err
		}
		props = append(props, Prop{e.key, v})
	}
	if len(m.Constant) > 0 {
		names := make([]string, len(m.Constant))
		for i, j := range m.Constant {
			names[i] = m.Features[j]
		}
		v, err := jsonOf(KeyConstantFeatures, names)
		if err != nil {
			return nil, err
		}
		props = append(props, Prop{KeyConstantFeatures, v})
	}
	if len(m.Spikes) > 0 {
		v, err := jsonOf(KeySpikes, spikeSpecs(m))
		if err != nil {
			return nil, err
		}
		props = append(props, Prop{KeySpikes, v})
	}
	tail := m.Tail
	if tail == nil {
		tail = &pipeline.TailTable{} // no validation rows
	}
	tailJSON, err := jsonOf(KeyTailTable, tail)
	if err != nil {
		return nil, err
	}
	props = append(props, Prop{KeyTailTable, tailJSON})
	extra := make([]string, 0, len(meta.Extra))
	for k := range meta.Extra {
		if !strings.HasPrefix(k, "vaejob.") || len(k) == len("vaejob.") {
			return nil, fmt.Errorf("metadata key %q: extra keys must start with \"vaejob.\"", k)
		}
		if reservedKeys[k] {
			return nil, fmt.Errorf("metadata key %q is written by the encoder and cannot be set in Extra", k)
		}
		extra = append(extra, k)
	}
	sort.Strings(extra)
	for _, k := range extra {
		props = append(props, Prop{k, meta.Extra[k]})
	}
	return props, nil
}

// described is what metadata_props says of a model, read back before Decode
// checks it against the graph.
type described struct {
	version string          // vaejob.format_version
	model   *pipeline.Model // features, score kind, threshold method, variances, Laplace scales
	meta    Metadata
	arch    Architecture
	scaler  pipeline.Scaler
	// constant names the constant features.
	constant []string
	// spikes describes the spike features.
	spikes []spikeSpec
	// threshold is vaejob.threshold, and thresholdText the entry as written.
	threshold     float32
	thresholdText string
}

// readDescription reads back the metadata_props entries Props writes: each
// key at most once, the required ones present, and a format version this
// package reads. Entries it does not interpret go to Metadata.Extra.
func readDescription(props []Prop) (*described, error) {
	kv := map[string]string{}
	for _, p := range props {
		if _, dup := kv[p.Key]; dup {
			return nil, fmt.Errorf("metadata key %q appears twice", p.Key)
		}
		kv[p.Key] = p.Value
	}
	desc := &described{
		model: &pipeline.Model{ThresholdMethod: kv[KeyThresholdMethod]},
		meta: Metadata{
			ProducerVersion:    kv[KeyProducerVersion],
			RunID:              kv[KeyRunID],
			TrainingDataSHA256: kv[KeyTrainingDataSHA256],
		},
	}
	var err error
	if desc.version, err = required(kv, KeyFormatVersion); err != nil {
		return nil, err
	}
	if versions := []string{FormatVersion, spikelessFormatVersion, unexplainedFormatVersion, legacyFormatVersion}; !slices.Contains(versions, desc.version) {
		return nil, fmt.Errorf("metadata %s is %q, this version reads %q", KeyFormatVersion, desc.version, versions)
	}
	if err := desc.readJSON(kv); err != nil {
		return nil, err
	}
	score, err := required(kv, KeyScoreKind)
	if err != nil {
		return nil, err
	}
	desc.model.Score = pipeline.ScoreKind(score)
	if err := desc.readThreshold(kv); err != nil {
		return nil, err
	}
	for _, p := range props {
		if !reservedKeys[p.Key] {
			if desc.meta.Extra == nil {
				desc.meta.Extra = map[string]string{}
			}
			desc.meta.Extra[p.Key] = p.Value
		}
	}
	if len(desc.model.Features) == 0 {
		return nil, fmt.Errorf("metadata %s is empty", KeyFeatureNames)
	}
	return desc, nil
}

// required returns the entry key of kv, or an error naming it when it is
// missing.
func required(kv map[string]string, key string) (string, error) {
	v, ok := kv[key]
	if !ok {
		return "", fmt.Errorf("metadata %s is missing", key)
	}
	return v, nil
}

// readJSON reads the entries that hold JSON.
func (desc *described) readJSON(kv map[string]string) error {
	for _, e := range []struct {
		key  string
		dst  any
		need bool
	}{
		{KeyFeatureNames, &desc.model.Features, true},
		{KeyArchitecture, &desc.arch, true},
		{KeyScaler, &desc.scaler, true},
		{KeyTestVector, &desc.meta.TestVector, false},
		{KeyVariance, &desc.model.Variance, false},
		{KeyLaplaceScale, &desc.model.LaplaceScale, false},
		{KeyConstantFeatures, &desc.constant, false},
		{KeyTailTable, &desc.model.Tail, explained(desc.version)},
		{KeySpikes, &desc.spikes, desc.version == FormatVersion},
	} {
		v, ok := kv[e.key]
		if !ok {
			if e.need {
				return fmt.Errorf("metadata %s is missing", e.key)
			}
			continue
		}
		if err := json.Unmarshal([]byte(v), e.dst); err != nil {
			return fmt.Errorf("metadata %s: %w", e.key, err)
		}
	}
	if desc.model.Tail != nil && !explained(desc.version) {
		return fmt.Errorf("metadata %s in a file of format version %s, which has no tail probability", KeyTailTable, desc.version)
	}
	if _, ok := kv[KeySpikes]; ok && desc.version != FormatVersion {
		return fmt.Errorf("metadata %s in a file of format version %s, which has no spike features", KeySpikes, desc.version)
	}
	return nil
}

// readThreshold reads vaejob.threshold.
func (desc *described) readThreshold(kv map[string]string) error {
	text, err := required(kv, KeyThreshold)
	if err != nil {
		return err
	}
	thr, err := strconv.ParseFloat(text, 32)
	if err != nil {
		return fmt.Errorf("metadata %s: %w", KeyThreshold, err)
	}
	desc.threshold, desc.thresholdText = float32(thr), text
	return nil
}

// complete checks m, rebuilt from the graph, against the metadata (the
// threshold, the scaler's offsets and scales, the constant features, the
// spike features) and completes it with what only the metadata holds: the
// scaler's kind, minimums and maximums, the spikes' costs. The completed
// model must be valid.
func (desc *described) complete(m *pipeline.Model) error {
	if math.Float32bits(m.Threshold) != math.Float32bits(desc.threshold) {
		return fmt.Errorf("graph threshold %v differs from metadata %s %q", m.Threshold, KeyThreshold, desc.thresholdText)
	}
	sc := desc.scaler
	if !slices.Contains(pipeline.ScalerKinds, sc.Kind) {
		return fmt.Errorf("metadata %s: unknown scaler kind %q", KeyScaler, sc.Kind)
	}
	if !sameFloats(sc.Offset, m.Scaler.Offset) || !sameFloats(sc.Scale, m.Scaler.Scale) {
		return fmt.Errorf("metadata %s differs from the scaler in the graph", KeyScaler)
	}
	m.Scaler.Kind, m.Scaler.Min, m.Scaler.Max = sc.Kind, sc.Min, sc.Max
	if err := desc.completeSpikes(m); err != nil {
		return err
	}
	if err := m.Validate(); err != nil {
		return fmt.Errorf("decoded model is invalid: %w", err)
	}
	var graphConstant []string
	for _, j := range m.Constant {
		graphConstant = append(graphConstant, m.Features[j])
	}
	if !slices.Equal(graphConstant, desc.constant) {
		return fmt.Errorf("metadata %s %q differs from the constant features of the graph %q", KeyConstantFeatures, desc.constant, graphConstant)
	}
	if want := spikeSpecs(m); !slices.EqualFunc(desc.spikes, want, spikeSpec.same) {
		got, _ := json.Marshal(desc.spikes)
		wantJSON, _ := json.Marshal(want)
		return fmt.Errorf("metadata %s %s differs from the spike features of the graph %s", KeySpikes, got, wantJSON)
	}
	return nil
}

// completeSpikes sets the costs of m's spike features, rebuilt from the graph,
// to those of the metadata, and checks that the file's format version is
// the one for a model with (or without) spike features. The other fields
// of vaejob.spikes are checked once m is complete (see complete).
func (desc *described) completeSpikes(m *pipeline.Model) error {
	switch spiked := len(m.Spikes) > 0; {
	case spiked && desc.version != FormatVersion:
		return fmt.Errorf("the graph has spike features (initializer %q), which format version %s does not have", initSpikeMask, desc.version)
	case !spiked && desc.version == FormatVersion:
		return fmt.Errorf("format version %s without spike features (vaejob writes a model without them in version %s)", FormatVersion, spikelessFormatVersion)
	case len(desc.spikes) != len(m.Spikes):
		return fmt.Errorf("metadata %s lists %d spike features, the graph has %d", KeySpikes, len(desc.spikes), len(m.Spikes))
	}
	for i := range m.Spikes {
		m.Spikes[i].Cost = desc.spikes[i].Cost
	}
	return nil
}

// spikeSpec is one spike feature as vaejob.spikes describes it (see
// KeySpikes).
type spikeSpec struct {
	Feature     string   `json:"feature"`
	Value       *float32 `json:"value,omitempty"` // raw; nil when no raw value scales to the spike exactly
	ScaledValue float32  `json:"scaled_value"`
	Cost        float32  `json:"cost"`
}

// same reports whether s and t are equal, their numbers bit for bit.
func (s spikeSpec) same(t spikeSpec) bool {
	bits := math.Float32bits
	if (s.Value == nil) != (t.Value == nil) || s.Value != nil && bits(*s.Value) != bits(*t.Value) {
		return false
	}
	return s.Feature == t.Feature && bits(s.ScaledValue) == bits(t.ScaledValue) && bits(s.Cost) == bits(t.Cost)
}

// spikeSpecs returns the vaejob.spikes entries of m's spike features.
func spikeSpecs(m *pipeline.Model) []spikeSpec {
	specs := make([]spikeSpec, len(m.Spikes))
	for i, s := range m.Spikes {
		specs[i] = spikeSpec{Feature: m.Features[s.Feature], ScaledValue: s.Value, Cost: s.Cost}
		if raw, ok := m.RawSpike(s); ok {
			specs[i].Value = &raw
		}
	}
	return specs
}

// sameFloats reports whether a and b hold the same float32 bit patterns.
func sameFloats(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
}
