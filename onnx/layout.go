package onnx

import (
	"fmt"
	"math"

	"github.com/vaejob/vaejob/pipeline"
)

// This file owns the graph Encode writes (see the package documentation for
// its layout): each part of the graph is written by one method of
// graphWriter, named for the part, in the order the parts appear. Decode
// reads a file back by writing the graph again and comparing the bytes, so
// this file is also the one definition of what a vaejob graph is.

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
	initZero           = "zero"
	initShareScale     = "share_scale"   // 1/d: a feature's share of a mean over d features
	initFeatureOrder   = "feature_order" // int64 position of each feature among the deviations
	initTailEdge       = "tail_edge"     // [T, 1] the tail table's edges
	initTailShare      = "tail_share"    // [T+1] the probability for each count of edges below
	initTailAxis       = "tail_axis"     // int64 [1] = {0}, ReduceSum's axes
	initSpikeMask      = "spike_mask"    // bool [dv]: which features the network sees are spike features
	initSpikeValue     = "spike_value"   // [dv] the spike of each spike feature, 0 elsewhere
	initSpikeCost      = "spike_cost"    // [dv] each spike's cost in deviation units (see spikeCostValues), 0 elsewhere
)

// graphDoc is the doc string of the graph.
const graphDoc = "score = ReduceMean((scaled - decoder(mu(encoder(scaled))))^2, axis 1) with scaled = (features - scaler_offset) * scaler_scale; is_anomaly = score > threshold or score is NaN."

// encodeGraph writes the graph of m in the layout of format version (one of
// FormatVersion, spikelessFormatVersion, unexplainedFormatVersion and
// legacyFormatVersion; Decode rebuilds earlier files with it). Version 2
// takes a missing value as NaN or ±Inf only, and leaves it to make the
// score NaN unless imputed; versions 2 and 3 have the outputs score and
// is_anomaly only. Version 5 is for a model with spike features, and the
// earlier ones for a model without.
func encodeGraph(m *pipeline.Model, version string) ([]byte, error) {
	legacy := version == legacyFormatVersion
	if spiked := len(m.Spikes) > 0; spiked != (version == FormatVersion) {
		if spiked {
			return nil, fmt.Errorf("format version %s has no spike features (version %s has)", version, FormatVersion)
		}
		return nil, fmt.Errorf("format version %s is for a model with spike features, and this one has none", version)
	}
	var w graphWriter
	raw := w.missingValues(m, legacy)
	w.scaler(m, raw)
	netIn, err := w.constantFeatures(m, legacy)
	if err != nil {
		return nil, err
	}
	recon, err := w.network(m, netIn)
	if err != nil {
		return nil, err
	}
	recon = w.spikeReconstruction(m, recon)
	deviation := w.deviation(m, netIn, recon)
	terms, latent, err := w.score(m, deviation)
	if err != nil {
		return nil, err
	}
	w.alert(m)
	d := int64(m.Dim())
	outputs := [][]byte{valueInfo(ScoreName, dataTypeFloat, dim{param: "N"}), valueInfo(IsAnomalyName, dataTypeBool, dim{param: "N"})}
	if explained(version) {
		w.scalar(initZero, 0) // also read by spikePenalties: version 5 is explained
		w.featureScores(m, terms)
		w.latentScore(latent)
		w.tailProbability(m)
		outputs = append(outputs,
			valueInfo(FeatureScoresName, dataTypeFloat, dim{param: "N"}, dim{value: d}),
			valueInfo(LatentScoreName, dataTypeFloat, dim{param: "N"}),
			valueInfo(TailProbabilityName, dataTypeFloat, dim{param: "N"}))
	}
	return graphProto{
		name:    "vaejob",
		doc:     graphDoc,
		nodes:   w.nodes,
		inits:   w.inits,
		inputs:  [][]byte{valueInfo(InputName, dataTypeFloat, dim{param: "N"}, dim{value: d})},
		outputs: outputs,
	}.encode(), nil
}

// graphWriter collects the nodes and initializers of a graph, each list in
// the order it is written.
type graphWriter struct {
	nodes, inits [][]byte
}

// node appends a node.
func (w *graphWriter) node(name, opType string, inputs, outputs []string, attrs ...attr) {
	w.nodes = append(w.nodes, nodeProto(name, opType, inputs, outputs, attrs...))
}

// initializer appends initializers.
func (w *graphWriter) initializer(tensors ...[]byte) { w.inits = append(w.inits, tensors...) }

// scalar appends a float32 scalar initializer.
func (w *graphWriter) scalar(name string, v float32) {
	w.initializer(floatTensor(name, nil, []float32{v}))
}

