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
//	scaled    = (features - scaler_offset) * scaler_scale              Sub, Mul
//	hidden    = act(x · W + B) per encoder layer                    Gemm, Relu/Sigmoid
//	mu        = h · W + B                                           Gemm
//	recon     = act(x · W + B) per decoder layer                    Gemm, Relu/Sigmoid
//	score     float32 [N] = mean over features of (scaled - recon)² Sub, Identity, Mul, ReduceMean
//	          (likelihood scores: (scaled - recon)² or |scaled - recon|
//	          weighted per feature, plus ½‖mu‖² or the KL term; Abs,
//	          Exp, Add, Tanh for the bounded log-variance)
//	is_anomaly bool [N]   = score > threshold or score is NaN       Greater, IsNaN, Or
//
// A row with a NaN or infinite feature gets a NaN or infinite score and so is
// never silently normal. The LogVar head is written only when the score
// uses it (elbo_mu). Weights are initializers (not graph inputs), W stored [In, Out] as in
// pipeline.Dense with transB = 0.
//
// metadata_props carries the keys listed as Key constants, all prefixed
// "vaejob.": format and producer version, run id, feature names (JSON),
// threshold (as FormatThreshold writes it, equal to the graph's float32),
// threshold method, score kind, scaler (JSON), training data SHA-256,
// architecture (JSON) and a test vector (JSON pipeline.TestVector: synthetic
// rows and their expected scores) that any runtime can use to check the file
// it loaded. ReadMetadataProps reads them back.
//
// # Reading it back
//
// Decode and DecodeGraph read the file in process with onnx-go
// (github.com/owulveryck/onnx-go), into a Backend of this package that
// records the values, initializer tensors and operations onnx-go reports.
// (onnx-go's own gorgonia backend lacks ReduceMean, Greater, IsNaN and Or.)
// onnx-go does not expose metadata_props, so that one field is read with
// protowire. Decode matches the graph node by node against the layout above
// and rebuilds the Model from the initializers and the metadata, checking
// that the graph's threshold and scaler equal the metadata's. Graph.Run
// evaluates the decoded graph node by node, which is onnx-go's answer to
// compare with the Go scorer (pipeline.Scorer); Verify makes that comparison,
// plus recorded scores and the embedded test vector, within Tolerance.
//
// Decode rejects anything else with an error wrapping ErrFormat, and never
// panics on bad input: a pre-scan bounds the shapes onnx-go would allocate and
// a panic inside onnx-go becomes an error.
//
// The tests also run the ONNX checker (python3-onnx) and ONNX Runtime
// (onnxruntime-node, testdata/ort) on encoded files; see external_test.go.
package onnx
