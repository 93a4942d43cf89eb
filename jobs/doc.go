// Package jobs runs one vaejob command from start to finish: it resolves the
// options, reads the input, calls pipeline to split, scale, train and pick a
// threshold, calls onnx to export and re-check the model, and publishes the
// run directory atomically:
//
//	OUT/runs/<run-id>/model.onnx              the artifact
//	OUT/runs/<run-id>/run.json                the audit record (RunRecord)
//	OUT/runs/<run-id>/validation_sample.json  validation rows and their scores, for verify
//	OUT/latest -> runs/<run-id>               moved only after a run has fully succeeded
//
// A run writes into a temporary directory beside runs/ and renames it into
// place when every file is written and synced; a failed run removes it and
// leaves latest alone. Bad input is found before anything is written.
//
// Errors wrap one of the sentinel kinds below (ErrUsage, ErrBadInput,
// ErrTraining, ErrVerify); cmd/vaejob turns a kind into an exit code.
package jobs
