package jobs

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"

	"github.com/vaejob/vaejob/pipeline"
)

// validation is what the validation rows say about a trained model: the
// threshold stage's outcome.
type validation struct {
	scores []float32 // every validation row's score, NaN and ±Inf included
	// finiteRows and finiteScores are the validation rows with a finite
	// score (row-major) and those scores: the validation sample's rows.
	finiteRows, finiteScores []float32
	threshold                pipeline.Threshold
	thresholdScores          []float32 // the scores the threshold was chosen on
	// shares is each feature's mean share of the score, on the alerts and
	// on all of the rows the threshold was chosen on.
	shares *FeatureShares
}

// pickThreshold is the threshold stage: it scores the validation rows with
// the trained model, chooses the threshold on them (chooseThreshold), sets
// it and the tail table of the scores it was chosen on in the model, and
// checks the model whole. The one pass that scores the validation rows
// splits their scores into the features' shares too (featureShares). A row
// scored NaN or ±Inf is left out of the threshold and the validation
// sample; the gate then rejects the model for it.
func pickThreshold(cfg ResolvedConfig, model *pipeline.Model, ds *dataset, haveLabels bool, log *slog.Logger) (*validation, error) {
	parts := model.ScoreParts(ds.val)
	v := &validation{scores: parts.Scores}
	var finiteLabels []bool
	v.finiteRows, v.finiteScores, finiteLabels = finiteOnly(ds.val, v.scores, ds.valLabels, len(ds.names))
	if len(v.finiteScores) == 0 {
		return nil, fmt.Errorf("%w: the trained model scores every validation row as NaN or infinite; no threshold can be chosen (try another --seed, and report the table)", ErrTraining)
	}
	threshold, thresholdScores, err := chooseThreshold(cfg, v.finiteScores, finiteLabels, haveLabels)
	if err != nil {
		return nil, err
	}
	v.threshold, v.thresholdScores = threshold, thresholdScores
	if threshold.Moved > 0 {
		log.Warn("threshold moved off crowded validation scores", "method_value", threshold.MethodValue,
			"threshold", threshold.Value, "validation_rows_moved", threshold.Moved,
			"reason", fmt.Sprintf("the nearer gaps between validation scores are narrower than twice the threshold margin (%g of the score)", pipeline.ScoreTolerance))
	}
	model.Threshold = threshold.Value
	model.ThresholdMethod = cfg.threshold.String()
	model.Tail = pipeline.NewTailTable(thresholdScores)
	v.shares = featureShares(model.Features, parts, threshold.Value, func(i int) bool {
		return !normalOnly(cfg, ds.valLabels) || !ds.valLabels[i]
	})
	if err := model.Validate(); err != nil {
		return nil, kind(ErrTraining, fmt.Errorf("trained model is invalid: %w", err))
	}
	return v, nil
}

// chooseThreshold applies the threshold method and returns the threshold
// and the validation scores it was chosen on. Score-only methods use every
// validation row, or only the normal ones when training on normal rows;
// label-based methods use the labelled validation rows. A score-only
// method's scores are returned sorted: nothing it computes depends on
// their order, and the sorts of the threshold, the tail table and the
// record (Choose, NewTailTable, thresholdRecord) then take near-linear
// time on them instead of sorting them again each.
func chooseThreshold(cfg ResolvedConfig, scores []float32, labels []bool, haveLabels bool) (pipeline.Threshold, []float32, error) {
	m := cfg.threshold
	if m.NeedsLabels() {
		if !haveLabels {
			return pipeline.Threshold{}, nil, fmt.Errorf("%w: --threshold %s needs labels: pass --label-column", ErrUsage, m)
		}
		t, err := m.Choose(scores, labels)
		if err != nil {
			return pipeline.Threshold{}, nil, kind(ErrBadInput, err)
		}
		return t, scores, nil
	}
	if normalOnly(cfg, labels) {
		// The threshold comes from the normal rows and keeps clear of the
		// anomalous ones too.
		var normal, anomalous []float32
		for i, s := range scores {
			if labels[i] {
				anomalous = append(anomalous, s)
			} else {
				normal = append(normal, s)
			}
		}
		if len(normal) == 0 {
			return pipeline.Threshold{}, nil, fmt.Errorf("%w: --train-on normal: the validation split holds no normal rows to set --threshold %s on; raise --validation-fraction", ErrBadInput, m)
		}
		slices.Sort(normal)
		t, err := m.ChooseClearOf(normal, nil, anomalous)
		return t, normal, thresholdErr(err)
	}
	sorted := slices.Sorted(slices.Values(scores)) // scores are the validation sample's, in row order
	t, err := m.Choose(sorted, nil)
	return t, sorted, thresholdErr(err)
}

