package jobs

import (
	"math"
	"runtime"
	"runtime/debug"
	"slices"
	"time"

	"github.com/vaejob/vaejob/parquet"
	"github.com/vaejob/vaejob/pipeline"
	"github.com/vaejob/vaejob/pipeline/vae"
)

// RunRecordSchema is the version of the run.json layout; it changes when a
// field changes meaning or goes away.
const RunRecordSchema = 3

// RunStatus is where a run in runs/ stands, as run.json records it.
type RunStatus string

// Run statuses.
const (
	// StatusPublishing: the run's folder is in runs/ but publishing has
	// not finished; the next run under the lock settles it (see repair).
	StatusPublishing RunStatus = "publishing"
	// StatusSucceeded: the gate promoted the run and latest moved to it.
	StatusSucceeded RunStatus = "succeeded"
	// StatusRejected: the gate rejected the run; latest did not move.
	StatusRejected RunStatus = "rejected"
	// StatusOrphaned: the run passed the gate but was stopped before
	// latest moved; it never served. vaejob promote can still promote it.
	StatusOrphaned RunStatus = "orphaned"
	// StatusDamaged is never written: vaejob runs reports it for a folder
	// whose run.json cannot be read.
	StatusDamaged RunStatus = "damaged"
)

// RunRecord is the audit record of one run, written as run.json. The README
// documents every field.
type RunRecord struct {
	Schema     int            `json:"schema_version"`
	RunID      string         `json:"run_id"`
	Status     RunStatus      `json:"status"`
	StartedAt  time.Time      `json:"started_at"`
	FinishedAt time.Time      `json:"finished_at"`
	Config     ResolvedConfig `json:"config"`
	// ConfigFile is the job config file the run's settings came from.
	ConfigFile *InputFile      `json:"config_file,omitempty"`
	Inputs     []InputFile     `json:"inputs"`
	Rows       RowCounts       `json:"rows"`
	Features   []string        `json:"features"`
	Skipped    []SkippedCol    `json:"skipped_columns"`
	Labels     *LabelRecord    `json:"labels,omitempty"`
	Missing    *MissingRecord  `json:"missing"`
	Scaler     pipeline.Scaler `json:"scaler"`
	// ConstantFeatures lists the features constant on every training row
	// (schema 3), with the constant and its departure scale; under
	// --constant-columns drop they are not among Features.
	ConstantFeatures []ConstantFeature `json:"constant_features"`
	// ConstantInTraining names those of ConstantFeatures whose validation
	// rows hold other values (so their departures enter the threshold).
	ConstantInTraining []string `json:"constant_in_training,omitempty"`
	// SpikeFeatures lists the features scored as a spike and a slab (see
	// pipeline.Spike; --spikes on), in feature order.
	SpikeFeatures []SpikeFeature `json:"spike_features,omitempty"`
	// IgnoredFeatures names the features with no value on the training
	// rows under --missing impute-median (schema 3): the model ignores them.
	IgnoredFeatures []string             `json:"ignored_features,omitempty"`
	Training        TrainingRecord       `json:"training"`
	Latent          pipeline.LatentStats `json:"latent"`
	Threshold       ThresholdRecord      `json:"threshold"`
	// TailTable is the model's table of tail probabilities, as the ONNX
	// graph holds it.
	TailTable *TailRecord `json:"tail_table,omitempty"`
	// FeatureShares is each feature's mean share of the score on the
	// validation rows that alert and on all of them.
	FeatureShares *FeatureShares `json:"feature_shares,omitempty"`
	// ValidationMetrics are present when the run had labels and its
	// validation rows hold both classes.
	ValidationMetrics *LabelMetrics `json:"validation_metrics,omitempty"`
	// ValidationCurves are present with ValidationMetrics: the ROC and
	// precision-recall curves behind them.
	ValidationCurves *ValidationCurves `json:"validation_curves,omitempty"`
	// Gate is the promotion gate's decision and its checks.
	Gate      *GateRecord `json:"gate,omitempty"`
	Timings   Timings     `json:"timings_seconds"`
	Versions  Versions    `json:"versions"`
	Machine   Machine     `json:"machine"`
	Artifacts []Artifact  `json:"artifacts"`
}