// missingValues writes the replacement of missing values and returns the
// name of the value the scaler reads. A missing value (NaN, ±Inf or beyond
// ±MaxFeatureMagnitude, as pipeline.IsMissing says) takes the training
// median, or NaN, which makes the score NaN and the row an anomaly. In the
// legacy layout a missing value is NaN or ±Inf, replaced only when the model
// imputes.
func (w *graphWriter) missingValues(m *pipeline.Model, legacy bool) string {
	d := int64(m.Dim())
	switch {
	case legacy && m.Imputation != nil:
		w.initializer(floatTensor(initImputeValue, []int64{d}, m.Imputation))
		w.node("impute_isnan", "IsNaN", []string{InputName}, []string{"features_isnan"})
		w.node("impute_isinf", "IsInf", []string{InputName}, []string{"features_isinf"})
		w.node("impute_missing", "Or", []string{"features_isnan", "features_isinf"}, []string{"features_missing"})
		w.node("impute_where", "Where", []string{"features_missing", initImputeValue, InputName}, []string{"features_imputed"})
		return "features_imputed"
	case legacy:
		return InputName
	}
	fill := initMissingValue
	if m.Imputation != nil {
		fill = initImputeValue
		w.initializer(floatTensor(initImputeValue, []int64{d}, m.Imputation))
	} else {
		w.scalar(initMissingValue, float32(math.NaN()))
	}
	w.scalar(initMissingBound, missingBound)
	w.node("missing_isnan", "IsNaN", []string{InputName}, []string{"features_isnan"})
	w.node("missing_abs", "Abs", []string{InputName}, []string{"features_abs"})
	w.node("missing_huge", "Greater", []string{"features_abs", initMissingBound}, []string{"features_huge"})
	w.node("missing_or", "Or", []string{"features_isnan", "features_huge"}, []string{"features_missing"})
	w.node("missing_where", "Where", []string{"features_missing", fill, InputName}, []string{"features_checked"})
	return "features_checked"
}

// scaler writes scaled = (raw - scaler_offset) · scaler_scale.
func (w *graphWriter) scaler(m *pipeline.Model, raw string) {
	d := int64(m.Dim())
	w.initializer(
		floatTensor(initScalerOffset, []int64{d}, m.Scaler.Offset),
		floatTensor(initScalerScale, []int64{d}, m.Scaler.Scale))
	w.node("scaler_sub", "Sub", []string{raw, initScalerOffset}, []string{"centered"})
	w.node("scaler_mul", "Mul", []string{"centered", initScalerScale}, []string{"scaled"})
}

// constantFeatures splits the scaled features when m has constant ones: the
// network sees the varying features ("network_input"); the constant ones
// ("constant_scaled"), whose reconstruction is 0, join the deviations. It
// returns the name of the network's input.
func (w *graphWriter) constantFeatures(m *pipeline.Model, legacy bool) (string, error) {
	if len(m.Constant) == 0 {
		return "scaled", nil
	}
	if legacy {
		return "", fmt.Errorf("format version %s has no constant features", legacyFormatVersion)
	}
	varying := pipeline.Varying(m.Dim(), m.Constant)
	w.initializer(
		int64Tensor(initVaryingIndex, []int64{int64(len(varying))}, int64s(varying)),
		int64Tensor(initConstantIndex, []int64{int64(len(m.Constant))}, int64s(m.Constant)))
	w.node("network_gather", "Gather", []string{"scaled", initVaryingIndex}, []string{"network_input"}, intAttr("axis", 1))
	w.node("constant_gather", "Gather", []string{"scaled", initConstantIndex}, []string{"constant_scaled"}, intAttr("axis", 1))
	return "network_input", nil
}

// int64s converts feature indices to the int64 elements of an index tensor.
func int64s(v []int) []int64 {
	out := make([]int64, len(v))
	for i, j := range v {
		out[i] = int64(j)
	}
	return out
}

// network writes the encoder, the log-variance head when the score uses it,
// the latent mean ("mu") and the decoder, and returns the name of the
// reconstruction.
func (w *graphWriter) network(m *pipeline.Model, in string) (string, error) {
	cur := in
	var err error
	for i := range m.Encoder {
		if cur, err = w.dense(fmt.Sprintf("enc%d", i), cur, &m.Encoder[i]); err != nil {
			return "", err
		}
	}
	if usesLogVar(m) {
		if err := w.logVar(m, cur); err != nil {
			return "", err
		}
	}
	if cur, err = w.dense("mu", cur, &m.Mu); err != nil {
		return "", err
	}
	for i := range m.Decoder {
		if cur, err = w.dense(fmt.Sprintf("dec%d", i), cur, &m.Decoder[i]); err != nil {
			return "", err
		}
	}
	return cur, nil
}

