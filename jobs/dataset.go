package jobs

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/vaejob/vaejob/parquet"
	"github.com/vaejob/vaejob/pipeline"
)

// dataset is the input split into the rows the model trains on and the
// validation rows that pick the threshold, with the scaler fitted on the
// training rows.
type dataset struct {
	names              []string  // the model's features: the table's, less those --constant-columns drop removes
	train, val         []float32 // raw rows, row-major
	valLabels          []bool    // nil without labels
	scaler             pipeline.Scaler
	imputation         []float32 // per-feature medians under impute-median
	trainImputed       []int     // per feature, the training rows imputed (impute-median)
	missing            *MissingRecord
	constant           []ConstantFeature // constant on every training row (ignored ones aside)
	constantInTraining []string          // those of constant whose validation rows differ
	ignored            []string          // no value on the training rows (impute-median)
	networkConstant    []int             // the model's Constant: features the network does not see
	rows               RowCounts
	labelRecord        *LabelRecord
}

// prepare is the split-and-scale stage: it applies the --missing policy,
// splits the rows into training and validation rows (by time with
// --time-column, at random otherwise), sets the labels aside, imputes
// medians under impute-median, fits the scaler on the training rows, and
// settles the constant features under --constant-columns. The table's rows
// are not used after it.
func prepare(in *trainingInput, cfg ResolvedConfig, log *slog.Logger) (*dataset, error) {
	t := in.table
	d := len(t.Names)
	ds := &dataset{constant: []ConstantFeature{}}
	read, matched, sampled := t.RowsRead, t.RowsMatched, t.Rows
	missing, err := applyMissingPolicy(in, cfg.Missing, log)
	if err != nil {
		return nil, err
	}
	ds.missing = missing
	split, err := splitRows(in, cfg)
	if err != nil {
		return nil, err
	}
	trainIdx := split.Train
	if in.labels != nil {
		if trainIdx, err = ds.splitLabels(in.labels, split, cfg); err != nil {
			return nil, err
		}
	}
	var empty []int // features with no value on the training rows
	if cfg.Missing == MissingImputeMedian {
		empty = ds.imputeMedians(t, trainIdx)
	}
	if cfg.ConstantColumns == ConstantFail {
		if err := refuseConstant(t, empty); err != nil {
			return nil, err
		}
	}
	ds.train = pipeline.Gather(t.Data, d, trainIdx)
	ds.val = pipeline.Gather(t.Data, d, split.Validation)
	ds.rows = RowCounts{Read: read, Matched: matched, Kept: sampled, Used: len(trainIdx) + len(split.Validation), Train: len(trainIdx), Validation: len(split.Validation)}
	var constant []int
	if ds.scaler, constant, err = pipeline.Fit(cfg.Scaler, ds.train, d); err != nil {
		return nil, kind(ErrBadInput, err)
	}
	ds.names = t.Names
	ds.noteConstant(constant, empty, cfg.ConstantColumns, log)
	if err := ds.placeConstant(constant, cfg.ConstantColumns, log); err != nil {
		return nil, err
	}
	return ds, nil
}

// splitRows splits the rows of the input into training and validation
// rows: the latest rows validate with --time-column, a seeded random
// sample otherwise.
func splitRows(in *trainingInput, cfg ResolvedConfig) (pipeline.Split, error) {
	var split pipeline.Split
	var err error
	if in.times != nil {
		split, err = pipeline.TimeSplit(in.times, cfg.ValidationFraction.Get())
	} else {
		split, err = pipeline.RandomSplit(in.table.Rows, cfg.ValidationFraction.Get(), streamRand(cfg.Seed, "split"))
	}
	return split, kind(ErrBadInput, err)
}