// ConstantFeature is a feature that held one value on every training row.
// Under --constant-columns keep a served value x adds the departure
// (x - Value)/DepartureScale to the score, as a scaled feature's error.
type ConstantFeature struct {
	Name           string  `json:"name"`
	Value          float32 `json:"value"`
	DepartureScale float32 `json:"departure_scale"`
}

// SpikeFeature describes a spike feature of the model (see pipeline.Spike):
// its spike in raw units (Value: absent when no float32 scales to it
// exactly, see pipeline.RawSpikeValue) and scaled units, the share of
// training rows on it, and what a row off it adds to the score before its
// distance, log(share/(1 - share)).
type SpikeFeature struct {
	Name        string   `json:"name"`
	Value       *float32 `json:"value,omitempty"`
	ScaledValue float32  `json:"scaled_value"`
	Share       float64  `json:"share"`
	Cost        float32  `json:"cost"`
}

// LabelRecord describes the labels of a labelled run.
type LabelRecord struct {
	Column              string `json:"column"`
	NormalValue         string `json:"normal_value,omitempty"` // empty: a 0/1 column
	TrainOn             string `json:"train_on"`
	TrainAnomalies      int    `json:"anomalies_in_training_split"`
	ValidationAnomalies int    `json:"anomalies_in_validation_split"`
}

// MissingRecord says how missing feature values (null, NaN, ±Inf) were
// handled.
type MissingRecord struct {
	Policy string `json:"policy"` // fail, drop-rows or impute-median
	// PerColumn counts the missing values of each feature that has any.
	PerColumn       map[string]int `json:"per_column"`
	RowsWithMissing int            `json:"rows_with_missing"`
	RowsDropped     int            `json:"rows_dropped"`
	// Values are the training medians that replace missing values, in
	// training and, inside the ONNX graph, in serving; set under
	// impute-median when a value was missing.
	Values map[string]float32 `json:"imputation_values,omitempty"`
}

// InputFile identifies one input file by size and digest.
type InputFile struct {
	Path string `json:"path"`
	Size int64  `json:"size_bytes"`
	// SHA256 is the SHA-256 of the file's bytes, or with --digest
	// size+footer of its size and footer (DigestKind says which).
	SHA256     string `json:"sha256"`
	DigestKind string `json:"digest_kind,omitempty"`
}

// RowCounts says how many rows were read and where they went.
type RowCounts struct {
	// Read counts the rows in the input files; Matched those that passed
	// --filter; Kept those kept by --max-rows sampling (all matched rows
	// without it); Used those left after --missing drop-rows.
	Read       int `json:"read"`
	Matched    int `json:"matched"`
	Kept       int `json:"kept"`
	Used       int `json:"used"`
	Train      int `json:"train"`
	Validation int `json:"validation"`
}

// SkippedCol is a non-numeric column the default selection left out.
type SkippedCol struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// TrainingRecord is the loss history of a run.
type TrainingRecord struct {
	// BatchSize is the minibatch size used: the configured one, capped at
	// the number of training rows.
	BatchSize int              `json:"effective_batch_size"`
	Steps     int              `json:"steps"`
	Epochs    []vae.EpochStats `json:"epochs"`
}

// ThresholdRecord says which threshold was chosen and how. Its validation
// figures describe the rows the threshold was chosen on: with --train-on
// normal and a score-only method, the normal validation rows.
type ThresholdRecord struct {
	Value  float32 `json:"value"`
	Method string  `json:"method"`
	// MethodValue is the cut the method itself names (the Q-quantile,
	// median + K·MAD, the labels' best gap) before the threshold is placed
	// clear of the validation scores; see pipeline.ThresholdMethod.Choose.
	MethodValue float32 `json:"method_value"`
	// Placement is "between" two validation scores (ScoreBelow and
	// ScoreAbove, the nearest on either side; with --train-on normal and a
	// score-only method, the anomalous validation rows count here too),
	// "above_max" or "below_min".
	Placement  pipeline.Placement `json:"placement"`
	ScoreBelow *float32           `json:"score_below,omitempty"`
	ScoreAbove *float32           `json:"score_above,omitempty"`
	// MovedRows counts the validation rows whose flag differs from
	// MethodValue's because the nearer gaps were narrower than twice the
	// score tolerance.
	MovedRows        int                `json:"moved_rows"`
	ValidationRows   int                `json:"validation_rows"`
	ValidationScores map[string]float32 `json:"validation_score_quantiles"`
	ValidationAlerts int                `json:"validation_alerts"`
	// Histogram counts the same validation scores in equal-width bins.
	Histogram ScoreHistogram `json:"validation_score_histogram"`
}

