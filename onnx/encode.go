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

// FormatVersion is the value of the vaejob.format_version metadata entry. It
// changes when the graph layout or the meaning of a metadata entry changes.
// Version 3 treats values beyond ±pipeline.MaxFeatureMagnitude as missing
// and adds constant features (vaejob.constant_features); version 4 adds the
// outputs feature_scores, latent_score and tail_probability, and the tail
// table (vaejob.tail_table). Decode still reads version 2 and 3 files.
const FormatVersion = "4"

// Earlier formats Decode still reads: version 3 has the outputs score and
// is_anomaly only; in version 2, moreover, missing meant NaN or ±Inf only,
// and no feature was constant.
const (
	unexplainedFormatVersion = "3"
	legacyFormatVersion      = "2"
)

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
	if version != FormatVersion {
		return []string{ScoreName, IsAnomalyName}
	}
	return []string{ScoreName, IsAnomalyName, FeatureScoresName, LatentScoreName, TailProbabilityName}
}

// Encode writes m as an ONNX ModelProto (IR version 7, opset 13): raw float32
// rows in as input "features" [N, d], outputs "score" [N], "is_anomaly"
// [N], "feature_scores" [N, d], "latent_score" [N] and "tail_probability"
// [N], with the scaler, the network from the input to the reconstruction at
// the latent mean, the score, the threshold and the tail table inside the graph (the graph
// is written by encodeGraph, layout.go). The LogVar head is written only
// when the score uses it. The same m and meta give the same bytes.
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
	graph, err := encodeGraph(m, FormatVersion)
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