// splitLabels sets aside the labels of the validation rows and counts the
// anomalies on each side of split for run.json. It returns the rows to
// train on: the training rows, less the anomalous ones under --train-on
// normal.
func (ds *dataset) splitLabels(labels []bool, split pipeline.Split, cfg ResolvedConfig) ([]int, error) {
	rec := &LabelRecord{Column: cfg.Labels.Column, NormalValue: cfg.Labels.Normal, TrainOn: cfg.TrainOn}
	for _, i := range split.Train {
		if labels[i] {
			rec.TrainAnomalies++
		}
	}
	trainIdx := split.Train
	if cfg.TrainOn == TrainOnNormal {
		trainIdx = slices.DeleteFunc(slices.Clone(split.Train), func(i int) bool { return labels[i] })
		if len(trainIdx) < pipeline.MinTrainRows {
			return nil, fmt.Errorf("%w: --train-on normal leaves %d normal training rows; need at least %d", ErrBadInput, len(trainIdx), pipeline.MinTrainRows)
		}
	}
	ds.valLabels = make([]bool, len(split.Validation))
	for k, i := range split.Validation {
		ds.valLabels[k] = labels[i]
		if labels[i] {
			rec.ValidationAnomalies++
		}
	}
	ds.labelRecord = rec
	return trainIdx, nil
}

// imputeMedians fills every missing value of t with its feature's median
// on the training rows (trainIdx) and records the medians. It is done
// even on complete data: served rows may still miss values. It returns
// the features with no value on the training rows.
func (ds *dataset) imputeMedians(t *parquet.Table, trainIdx []int) (empty []int) {
	ds.imputation, empty = pipeline.FitMedians(t.Data, len(t.Names), trainIdx)
	d := len(t.Names)
	ds.trainImputed = make([]int, d)
	for _, r := range trainIdx {
		for j, v := range t.Data[r*d : (r+1)*d] {
			if pipeline.IsMissing(v) {
				ds.trainImputed[j]++
			}
		}
	}
	pipeline.Impute(t.Data, ds.imputation)
	ds.missing.Values = map[string]float32{}
	for j, v := range ds.imputation {
		if !slices.Contains(empty, j) {
			ds.missing.Values[t.Names[j]] = v
		}
	}
	return empty
}

// refuseConstant is --constant-columns fail: a feature with no value on
// the training rows (empty), or one value on every row, is bad input.
func refuseConstant(t *parquet.Table, empty []int) error {
	if len(empty) > 0 {
		names := strings.Join(pipeline.SelectNames(t.Names, empty), ",")
		return fmt.Errorf("%w: column(s) %s have no value in the training rows; --constant-columns fail refuses them (leave them out with --exclude %s, or use --constant-columns keep, under which the model ignores them)", ErrBadInput, names, names)
	}
	if err := pipeline.CheckConstant(t.Data, t.Names); err != nil {
		return kind(ErrBadInput, fmt.Errorf("%w; or keep it with --constant-columns keep", err))
	}
	return nil
}

// noteConstant records and logs the features constant on the training
// rows (constant, as the scaler found them). One with no value there
// (among empty, imputed to 0) gets a scale of 0, which makes the model
// ignore it; any other is a constant feature, marked when its validation
// rows vary.
func (ds *dataset) noteConstant(constant, empty []int, policy string, log *slog.Logger) {
	d := len(ds.names)
	valConstant := pipeline.ConstantColumns(ds.val, d)
	for _, j := range constant {
		name := ds.names[j]
		if slices.Contains(empty, j) {
			// Imputed to 0 everywhere: a scale of 0 makes the model ignore it.
			ds.scaler.Offset[j], ds.scaler.Scale[j] = 0, 0
			ds.ignored = append(ds.ignored, name)
			log.Warn("column has no value on the training rows; the model ignores it (it adds nothing to any score)", "column", name, "constant_columns", policy)
			continue
		}
		c := ds.scaler.Offset[j]
		ds.constant = append(ds.constant, ConstantFeature{Name: name, Value: c, DepartureScale: pipeline.DepartureScale(c)})
		varies := len(ds.val) > 0 && (!slices.Contains(valConstant, j) || ds.val[j] != c)
		if varies {
			ds.constantInTraining = append(ds.constantInTraining, name)
		}
		log.Warn("column is constant on the training rows", "column", name, "value", c, "departure_scale", pipeline.DepartureScale(c),
			"varies_on_validation_rows", varies, "constant_columns", policy)
	}
}