// TailRecord is a model's tail table (pipeline.TailTable) as the ONNX
// graph reads it: a score s that is not NaN has the tail probability
// Shares[k], the share of the N validation rows scoring at least as high,
// for k = the number of Edges below s. Shares holds one more entry than
// Edges; the last, beyond the largest validation score, is the bound
// 1/(N+1).
type TailRecord struct {
	Rows   int       `json:"validation_rows"`
	Edges  []float32 `json:"edges"`
	Shares []float32 `json:"shares"`
}

// tailRecord is run.json's account of t; nil for a table of no rows.
func tailRecord(t *pipeline.TailTable) *TailRecord {
	if t == nil || len(t.Upper) == 0 {
		return nil
	}
	edges, shares := t.Lookup()
	return &TailRecord{Rows: t.Rows, Edges: edges, Shares: shares}
}

// FeatureShares says which features make up the scores of the validation
// rows the threshold was chosen on (the rows of ThresholdRecord): each
// feature's additive share of the score (pipeline.Model.ScoreParts),
// averaged over the rows that alert and over all of them, and so the
// score's latent term. The means over alerts are 0 when no row alerts.
type FeatureShares struct {
	Rows         int            `json:"validation_rows"`
	Alerts       int            `json:"validation_alerts"`
	Features     []FeatureShare `json:"features"`
	LatentAll    float32        `json:"mean_latent_all"`
	LatentAlerts float32        `json:"mean_latent_alerts"`
}

// FeatureShare is one feature's mean share of the score, in model order.
type FeatureShare struct {
	Name   string  `json:"name"`
	All    float32 `json:"mean_share_all"`
	Alerts float32 `json:"mean_share_alerts"`
}

// histogramBins is the number of bins of a validation score histogram.
const histogramBins = 40

// ScoreHistogram counts scores in equal-width bins: Counts[i] scores lie
// in [Edges[i], Edges[i+1]), the last bin holding its upper edge too.
type ScoreHistogram struct {
	Edges  []float32 `json:"edges"`
	Counts []int     `json:"counts"`
}

// scoreHistogram counts the finite scores in histogramBins bins from the
// lowest to the highest (one bin when they are all equal).
func scoreHistogram(scores []float32) ScoreHistogram {
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for _, s := range scores {
		if !math.IsInf(float64(s), 0) && s == s {
			lo, hi = min(lo, s), max(hi, s)
		}
	}
	if lo > hi {
		return ScoreHistogram{Edges: []float32{}, Counts: []int{}}
	}
	bins := histogramBins
	if lo == hi {
		bins = 1
	}
	h := ScoreHistogram{Edges: make([]float32, bins+1), Counts: make([]int, bins)}
	for i := range h.Edges {
		h.Edges[i] = float32(float64(lo) + (float64(hi)-float64(lo))*float64(i)/float64(bins))
	}
	h.Edges[bins] = hi
	for _, s := range scores {
		if math.IsInf(float64(s), 0) || s != s {
			continue
		}
		// The first edge above s closes its bin; the top edge is in the
		// last bin.
		i, _ := slices.BinarySearch(h.Edges, s)
		if i == len(h.Edges) || h.Edges[i] > s {
			i--
		}
		h.Counts[min(i, bins-1)]++
	}
	return h
}

// ValidationCurves are the ROC and precision-recall curves of a labelled
// run's validation scores (see pipeline.ROCCurve), at most curvePoints
// points each.
type ValidationCurves struct {
	ROC []pipeline.ROCPoint `json:"roc"`
	PR  []pipeline.PRPoint  `json:"precision_recall"`
}

