// Package pipeline holds the model-side logic of vaejob that needs no I/O:
// splitting rows into training and validation sets, the min-max scaler, the
// trained Model as plain Go data, scoring, threshold selection and ranking
// metrics (ROC-AUC, PR-AUC).
//
// The Model type is the seam between training and everything after it. The
// gorgonia trainer in pipeline/vae returns a Model; the onnx package encodes
// one; the Go scorer here and the ONNX graph compute the same score from it.
// Nothing in this package imports gorgonia.
package pipeline
