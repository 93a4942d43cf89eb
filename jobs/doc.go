// Package jobs runs one vaejob command from start to finish: it resolves the
// options, reads the input, calls pipeline to split, scale, train and pick a
// threshold, calls onnx to export and re-check the model, and publishes the
// run into the output folder (--out).
//
// outDir (outdir.go) is the one owner of the output folder: its layout, its
// lock (lock.go), publishing with a single commit point, moving latest and
// retention (publish.go), the audit log (audit.go), and the repair of what
// a killed run left (repair.go). Every change it makes to the disk goes
// through the fileSystem seam (fsys.go), so tests make any step fail.
//
//	OUT/runs/<run-id>/model.onnx              the artifact
//	OUT/runs/<run-id>/run.json                the audit record (RunRecord, with its RunStatus)
//	OUT/runs/<run-id>/validation_sample.json  validation rows and their scores, for verify
//	OUT/latest -> runs/<run-id>               moved by one rename: the commit point of a promotion
//	OUT/audit.jsonl                           one line per promotion, rejection and orphaned run
//
// Bad input is found before anything is written. Errors wrap one of the
// sentinel kinds of errors.go; cmd/vaejob turns a kind into an exit code.
package jobs