// dense writes layer l reading in: a Gemm with initializers prefix_W [In,
// Out] and prefix_B, then its activation. It returns the name of the
// layer's output, prefix.
func (w *graphWriter) dense(prefix, in string, l *pipeline.Dense) (string, error) {
	weights, bias := prefix+"_W", prefix+"_B"
	w.initializer(
		floatTensor(weights, []int64{int64(l.In), int64(l.Out)}, l.W),
		floatTensor(bias, []int64{int64(l.Out)}, l.B))
	out := prefix
	if l.Activation != pipeline.Identity {
		out = prefix + "_linear"
	}
	w.node(prefix+"_gemm", "Gemm", []string{in, weights, bias}, []string{out},
		floatAttr("alpha", 1), floatAttr("beta", 1), intAttr("transA", 0), intAttr("transB", 0))
	switch l.Activation {
	case pipeline.Identity:
	case pipeline.ReLU:
		w.node(prefix+"_relu", "Relu", []string{out}, []string{prefix})
	case pipeline.Sigmoid:
		w.node(prefix+"_sigmoid", "Sigmoid", []string{out}, []string{prefix})
	default:
		return "", fmt.Errorf("layer %s: unsupported activation %v", prefix, l.Activation)
	}
	return prefix, nil
}

// logVar writes the log-variance head ("logvar") reading the last hidden
// layer. With a bound B the head is lv = B · tanh(raw / B), the bound the
// model was trained with.
func (w *graphWriter) logVar(m *pipeline.Model, hidden string) error {
	b := m.LogVarBound
	if b <= 0 {
		_, err := w.dense("logvar", hidden, &m.LogVar)
		return err
	}
	if _, err := w.dense("logvar_raw", hidden, &m.LogVar); err != nil {
		return err
	}
	w.scalar(initLogVarInvBound, 1/b)
	w.scalar(initLogVarBound, b)
	w.node("logvar_shrink", "Mul", []string{"logvar_raw", initLogVarInvBound}, []string{"logvar_shrunk"})
	w.node("logvar_tanh", "Tanh", []string{"logvar_shrunk"}, []string{"logvar_tanh"})
	w.node("logvar_bound", "Mul", []string{"logvar_tanh", initLogVarBound}, []string{"logvar"})
	return nil
}

// spikeReconstruction replaces, when m has spike features, the
// reconstruction of each with its spike, as the Go scorer does:
// Where(spike_mask, spike_value, recon). It returns the name of the
// reconstruction the score reads.
func (w *graphWriter) spikeReconstruction(m *pipeline.Model, recon string) string {
	if len(m.Spikes) == 0 {
		return recon
	}
	dv := m.NetworkDim()
	mask := make([]bool, dv)
	values := make([]float32, dv)
	for k, i := range m.SpikesByNetworkFeature() {
		if i >= 0 {
			mask[k], values[k] = true, m.Spikes[i].Value
		}
	}
	w.initializer(
		boolTensor(initSpikeMask, []int64{int64(dv)}, mask),
		floatTensor(initSpikeValue, []int64{int64(dv)}, values))
	w.node("spike_recon", "Where", []string{initSpikeMask, initSpikeValue, recon}, []string{"spike_reconstruction"})
	return "spike_reconstruction"
}

// deviation writes the per-feature deviation of the reconstruction from the
// network's input, with the spike features' costs (see spikePenalties),
// followed by the constant features' deviation from 0 when there are
// constant features, and returns its name. It is the absolute error for a
// Laplace likelihood score and the squared error otherwise.
func (w *graphWriter) deviation(m *pipeline.Model, netIn, recon string) string {
	w.node("score_diff", "Sub", []string{netIn, recon}, []string{"diff"})
	laplace := m.LaplaceScale != nil && m.Score != pipeline.ScoreMSE
	deviation := "squared"
	if laplace {
		deviation = "absolute"
		w.node("score_abs", "Abs", []string{"diff"}, []string{deviation})
	} else {
		w.square("score_diff_copy", "score_square", "diff", deviation)
	}
	deviation = w.spikePenalties(m, deviation)
	if len(m.Constant) == 0 {
		return deviation
	}
	constant := "constant_squared"
	if laplace {
		constant = "constant_absolute"
		w.node("constant_abs", "Abs", []string{"constant_scaled"}, []string{constant})
	} else {
		w.square("constant_copy", "constant_square", "constant_scaled", constant)
	}
	w.node("score_concat", "Concat", []string{deviation, constant}, []string{"deviation"}, intAttr("axis", 1))
	return "deviation"
}