// normalOnly reports whether the threshold is chosen on the normal
// validation rows only: a score-only method, trained on normal rows.
func normalOnly(cfg ResolvedConfig, labels []bool) bool {
	return labels != nil && cfg.TrainOn == TrainOnNormal && !cfg.threshold.NeedsLabels()
}

// thresholdErr marks a method's value that no float32 threshold can hold
// (mad:K with a huge K) as a problem of the run's data and settings, exit 3;
// other errors of a score-only method are bugs.
func thresholdErr(err error) error {
	if errors.Is(err, pipeline.ErrNoThreshold) {
		return kind(ErrBadInput, fmt.Errorf("--threshold: %w", err))
	}
	return err
}

// finiteOnly returns the rows, scores and labels (nil stays nil) of the
// rows whose score is finite.
func finiteOnly(rows, scores []float32, labels []bool, d int) ([]float32, []float32, []bool) {
	if countNonFinite(scores) == 0 {
		return rows, scores, labels
	}
	var r, s []float32
	var l []bool
	for i, v := range scores {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			continue
		}
		r = append(r, rows[i*d:(i+1)*d]...)
		s = append(s, v)
		if labels != nil {
			l = append(l, labels[i])
		}
	}
	return r, s, l
}

// thresholdRecord is run.json's account of threshold t of method, chosen
// on scores: where it lies among them and how many of them it flags.
func thresholdRecord(t pipeline.Threshold, method string, scores []float32) ThresholdRecord {
	qs := []float64{0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 0.999, 1}
	names := []string{"min", "p01", "p05", "p25", "p50", "p75", "p95", "p99", "p999", "max"}
	vals := pipeline.Quantiles(scores, qs)
	r := ThresholdRecord{
		Value: t.Value, Method: method, MethodValue: t.MethodValue, Placement: t.Placement,
		MovedRows: t.Moved, ValidationRows: len(scores), ValidationScores: map[string]float32{},
		Histogram: scoreHistogram(scores),
	}
	if t.Placement != pipeline.PlacedBelowMin {
		r.ScoreBelow = &t.Below
	}
	if t.Placement != pipeline.PlacedAboveMax {
		r.ScoreAbove = &t.Above
	}
	for i, n := range names {
		r.ValidationScores[n] = vals[i]
	}
	for _, s := range scores {
		if s > t.Value {
			r.ValidationAlerts++
		}
	}
	return r
}

// validationMetrics measures the model on the labelled validation rows at
// its threshold. It is nil without labels, and, with a warning, when the
// validation labels hold one class only.
func validationMetrics(scores []float32, labels []bool, threshold float32, log *slog.Logger) *LabelMetrics {
	if labels == nil {
		return nil
	}
	metrics, err := labelMetrics(scores, labels, threshold)
	if err != nil {
		log.Warn("no validation metrics", "reason", err.Error())
		return nil
	}
	log.Info("validation metrics", "roc_auc", metrics.ROCAUC, "pr_auc", metrics.PRAUC,
		"precision", metrics.At.Precision, "recall", metrics.At.Recall, "f1", metrics.At.F1)
	return metrics
}
