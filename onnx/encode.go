package onnx

import (
	"fmt"

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

// FormatVersion is the newest value of the vaejob.format_version metadata
// entry. It changes when the graph layout or the meaning of a metadata entry
// changes. Version 3 treats values beyond ±pipeline.MaxFeatureMagnitude as
// missing and adds constant features (vaejob.constant_features); version 4
// adds the outputs feature_scores, latent_score and tail_probability, and
// the tail table (vaejob.tail_table); version 5 adds spike features
// (pipeline.Model.Spikes, vaejob.spikes, the initializers spike_mask,
// spike_value and spike_cost).
//
// Encode writes version 5 only for a model with spike features, and
// version 4 for any other, whose file is then byte for byte what vaejob
// wrote before version 5 (and what earlier readers read). Decode reads
// versions 2 to 5; it refuses a version 5 file without spike features and
// an earlier one with them.
const FormatVersion = "5"

// Earlier formats Decode still reads: version 4 is what Encode writes for a
// model without spike features; version 3 has the outputs score and
// is_anomaly only; in version 2, moreover, missing meant NaN or ±Inf only,
// and no feature was constant.
const (
	spikelessFormatVersion   = "4"
	unexplainedFormatVersion = "3"
	legacyFormatVersion      = "2"
)

// formatVersion returns the format version Encode writes for m: the
// newest for a model with spike features, and otherwise the last before
// them.
func formatVersion(m *pipeline.Model) string {
	if len(m.Spikes) > 0 {
		return FormatVersion
	}
	return spikelessFormatVersion
}

// explained reports whether files of format version have the outputs
// feature_scores, latent_score and tail_probability, and a tail table.
func explained(version string) bool {
	return version == FormatVersion || version == spikelessFormatVersion
}

// Names of the graph's input and outputs.
const (
	InputName     = "features"
	ScoreName     = "score"
	IsAnomalyName = "is_anomaly"
	// FeatureScoresName is each feature's additive share of the score
	// [N, d], in the order of vaejob.feature_names; LatentScoreName the
	// score's latent term [N] (0 for score kinds without one): a row's
	// feature scores and latent score sum to its score (see
	// pipeline.Scorer.ScoreParts).
	FeatureScoresName = "feature_scores"
	LatentScoreName   = "latent_score"
	// TailProbabilityName is the share of validation rows scoring at least
	// as high as the row [N] (see pipeline.TailTable).
	TailProbabilityName = "tail_probability"
)

// outputNames returns the graph outputs of a file of format version.
func outputNames(version string) []string {
	if !explained(version) {
		return []string{ScoreName, IsAnomalyName}
	}
	return []string{ScoreName, IsAnomalyName, FeatureScoresName, LatentScoreName, TailProbabilityName}
}

// Encode writes m as an ONNX ModelProto (IR version 7, opset 13): raw float32
// rows in as input "features" [N, d], outputs "score" [N], "is_anomaly"
// [N], "feature_scores" [N, d], "latent_score" [N] and "tail_probability"
// [N], with the scaler, the network from the input to the reconstruction at
// the latent mean, the spike features, the score, the threshold and the
// tail table inside the graph (the graph is written by encodeGraph,
// layout.go), in format version 5 for a model with spike features and 4
// otherwise (see FormatVersion). The LogVar head is written only when the
// score uses it. The same m and meta give the same bytes.
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
	graph, err := encodeGraph(m, formatVersion(m))
	if err != nil {
		return nil, fmt.Errorf("encode onnx: %w", err)
	}
	return modelProto{
		producerName:    ProducerName,
		producerVersion: meta.ProducerVersion,
		doc:             modelDoc,
		graph:           graph,
		props:           props,
	}.encode(), nil
}

// modelDoc is the doc string of the ModelProto.
const modelDoc = "vaejob VAE anomaly detector: raw feature rows in, reconstruction-error score and alert flag out."