// spikePenalties adds, when m has spike features, each one's cost to its
// deviation where the row is off the spike (its difference from the
// spike, diff, is not 0; a NaN difference is off too, as in the Go
// scorer): deviation + Where(Equal(diff, 0), 0, spike_cost). spike_cost
// holds the costs in the deviation's units (see spikeCostValues), so that the
// score's weighted mean turns each into its cost. It returns the name of
// the deviations with the costs.
func (w *graphWriter) spikePenalties(m *pipeline.Model, deviation string) string {
	if len(m.Spikes) == 0 {
		return deviation
	}
	w.initializer(floatTensor(initSpikeCost, []int64{int64(m.NetworkDim())}, spikeCostValues(m)))
	w.node("spike_equal", "Equal", []string{"diff", initZero}, []string{"on_spike"})
	w.node("spike_penalty", "Where", []string{"on_spike", initZero, initSpikeCost}, []string{"spike_penalty"})
	out := deviation + "_with_spikes"
	w.node("spike_add", "Add", []string{deviation, "spike_penalty"}, []string{out})
	return out
}

// spikeCostValues returns the initializer spike_cost of m: for each feature the
// network sees, its spike's Cost · d / w, w its score weight (see
// scoreWeights; the float32 the graph multiplies by), so that the weighted
// mean over the d features adds the Cost; 0 for the features without a
// spike.
func spikeCostValues(m *pipeline.Model) []float32 {
	weights := scoreWeights(m) // the varying features first, as here
	d := float64(m.Dim())
	costs := make([]float32, m.NetworkDim())
	for k, i := range m.SpikesByNetworkFeature() {
		if i >= 0 {
			costs[k] = float32(float64(m.Spikes[i].Cost) * d / float64(weights[k]))
		}
	}
	return costs
}

// square writes out = in · in from nodes copyNode and squareNode. The second
// operand goes through Identity: onnx-go's gonum graph keeps one edge per
// pair of nodes, so Mul(in, in) would lose an input there.
func (w *graphWriter) square(copyNode, squareNode, in, out string) {
	w.node(copyNode, "Identity", []string{in}, []string{in + "_copy"})
	w.node(squareNode, "Mul", []string{in, in + "_copy"}, []string{out})
}

// score writes the score of m's kind from the deviation: its mean for MSE,
// the weighted negative log-likelihood, plus ½‖mu‖² or the KL term. It
// returns the names of the per-feature terms whose mean is the score's
// reconstruction part (in the order of the deviations) and of its latent
// term ("" for a kind without one).
func (w *graphWriter) score(m *pipeline.Model, deviation string) (terms, latent string, err error) {
	switch m.Score {
	case pipeline.ScoreMSE:
		w.node("score_mean", "ReduceMean", []string{deviation}, []string{ScoreName}, intsAttr("axes", 1), intAttr("keepdims", 0))
		return deviation, "", nil
	case pipeline.ScoreNLL:
		return w.negativeLogLikelihood(m, deviation, ScoreName), "", nil
	case pipeline.ScoreNLLLatent:
		terms = w.negativeLogLikelihood(m, deviation, "nll")
		w.square("latent_mu_copy", "latent_mu_square", "mu", "mu_squared")
		w.latentHalfSum(m, "mu_squared", "latent")
		w.node("score_add", "Add", []string{"nll", "latent"}, []string{ScoreName})
		return terms, "latent", nil
	case pipeline.ScoreELBO:
		terms = w.negativeLogLikelihood(m, deviation, "nll")
		w.klDivergence(m)
		w.node("score_add", "Add", []string{"nll", "kl"}, []string{ScoreName})
		return terms, "kl", nil
	}
	return "", "", fmt.Errorf("unsupported score kind %q", m.Score)
}

// negativeLogLikelihood writes out = the mean over features of the
// deviation weighted by scoreWeights: the negative log-likelihood up to a
// constant. It returns the name of the weighted deviations.
func (w *graphWriter) negativeLogLikelihood(m *pipeline.Model, deviation, out string) string {
	w.initializer(floatTensor(initScoreWeight, []int64{int64(m.Dim())}, scoreWeights(m)))
	w.node("score_weigh", "Mul", []string{deviation, initScoreWeight}, []string{"weighted"})
	w.node("score_nll", "ReduceMean", []string{"weighted"}, []string{out}, intsAttr("axes", 1), intAttr("keepdims", 0))
	return "weighted"
}