// curvePoints bounds the points of each validation curve in run.json.
const curvePoints = 300

// validationCurves computes the curves of a labelled run; nil without
// labels or when they hold one class.
func validationCurves(scores []float32, labels []bool) *ValidationCurves {
	if labels == nil {
		return nil
	}
	roc, err := pipeline.ROCCurve(scores, labels, curvePoints)
	if err != nil {
		return nil
	}
	pr, err := pipeline.PRCurve(scores, labels, curvePoints)
	if err != nil {
		return nil
	}
	return &ValidationCurves{ROC: roc, PR: pr}
}

// Timings are wall-clock durations of the phases of a run, in seconds.
type Timings struct {
	Read   float64 `json:"read"`
	Train  float64 `json:"train"`
	Export float64 `json:"export"`
	Total  float64 `json:"total"`
}

// Versions names the code that made the model.
type Versions struct {
	Vaejob   string `json:"vaejob"`
	Go       string `json:"go"`
	Gorgonia string `json:"gorgonia"`
	// Kernel is pipeline.Kernel(): the same seed gives the same model
	// bytes only on the same kernel.
	Kernel string `json:"kernel"`
	VCS    string `json:"vcs_revision,omitempty"`
}

// Machine is what the run was allowed of the machine it ran on, for
// auditors and to read its timings by: --workers and GOMEMLIMIT. It does
// not change the model: the same input and seed give the same bytes on
// any GOMAXPROCS.
type Machine struct {
	// GOMAXPROCS is how many threads ran Go code at once: --workers, else
	// the runtime's default (every core the process may use).
	GOMAXPROCS int `json:"gomaxprocs"`
	// NumCPU is how many cores the process could run on.
	NumCPU int `json:"num_cpu"`
	// MemoryLimit is the Go runtime's soft memory limit (GOMEMLIMIT) in
	// bytes; absent when none is set.
	MemoryLimit int64 `json:"gomemlimit_bytes,omitempty"`
}

// CurrentMachine reads what this process is allowed: its GOMAXPROCS, its
// cores and its memory limit.
func CurrentMachine() Machine {
	m := Machine{GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU()}
	if limit := debug.SetMemoryLimit(-1); limit != math.MaxInt64 {
		m.MemoryLimit = limit
	}
	return m
}

// Artifact is a file of the run directory with its digest.
type Artifact struct {
	Name   string `json:"name"`
	Size   int64  `json:"size_bytes"`
	SHA256 string `json:"sha256"`
}

// Version is the vaejob version written into models and run records.
const Version = "0.1.0"

// CurrentVersions reads the versions of vaejob, Go and gorgonia from the
// build information of the running binary.
func CurrentVersions() Versions {
	v := Versions{Vaejob: Version, Go: runtime.Version(), Gorgonia: "unknown", Kernel: pipeline.Kernel()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range bi.Deps {
			if dep.Path == "gorgonia.org/gorgonia" {
				v.Gorgonia = dep.Version
			}
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				v.VCS = s.Value
			}
		}
	}
	return v
}

// trainingRecord is run.json's account of training: the loss history and
// the minibatch size used (batchSize, capped at the training rows).
func trainingRecord(history []vae.EpochStats, batchSize int) TrainingRecord {
	r := TrainingRecord{Epochs: history, BatchSize: batchSize}
	if len(history) > 0 {
		r.Steps = history[len(history)-1].Steps
	}
	return r
}

// artifacts lists a run's files with their size and SHA-256.
func artifacts(files []namedFile) []Artifact {
	var out []Artifact
	for _, f := range files {
		out = append(out, Artifact{Name: f.name, Size: int64(len(f.data)), SHA256: sha256Hex(f.data)})
	}
	return out
}

// skippedCols lists the columns the reader left out, as run.json does.
func skippedCols(s []parquet.SkippedColumn) []SkippedCol {
	out := []SkippedCol{}
	for _, c := range s {
		out = append(out, SkippedCol{Name: c.Name, Type: c.Type})
	}
	return out
}
