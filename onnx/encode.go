package onnx

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/vaejob/vaejob/pipeline"
)

// The ONNX versions the encoder writes: IR version 7 with the default-domain
// operator set 13 is read by ONNX Runtime 1.10 and newer and by the onnx 1.12
// checker.
const (
	IRVersion    = 7
	OpsetVersion = 13
	ProducerName = "vaejob"
)

// FormatVersion is the value of the vaejob.format_version metadata entry. It
// changes when the graph layout or the meaning of a metadata entry changes.
// Version 3 treats values beyond ±pipeline.MaxFeatureMagnitude as missing
// and adds constant features (vaejob.constant_features); Decode still reads
// version 2 files.
const FormatVersion = "3"

// legacyFormatVersion is the earlier format Decode still reads: missing
// meant NaN or ±Inf only, and no feature was constant.
const legacyFormatVersion = "2"

// Names of the graph's input and outputs.
const (
	InputName     = "features"
	ScoreName     = "score"
	IsAnomalyName = "is_anomaly"
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
)

var reservedKeys = map[string]bool{
	KeyFormatVersion: true, KeyProducerVersion: true, KeyRunID: true,
	KeyFeatureNames: true, KeyScoreKind: true, KeyThreshold: true,
	KeyThresholdMethod: true, KeyScaler: true, KeyTrainingDataSHA256: true,
	KeyArchitecture: true, KeyTestVector: true, KeyVariance: true, KeyLaplaceScale: true,
	KeyConstantFeatures: true,
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
		{KeyFormatVersion, FormatVersion},
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

// Value names and initializer names in the graph.
const (
	initImputeValue    = "impute_value"   // per-feature training medians
	initMissingValue   = "missing_value"  // NaN, for a missing value without imputation
	initMissingBound   = "missing_bound"  // the largest float32 ≤ pipeline.MaxFeatureMagnitude
	initVaryingIndex   = "varying_index"  // int64 indices of the features the network sees
	initConstantIndex  = "constant_index" // int64 indices of the constant features
	initScalerOffset   = "scaler_offset"
	initScalerScale    = "scaler_scale"
	initThreshold      = "threshold"
	initScoreWeight    = "score_weight" // d / (2 σ²) or d / b per feature, for ReduceMean
	initLatentScale    = "latent_scale" // L / 2, for ReduceMean over the latent units
	initOne            = "one"
	initLogVarBound    = "logvar_bound_value"
	initLogVarInvBound = "logvar_inverse_bound"
)

// scoreWeights returns the per-feature factors of the likelihood scores:
// ReduceMean over d features of (x - x̂)² · d/(2σ²) is ½ Σ (x - x̂)²/σ², and
// of |x - x̂| · d/b is Σ |x - x̂|/b. They are in the order of the graph's
// deviations: the varying features, then the constant ones.
func scoreWeights(m *pipeline.Model) []float32 {
	d := float64(m.Dim())
	order := append(pipeline.Varying(m.Dim(), m.Constant), m.Constant...)
	w := make([]float32, 0, len(order))
	for _, j := range order {
		if m.LaplaceScale != nil {
			w = append(w, float32(d/float64(m.LaplaceScale[j])))
		} else {
			w = append(w, float32(d/(2*float64(m.Variance[j]))))
		}
	}
	return w
}

// missingBound is the largest float32 not above pipeline.MaxFeatureMagnitude:
// for a float32 x, |x| > missingBound exactly when pipeline.IsMissing(x)
// says so for a non-NaN x.
var missingBound = largestFloat32NotAbove(pipeline.MaxFeatureMagnitude)

// largestFloat32NotAbove returns the largest float32 x with x <= b.
func largestFloat32NotAbove(b float64) float32 {
	x := float32(b)
	if float64(x) > b {
		x = math.Nextafter32(x, float32(math.Inf(-1)))
	}
	return x
}

// Encode writes m as an ONNX ModelProto (IR version 7, opset 13): raw float32
// rows in as input "features" [N, d], outputs "score" [N] and "is_anomaly"
// [N], with the scaler, the network from the input to the reconstruction at
// the latent mean, the score and the threshold inside the graph. The LogVar
// head is not written: scoring does not use it. The same m and meta give the
// same bytes.
func Encode(m *pipeline.Model, meta Metadata) ([]byte, error) {
	if m == nil {
		return nil, fmt.Errorf("encode onnx: nil model")
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("encode onnx: invalid model: %w", err)
	}
	props, err := Props(m, meta)
	if err != nil {
		return nil, fmt.Errorf("encode onnx: %w", err)
	}
	graph, err := encodeGraph(m, false)
	if err != nil {
		return nil, fmt.Errorf("encode onnx: %w", err)
	}

	var model msg
	model.int64(fModelIRVersion, IRVersion)
	model.string(fModelProducerName, ProducerName)
	if meta.ProducerVersion != "" {
		model.string(fModelProducerVersion, meta.ProducerVersion)
	}
	model.string(fModelDocString, "vaejob VAE anomaly detector: raw feature rows in, reconstruction-error score and alert flag out.")
	model.bytes(fModelGraph, graph)
	var opset msg
	opset.string(fOpsetDomain, "")
	opset.int64(fOpsetVersion, OpsetVersion)
	model.bytes(fModelOpsetImport, opset)
	for _, p := range props {
		var e msg
		e.string(fEntryKey, p.Key)
		e.string(fEntryValue, p.Value)
		model.bytes(fModelMetadataProps, e)
	}
	return model, nil
}

// encodeGraph writes the graph of m. legacy writes the layout of format
// version 2 (Decode rebuilds version 2 files with it): a missing value is NaN
// or ±Inf only, and it is left to make the score NaN unless imputed.
func encodeGraph(m *pipeline.Model, legacy bool) ([]byte, error) {
	d := int64(m.Dim())
	var nodes, inits [][]byte
	raw := InputName
	switch {
	case legacy && m.Imputation != nil:
		// A missing value (NaN, or ±Inf) takes the training median.
		inits = append(inits, floatTensor(initImputeValue, []int64{d}, m.Imputation))
		nodes = append(nodes,
			nodeProto("impute_isnan", "IsNaN", []string{InputName}, []string{"features_isnan"}),
			nodeProto("impute_isinf", "IsInf", []string{InputName}, []string{"features_isinf"}),
			nodeProto("impute_missing", "Or", []string{"features_isnan", "features_isinf"}, []string{"features_missing"}),
			nodeProto("impute_where", "Where", []string{"features_missing", initImputeValue, InputName}, []string{"features_imputed"}))
		raw = "features_imputed"
	case !legacy:
		// A missing value (NaN, ±Inf or beyond ±MaxFeatureMagnitude, as
		// pipeline.IsMissing says) takes the training median, or NaN,
		// which makes the score NaN and the row an anomaly.
		fill := initMissingValue
		if m.Imputation != nil {
			fill = initImputeValue
			inits = append(inits, floatTensor(initImputeValue, []int64{d}, m.Imputation))
		} else {
			inits = append(inits, floatTensor(initMissingValue, nil, []float32{float32(math.NaN())}))
		}
		inits = append(inits, floatTensor(initMissingBound, nil, []float32{missingBound}))
		nodes = append(nodes,
			nodeProto("missing_isnan", "IsNaN", []string{InputName}, []string{"features_isnan"}),
			nodeProto("missing_abs", "Abs", []string{InputName}, []string{"features_abs"}),
			nodeProto("missing_huge", "Greater", []string{"features_abs", initMissingBound}, []string{"features_huge"}),
			nodeProto("missing_or", "Or", []string{"features_isnan", "features_huge"}, []string{"features_missing"}),
			nodeProto("missing_where", "Where", []string{"features_missing", fill, InputName}, []string{"features_checked"}))
		raw = "features_checked"
	}
	inits = append(inits,
		floatTensor(initScalerOffset, []int64{d}, m.Scaler.Offset),
		floatTensor(initScalerScale, []int64{d}, m.Scaler.Scale))
	nodes = append(nodes,
		nodeProto("scaler_sub", "Sub", []string{raw, initScalerOffset}, []string{"centered"}),
		nodeProto("scaler_mul", "Mul", []string{"centered", initScalerScale}, []string{"scaled"}))
	netIn := "scaled"
	if len(m.Constant) > 0 {
		if legacy {
			return nil, fmt.Errorf("format version %s has no constant features", legacyFormatVersion)
		}
		// The network sees the varying features; the constant ones, whose
		// reconstruction is 0, join the deviations below.
		index := func(v []int) []int64 {
			out := make([]int64, len(v))
			for i, j := range v {
				out[i] = int64(j)
			}
			return out
		}
		varying := pipeline.Varying(m.Dim(), m.Constant)
		inits = append(inits,
			int64Tensor(initVaryingIndex, []int64{int64(len(varying))}, index(varying)),
			int64Tensor(initConstantIndex, []int64{int64(len(m.Constant))}, index(m.Constant)))
		nodes = append(nodes,
			nodeProto("network_gather", "Gather", []string{"scaled", initVaryingIndex}, []string{"network_input"}, intAttr("axis", 1)),
			nodeProto("constant_gather", "Gather", []string{"scaled", initConstantIndex}, []string{"constant_scaled"}, intAttr("axis", 1)))
		netIn = "network_input"
	}

	cur := netIn
	dense := func(prefix string, l *pipeline.Dense) error {
		w, b := prefix+"_W", prefix+"_B"
		inits = append(inits,
			floatTensor(w, []int64{int64(l.In), int64(l.Out)}, l.W),
			floatTensor(b, []int64{int64(l.Out)}, l.B))
		out := prefix
		if l.Activation != pipeline.Identity {
			out = prefix + "_linear"
		}
		nodes = append(nodes, nodeProto(prefix+"_gemm", "Gemm", []string{cur, w, b}, []string{out},
			floatAttr("alpha", 1), floatAttr("beta", 1), intAttr("transA", 0), intAttr("transB", 0)))
		switch l.Activation {
		case pipeline.Identity:
		case pipeline.ReLU:
			nodes = append(nodes, nodeProto(prefix+"_relu", "Relu", []string{out}, []string{prefix}))
		case pipeline.Sigmoid:
			nodes = append(nodes, nodeProto(prefix+"_sigmoid", "Sigmoid", []string{out}, []string{prefix}))
		default:
			return fmt.Errorf("layer %s: unsupported activation %v", prefix, l.Activation)
		}
		cur = prefix
		return nil
	}
	for i := range m.Encoder {
		if err := dense(fmt.Sprintf("enc%d", i), &m.Encoder[i]); err != nil {
			return nil, err
		}
	}
	hidden := cur
	if usesLogVar(m) {
		if b := m.LogVarBound; b > 0 {
			// lv = B · tanh(raw / B): the bound the model was trained with.
			if err := dense("logvar_raw", &m.LogVar); err != nil {
				return nil, err
			}
			inits = append(inits,
				floatTensor(initLogVarInvBound, nil, []float32{1 / b}),
				floatTensor(initLogVarBound, nil, []float32{b}))
			nodes = append(nodes,
				nodeProto("logvar_shrink", "Mul", []string{"logvar_raw", initLogVarInvBound}, []string{"logvar_shrunk"}),
				nodeProto("logvar_tanh", "Tanh", []string{"logvar_shrunk"}, []string{"logvar_tanh"}),
				nodeProto("logvar_bound", "Mul", []string{"logvar_tanh", initLogVarBound}, []string{"logvar"}))
		} else if err := dense("logvar", &m.LogVar); err != nil {
			return nil, err
		}
		cur = hidden
	}
	if err := dense("mu", &m.Mu); err != nil {
		return nil, err
	}
	for i := range m.Decoder {
		if err := dense(fmt.Sprintf("dec%d", i), &m.Decoder[i]); err != nil {
			return nil, err
		}
	}
	recon := cur

	// The squared error. The second operand of each square goes through
	// Identity: onnx-go's gonum graph keeps one edge per pair of nodes, so
	// Mul(diff, diff) would lose an input there.
	nodes = append(nodes, nodeProto("score_diff", "Sub", []string{netIn, recon}, []string{"diff"}))
	deviation := "squared"
	if m.LaplaceScale != nil && m.Score != pipeline.ScoreMSE {
		// A Laplace likelihood score measures the absolute error.
		deviation = "absolute"
		nodes = append(nodes, nodeProto("score_abs", "Abs", []string{"diff"}, []string{deviation}))
		if len(m.Constant) > 0 {
			nodes = append(nodes,
				nodeProto("constant_abs", "Abs", []string{"constant_scaled"}, []string{"constant_absolute"}),
				nodeProto("score_concat", "Concat", []string{"absolute", "constant_absolute"}, []string{"deviation"}, intAttr("axis", 1)))
			deviation = "deviation"
		}
	} else {
		nodes = append(nodes,
			nodeProto("score_diff_copy", "Identity", []string{"diff"}, []string{"diff_copy"}),
			nodeProto("score_square", "Mul", []string{"diff", "diff_copy"}, []string{"squared"}))
		if len(m.Constant) > 0 {
			nodes = append(nodes,
				nodeProto("constant_copy", "Identity", []string{"constant_scaled"}, []string{"constant_scaled_copy"}),
				nodeProto("constant_square", "Mul", []string{"constant_scaled", "constant_scaled_copy"}, []string{"constant_squared"}),
				nodeProto("score_concat", "Concat", []string{"squared", "constant_squared"}, []string{"deviation"}, intAttr("axis", 1)))
			deviation = "deviation"
		}
	}
	L := int64(m.LatentDim())
	latentMean := func(in, out string) {
		// ReduceMean over the latent units of in · L/2 is ½ Σ in.
		inits = append(inits, floatTensor(initLatentScale, nil, []float32{float32(L) / 2}))
		nodes = append(nodes,
			nodeProto(out+"_scale", "Mul", []string{in, initLatentScale}, []string{out + "_scaled"}),
			nodeProto(out+"_sum", "ReduceMean", []string{out + "_scaled"}, []string{out}, intsAttr("axes", 1), intAttr("keepdims", 0)))
	}
	switch m.Score {
	case pipeline.ScoreMSE:
		nodes = append(nodes, nodeProto("score_mean", "ReduceMean", []string{deviation}, []string{ScoreName},
			intsAttr("axes", 1), intAttr("keepdims", 0)))
	case pipeline.ScoreNLL, pipeline.ScoreELBO, pipeline.ScoreNLLLatent:
		nll := ScoreName
		if m.Score != pipeline.ScoreNLL {
			nll = "nll"
		}
		inits = append(inits, floatTensor(initScoreWeight, []int64{d}, scoreWeights(m)))
		nodes = append(nodes,
			nodeProto("score_weigh", "Mul", []string{deviation, initScoreWeight}, []string{"weighted"}),
			nodeProto("score_nll", "ReduceMean", []string{"weighted"}, []string{nll}, intsAttr("axes", 1), intAttr("keepdims", 0)))
		muSquared := func() {
			nodes = append(nodes,
				nodeProto("latent_mu_copy", "Identity", []string{"mu"}, []string{"mu_copy"}),
				nodeProto("latent_mu_square", "Mul", []string{"mu", "mu_copy"}, []string{"mu_squared"}))
		}
		switch m.Score {
		case pipeline.ScoreNLLLatent:
			muSquared()
			latentMean("mu_squared", "latent")
			nodes = append(nodes, nodeProto("score_add", "Add", []string{"nll", "latent"}, []string{ScoreName}))
		case pipeline.ScoreELBO:
			// KL = ½ Σ (mu² + exp(lv) - lv - 1).
			muSquared()
			inits = append(inits, floatTensor(initOne, nil, []float32{1}))
			nodes = append(nodes,
				nodeProto("kl_exp", "Exp", []string{"logvar"}, []string{"var"}),
				nodeProto("kl_add", "Add", []string{"mu_squared", "var"}, []string{"kl_a"}),
				nodeProto("kl_sub_lv", "Sub", []string{"kl_a", "logvar"}, []string{"kl_b"}),
				nodeProto("kl_sub_one", "Sub", []string{"kl_b", initOne}, []string{"kl_elems"}))
			latentMean("kl_elems", "kl")
			nodes = append(nodes, nodeProto("score_add", "Add", []string{"nll", "kl"}, []string{ScoreName}))
		}
	default:
		return nil, fmt.Errorf("unsupported score kind %q", m.Score)
	}
	inits = append(inits, floatTensor(initThreshold, nil, []float32{m.Threshold}))
	nodes = append(nodes,
		nodeProto("alert_greater", "Greater", []string{ScoreName, initThreshold}, []string{"above_threshold"}),
		nodeProto("alert_isnan", "IsNaN", []string{ScoreName}, []string{"score_is_nan"}),
		nodeProto("alert_or", "Or", []string{"above_threshold", "score_is_nan"}, []string{IsAnomalyName}),
	)

	var g msg
	for _, n := range nodes {
		g.bytes(fGraphNode, n)
	}
	g.string(fGraphName, "vaejob")
	for _, t := range inits {
		g.bytes(fGraphInitializer, t)
	}
	g.string(fGraphDocString, "score = ReduceMean((scaled - decoder(mu(encoder(scaled))))^2, axis 1) with scaled = (features - scaler_offset) * scaler_scale; is_anomaly = score > threshold or score is NaN.")
	g.bytes(fGraphInput, valueInfo(InputName, dataTypeFloat, dim{param: "N"}, dim{value: d}))
	g.bytes(fGraphOutput, valueInfo(ScoreName, dataTypeFloat, dim{param: "N"}))
	g.bytes(fGraphOutput, valueInfo(IsAnomalyName, dataTypeBool, dim{param: "N"}))
	return g, nil
}
