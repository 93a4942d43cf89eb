// Package jobs runs one vaejob command from start to finish: Train, Score,
// Evaluate, Verify, Promote and the views of the output folder (ListRuns,
// ShowRun, DiffRuns). It resolves the options, reads the input through parquet, calls
// pipeline to split, scale, train and pick a threshold, calls onnx to export
// and re-check the model, and publishes the run into the output folder
// (--out).
//
// # The stages of train
//
// Train holds the lock on --out for the whole run and hands the work to
// train (train.go), which runs these stages in order, each a function named
// for it:
//
//  1. read the input: readTrainingInput (train.go, its helpers in input.go)
//     resolves --input, reads the rows with their labels and times, digests
//     every file (digest.go) and refuses a file that changed while it was
//     read;
//  2. split and scale: prepare (dataset.go) applies --missing, splits the
//     rows into training and validation rows, sets the labels aside, fits
//     the scaler on the training rows and settles --constant-columns;
//  3. train: fitModel (train.go) trains the network (pipeline/vae) and
//     completes the model with the scaler, imputation and constant features;
//  4. threshold: pickThreshold (threshold.go) scores the validation rows,
//     splitting each score into its features' shares in the same pass,
//     chooses the threshold and builds the tail table on them;
//  5. export and re-check: exportModel (export.go) encodes the model as
//     ONNX and checks the bytes against the Go scorer on the validation
//     sample (sample.go);
//  6. gate: gateModel (train.go) compares the model with the one latest
//     points at (runGate, gate.go; that model is loaded before training,
//     so that a broken latest stops the run before the time is spent);
//  7. publish: publishRun (train.go) hands the files and run.json
//     (record.go) to the output folder, moving latest unless the gate
//     rejected the model.
//
// The stages write nothing before publishRun: bad input, a failed training,
// and a signal or --timeout before publishing leave no run folder and do
// not touch latest. Every
// use of randomness draws from its own seeded stream (streamRand, rand.go).
//
// # The output folder
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
//	OUT/runs/<run-id>/report.html             the run in pictures, drawn by TrainOptions.Report (jobs/report)
//	OUT/latest -> runs/<run-id>               moved by one rename: the commit point of a promotion
//	OUT/audit.jsonl                           one line per promotion, rejection and orphaned run
//
// # Settings
//
// TrainOptions (options.go) is the one representation of train's
// settings: cmd/vaejob binds each flag straight to a field, a number whose
// "not given" means "the preset's value" is an Optional (optional.go), and
// every default is a Default* constant there. resolve (resolve.go) checks
// each concern in its own validator (data, output, model, labels,
// threshold, gate), fills in the preset and the defaults, and returns the
// ResolvedConfig that run.json records as config: the same struct, filled
// in. Its errors wrap ErrUsage and name the flags.
//
// # Errors
//
// Every error a command returns for a known cause wraps one of eight
// sentinel kinds; cmd/vaejob's exitCodes table (main.go) turns a kind into
// the process's exit code, and the README's "Exit codes" says what a
// scheduler should do about each:
//
//	ErrUsage      the options or the setup are wrong (errors.go)
//	ErrBadInput   the input data or --model cannot be used (errors.go)
//	ErrTraining   training failed: the loss diverged (errors.go)
//	ErrRejected   the promotion gate rejected the model (gate.go)
//	ErrLocked     another run holds the lock on --out (lock.go)
//	ErrVerify     the model file is damaged (errors.go)
//	ErrMachine    the machine failed: full, read-only, I/O error (errors.go)
//	ErrTimeout    --timeout was reached (errors.go)
//
// A machine fault need not wrap ErrMachine: IsMachineFault also finds the
// errno in the chain, and cmd/vaejob ranks it above ErrUsage and
// ErrBadInput (a read-only --out is fixed by running elsewhere, not by
// changing the job). kind (errors.go) marks an error with its kind without
// changing its message, and inputErr gives the parquet package's kinds
// their jobs kinds.
//
// Bad input is found before anything is written.
package jobs
