// Package pipeline holds the model-side logic of vaejob that needs no I/O.
// The trained Model is plain Go data, and everything here works on it or
// prepares the rows it reads:
//
//   - split.go: the training/validation split (random or by time);
//   - scaler.go: the scalers, min-max and robust (median and interquartile
//     range; see ScalerRobust), fitted on the training rows;
//   - missing.go and constant.go: missing values (imputation by the training
//     medians) and features constant on the training rows, which the
//     network does not see;
//   - spike.go: spike features, which hold one value on more than half the
//     training rows and are scored as a spike and a slab (Spike,
//     FindSpikes);
//   - model.go: Model, its layers (Dense), its score kinds and Validate;
//   - score.go and batch.go: the Scorer, the one place a row's anomaly score
//     is computed, row by row or (ScoreRows) a block of rows at a time, and
//     split into its features' shares and latent term (ScoreParts);
//   - tail.go: the tail table, which turns a score into the share of
//     validation rows scoring at least as high (TailTable);
//   - loss.go: the training objective at the posterior mean (Scorer.Loss),
//     the trainer's validation loss;
//   - latent.go and testvector.go: how the encoder uses its latent space,
//     and the test vector a model file carries;
//   - threshold.go and metrics.go: threshold selection, quantiles and the
//     ranking metrics (ROC-AUC, average precision, KS, alert rate);
//   - selection.go: order statistics by selection instead of sorting, the
//     values a sort would give, bit for bit;
//   - parallel.go: work on several cores in pieces fixed by the size of the
//     work (Pieces, Each, EachPiece, PieceResults), never by GOMAXPROCS, so
//     that results combined in piece order are the same bytes on any
//     number of cores.
//
// The Model type is the seam between training and everything after it. The
// trainer in pipeline/vae returns a Model; the onnx package encodes one; the
// Go scorer here and the ONNX graph compute the same score from it. Nothing
// in this package imports gorgonia. The inner loops (matrix products, ReLU,
// Adam) live in pipeline/internal/kernel.
//
// # Errors and panics
//
// What comes from the user, a table's rows, settings or a model read from a
// file, is checked and reported as an error: the scalers' and splits'
// fitting functions, the threshold methods and the metrics return one, and
// Model.Validate names what is wrong with a model. Functions that take a
// valid model and buffers they are documented to size panic on misuse, as
// gonum does: NewScorer and the scoring methods expect a model that passed
// Validate and rows of Model.Dim values, ScoreRowsTo panics when out has
// the wrong length, and the kernels underneath panic on a shape mismatch.
// Those are programmer errors, not bad input.
package pipeline