// placeConstant applies --constant-columns to the constant features:
// under drop they leave the model; otherwise the model keeps them and the
// network does not see them, unless no feature varies, when it sees them
// all.
func (ds *dataset) placeConstant(constant []int, policy string, log *slog.Logger) error {
	names := ds.names
	d := len(names)
	switch {
	case policy == ConstantDrop && len(constant) > 0:
		if len(constant) == d {
			return fmt.Errorf("%w: every feature is constant on the training rows; --constant-columns drop leaves no feature (use --constant-columns keep)", ErrBadInput)
		}
		keep := pipeline.Varying(d, constant)
		ds.names = pipeline.SelectNames(names, keep)
		ds.train = pipeline.SelectColumns(ds.train, d, keep)
		ds.val = pipeline.SelectColumns(ds.val, d, keep)
		ds.scaler = ds.scaler.Select(keep)
		if ds.imputation != nil {
			ds.imputation = pipeline.SelectColumns(ds.imputation, d, keep)
			for _, j := range constant {
				delete(ds.missing.Values, names[j])
			}
		}
		ds.ignored = nil // columns without a value are constant: dropped too
		log.Warn("--constant-columns drop: the constant columns are not features of this model (its input schema changes)", "dropped", fmt.Sprint(pipeline.SelectNames(names, constant)))
	case len(constant) == d:
		// Nothing varies: the network sees every feature (each scaled to
		// its departure, 0 on the training rows) and learns to reconstruct
		// the constants, so a departing row still scores higher.
		log.Warn("every feature is constant on the training rows; the network is trained on the constants", "features", d)
	default:
		ds.networkConstant = constant
	}
	return nil
}

// applyMissingPolicy counts the missing values (null, NaN, ±Inf) of each
// feature and, under drop-rows, drops the rows holding any (and their
// labels). Under fail the reader has already refused them.
func applyMissingPolicy(in *trainingInput, policy string, log *slog.Logger) (*MissingRecord, error) {
	t := in.table
	d := len(t.Names)
	rec := &MissingRecord{Policy: policy, PerColumn: map[string]int{}}
	for j, n := range pipeline.CountMissing(t.Data, d) {
		if n > 0 {
			rec.PerColumn[t.Names[j]] = n
		}
	}
	if len(rec.PerColumn) == 0 {
		return rec, nil // the usual case: nothing is missing
	}
	complete := pipeline.CompleteRows(t.Data, d)
	rec.RowsWithMissing = t.Rows - len(complete)
	log.Info("missing values", "policy", policy, "rows_with_missing", rec.RowsWithMissing, "per_column", fmt.Sprint(rec.PerColumn))
	if policy == MissingFail {
		// The reader refuses every missing value under fail (it is given
		// pipeline.MaxFeatureMagnitude as its bound), so this is a bug.
		return nil, fmt.Errorf("missing values passed the reader under --missing fail: %v", rec.PerColumn)
	}
	if policy != MissingDropRows {
		return rec, nil
	}
	for j, name := range t.Names {
		if rec.PerColumn[name] == t.Rows {
			return nil, fmt.Errorf("%w: column %q has no value in any of the %d rows; --missing drop-rows would drop every row: leave it out with --exclude %s, or use --missing impute-median, under which the model ignores it", ErrBadInput, t.Names[j], t.Rows, t.Names[j])
		}
	}
	if len(complete) == 0 {
		return nil, fmt.Errorf("%w: every row has a missing value (per column: %v); --missing drop-rows leaves nothing; try --missing impute-median or leave those columns out", ErrBadInput, rec.PerColumn)
	}
	t.Data = pipeline.Gather(t.Data, d, complete)
	if in.labels != nil {
		labels := make([]bool, len(complete))
		for k, i := range complete {
			labels[k] = in.labels[i]
		}
		in.labels = labels
	}
	if in.times != nil {
		times := make([]float64, len(complete))
		for k, i := range complete {
			times[k] = in.times[i]
		}
		in.times = times
	}
	rec.RowsDropped = rec.RowsWithMissing
	t.Rows = len(complete)
	return rec, nil
}