// klDivergence writes kl = ½ Σ (mu² + exp(lv) - lv - 1) over the latent
// units.
func (w *graphWriter) klDivergence(m *pipeline.Model) {
	w.square("latent_mu_copy", "latent_mu_square", "mu", "mu_squared")
	w.scalar(initOne, 1)
	w.node("kl_exp", "Exp", []string{"logvar"}, []string{"var"})
	w.node("kl_add", "Add", []string{"mu_squared", "var"}, []string{"kl_a"})
	w.node("kl_sub_lv", "Sub", []string{"kl_a", "logvar"}, []string{"kl_b"})
	w.node("kl_sub_one", "Sub", []string{"kl_b", initOne}, []string{"kl_elems"})
	w.latentHalfSum(m, "kl_elems", "kl")
}

// latentHalfSum writes out = ½ Σ in over the latent units, as ReduceMean of
// in · L/2.
func (w *graphWriter) latentHalfSum(m *pipeline.Model, in, out string) {
	w.scalar(initLatentScale, float32(m.LatentDim())/2)
	w.node(out+"_scale", "Mul", []string{in, initLatentScale}, []string{out + "_scaled"})
	w.node(out+"_sum", "ReduceMean", []string{out + "_scaled"}, []string{out}, intsAttr("axes", 1), intAttr("keepdims", 0))
}

// alert writes is_anomaly = score > threshold or score is NaN.
func (w *graphWriter) alert(m *pipeline.Model) {
	w.scalar(initThreshold, m.Threshold)
	w.node("alert_greater", "Greater", []string{ScoreName, initThreshold}, []string{"above_threshold"})
	w.node("alert_isnan", "IsNaN", []string{ScoreName}, []string{"score_is_nan"})
	w.node("alert_or", "Or", []string{"above_threshold", "score_is_nan"}, []string{IsAnomalyName})
}

// featureScores writes feature_scores = terms / d, each feature's share of
// the score's mean over the d features, in the order of the features: the
// terms are in the order of the deviations (the varying features, then the
// constant ones), which a Gather puts back when m has constant features.
func (w *graphWriter) featureScores(m *pipeline.Model, terms string) {
	d := m.Dim()
	w.scalar(initShareScale, float32(1/float64(d)))
	if len(m.Constant) == 0 {
		w.node("explain_share", "Mul", []string{terms, initShareScale}, []string{FeatureScoresName})
		return
	}
	order := make([]int64, d)
	for pos, j := range append(pipeline.Varying(d, m.Constant), m.Constant...) {
		order[j] = int64(pos)
	}
	w.initializer(int64Tensor(initFeatureOrder, []int64{int64(d)}, order))
	w.node("explain_share", "Mul", []string{terms, initShareScale}, []string{"shares_by_deviation"})
	w.node("explain_order", "Gather", []string{"shares_by_deviation", initFeatureOrder}, []string{FeatureScoresName}, intAttr("axis", 1))
}

// latentScore writes latent_score: the latent term, or 0 for every row
// (Where on the score's NaN test, both branches 0) when the score has none.
func (w *graphWriter) latentScore(latent string) {
	if latent == "" {
		w.node("latent_none", "Where", []string{"score_is_nan", initZero, initZero}, []string{LatentScoreName})
		return
	}
	w.node("latent_out", "Identity", []string{latent}, []string{LatentScoreName})
}

// tailProbability writes tail_probability from m's tail table (see
// pipeline.TailTable.Lookup): the number of edges below the score, counted
// as Σ Cast(score > edge) over the table, picks the probability; a NaN
// score gets 0.
func (w *graphWriter) tailProbability(m *pipeline.Model) {
	edges, prob := m.Tail.Lookup()
	w.initializer(
		floatTensor(initTailEdge, []int64{int64(len(edges)), 1}, edges),
		floatTensor(initTailShare, []int64{int64(len(prob))}, prob),
		int64Tensor(initTailAxis, []int64{1}, []int64{0}))
	w.node("tail_above", "Greater", []string{ScoreName, initTailEdge}, []string{"tail_above"})
	w.node("tail_cast", "Cast", []string{"tail_above"}, []string{"tail_above_count"}, intAttr("to", dataTypeInt64))
	w.node("tail_count", "ReduceSum", []string{"tail_above_count", initTailAxis}, []string{"tail_index"}, intAttr("keepdims", 0))
	w.node("tail_lookup", "Gather", []string{initTailShare, "tail_index"}, []string{"tail_share_of_score"}, intAttr("axis", 0))
	w.node("tail_nan", "Where", []string{"score_is_nan", initZero, "tail_share_of_score"}, []string{TailProbabilityName})
}

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
