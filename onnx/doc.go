// Package onnx writes a trained vaejob model as one self-contained ONNX file
// and reads it back.
//
// # The file
//
// Encode writes a pipeline.Model as an ONNX ModelProto (IR version 7, default
// operator set 13), by hand with protowire, with no timestamps, so the same
// model and Metadata give the same bytes. The graph takes raw feature rows and
// does everything a service needs:
//
//	features  float32 [N, d]   raw values, in the order of vaejob.feature_names
//	checked   = missing value → impute_value or NaN     IsNaN, Abs, Greater, Or, Where
//	scaled    = (checked - scaler_offset) * scaler_scale                  Sub, Mul
//	          (constant features: the network sees the others)            Gather
//	hidden    = act(x · W + B) per encoder layer                    Gemm, Relu/Sigmoid
//	mu        = h · W + B                                           Gemm
//	recon     = act(x · W + B) per decoder layer                    Gemm, Relu/Sigmoid
//	          (spike features: spike_value where spike_mask)        Where
//	score     float32 [N] = mean over features of (scaled - recon)² Sub, Identity, Mul, Concat, ReduceMean
//	          (likelihood scores: (scaled - recon)² or |scaled - recon|
//	          weighted per feature, plus ½‖mu‖² or the KL term; Abs,
//	          Exp, Add, Tanh for the bounded log-variance; a spike
//	          feature off its spike adds its cost: Equal, Where, Add)
//	is_anomaly bool [N]   = score > threshold or score is NaN       Greater, IsNaN, Or
//	feature_scores float32 [N, d] = the per-feature terms before the mean,
//	          over d, in feature order                              Mul (Gather)
//	latent_score float32 [N] = ½‖mu‖² or the KL term, or 0          Identity or Where
//	tail_probability float32 [N] = the tail table's probability for the
//	          number of its edges below the score; 0 for NaN        Greater, Cast, ReduceSum, Gather, Where
//
// A row's feature_scores and latent_score sum to its score (within float32
// rounding); tail_probability is pipeline.TailTable's, read from the
// initializers tail_edge and tail_share.
//
// A missing value (as pipeline.IsMissing says) takes the training median when
// the model imputes, and NaN otherwise; a row with a NaN score is never
// silently normal. The LogVar head is written only when the score uses it
// (elbo_mu). Weights are initializers (not graph inputs), W stored [In, Out]
// as in pipeline.Dense with transB = 0.
//
// metadata_props carries the keys listed as Key constants, all prefixed
// "vaejob.": format and producer version, run id, feature names (JSON),
// threshold (as FormatThreshold writes it, equal to the graph's float32),
// threshold method, score kind, scaler (JSON), training data SHA-256,
// architecture (JSON), a test vector (JSON pipeline.TestVector: synthetic
// rows and their expected scores) that any runtime can use to check the file
// it loaded, and the tail table (JSON pipeline.TailTable). ReadMetadataProps
// reads them back. A model with spike features (pipeline.Model.Spikes) is
// written in format version 5, with the entry vaejob.spikes (see
// KeySpikes) and the initializers spike_mask (bool), spike_value and
// spike_cost over the features the network sees; any other model in
// format version 4, byte for byte as before version 5. Decode reads files
// of format versions 2 and 3 too (see FormatVersion), whose graphs have
// the outputs score and is_anomaly only.
//
// # Spike features
//
// The graph scores a spike feature as the Go scorer (pipeline.Scorer)
// does: its reconstruction is its spike (spike_recon: Where(spike_mask,
// spike_value, recon)); its difference diff from the scaled input gives
// the likelihood term as for any feature; and where diff is not exactly 0
// (spike_equal: Equal(diff, 0); a NaN diff is not 0) spike_penalty,
// Where(on_spike, 0, spike_cost), is added to the feature's deviation
// (spike_add) before the constant features' deviations join it. The
// costs are stored in the deviation's units, Cost · d / score_weight, so
// that the weighted mean adds each Cost; vaejob.spikes holds the costs
// themselves.
//
// # Reading it back
//
// Decode and DecodeGraph read the file in process with onnx-go
// (github.com/owulveryck/onnx-go), into a Backend of this package that
// records the values, initializer tensors and operations onnx-go reports.
// (onnx-go's own gorgonia backend lacks ReduceMean, Greater, Equal, IsNaN
// and Or.)
// onnx-go does not expose metadata_props, so that one field is read with
// protowire. Decode rebuilds the Model from the initializers and the
// metadata, checks that the graph's threshold and scaler equal the
// metadata's, writes the graph for that Model again and requires it to equal
// the file's byte for byte. Graph.Run evaluates the decoded graph node by
// node, which is onnx-go's answer to compare with the Go scorer
// (pipeline.Scorer); Verify makes that comparison, plus recorded scores and
// the embedded test vector, within Tolerance.
//
// # Who owns what
//
//   - encode.go: Encode, the versions and the names of the graph's input and
//     outputs.
//   - layout.go: the graph itself. encodeGraph writes it part by part
//     (missing values, scaler, constant features, network, spike
//     reconstructions, deviation with the spike costs, score terms, alert); it is the one definition of a vaejob graph, since Decode
//     compares a file's graph with what it writes.
//   - metadata.go: metadata_props both ways: the Key constants, Props
//     (writing) and readDescription (reading back and checking against the
//     rebuilt model).
//   - proto.go: the protobuf wire format: field numbers, the message writers
//     (tensor, node, value info, graph, model) and walk, the reader.
//   - decode.go: Decode and DecodeGraph: loading with onnx-go and rebuilding
//     the Model from the graph. prescan.go bounds what a hostile file can make
//     onnx-go allocate, before onnx-go sees it.
//   - backend.go and graph.go: the recording onnx-go Backend and the Graph
//     built from what it recorded.
//   - eval.go, operators.go, broadcast.go: Graph.Run and its work budget; the
//     operator table (each operator's arity and evaluator, the one list of
//     operators the evaluator runs); numpy broadcasting.
//   - verify.go: Verify, CheckTestVector and the score tolerance.
//
// # Errors and panics
//
// Everything that reads bytes of a file (Decode, DecodeGraph, Verify,
// ReadMetadataProps) returns an error for bad input and never panics: Decode
// and DecodeGraph wrap ErrFormat, a pre-scan bounds the shapes onnx-go would
// allocate, a panic inside onnx-go becomes an error, and Graph.Run refuses
// (with an error) a node that would exceed its work budget. Verify and
// CheckTestVector report disagreements with an error wrapping ErrMismatch.
// Encode returns an error for an invalid model. The other functions that
// take a *pipeline.Model (Props, CheckTestVector) assume a valid one, as
// pipeline.Model.Validate defines it; an invalid one is a programming error
// and may panic (a nil model, or a feature index out of range).
//
// The tests also run the ONNX checker (python3-onnx) and ONNX Runtime
// (onnxruntime-node, testdata/ort) on encoded files; see external_test.go.
package onnx
