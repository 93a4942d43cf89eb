package jobs

import (
	"cmp"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/vaejob/vaejob/parquet"
	"github.com/vaejob/vaejob/pipeline"
	"github.com/vaejob/vaejob/pipeline/vae"
)

// TrainOptions are the settings of one train run. Zero values of the
// training knobs mean "the preset's value".
type TrainOptions struct {
	// Inputs are the data: files, folders (read recursively) and globs,
	// Parquet or Arrow IPC.
	Inputs   []string
	Out      string
	Features []string
	Exclude  []string
	Seed     int64
	RunID    string // empty: a new time-ordered id

	Preset             string // "" (default) or "tutorial"
	Epochs             int
	BatchSize          int
	LearningRate       float64
	LatentDim          int
	ValidationFraction float64 // 0: 0.2
	Threshold          string  // "": quantile:0.99

	// Model knobs; nil or empty means the preset's value.
	Model ModelOptions

	// Labels, optional: which column says a row is an anomaly. The column is
	// never a feature.
	Labels Labels
	// TrainOn is TrainOnAll (default) or TrainOnNormal (needs Labels).
	TrainOn string
	// Missing is the policy for missing feature values: MissingFail
	// (default), MissingDropRows or MissingImputeMedian.
	Missing string
	// ConstantColumns is the policy for features constant on the training
	// rows: ConstantKeep (default), ConstantDrop or ConstantFail.
	ConstantColumns string
	// Filter keeps only the rows matching a condition (parquet.ParseFilter).
	Filter string
	// MaxRows, when above 0, trains on a seeded uniform sample of at most
	// that many rows, read with bounded memory.
	MaxRows int
	// TimeColumn, when set, makes the most recent rows the validation split.
	TimeColumn string
	// Digest is DigestSHA256 (default) or DigestFooter.
	Digest string

	// Force redoes a run id that already finished.
	Force bool
	// Timeout stops the run like a signal when it is reached; 0: none.
	Timeout time.Duration
	// Gate sets the promotion gate.
	Gate GateOptions
	// Keep, when above 0, keeps only the newest Keep runs after this one
	// (never latest nor the run it replaced).
	Keep int
	// ConfigFile is the job config file the options came from, if any; it
	// is recorded in run.json with its digest.
	ConfigFile string

	Logger   *slog.Logger // nil: discard
	Progress io.Writer    // where the terminal progress line goes; nil: none
}

// ModelOptions override a preset's model and training settings. A nil or
// empty field keeps the preset's value.
type ModelOptions struct {
	Scaler      string   // minmax or robust
	Hidden      []int    // encoder widths, e.g. 64,32; the decoder mirrors them
	Likelihood  string   // bernoulli, gaussian or laplace
	Objective   string   // tutorial or elbo
	Score       string   // a pipeline.ScoreKind
	Init        string   // pytorch or glorot
	Steps       *int     // optimiser step budget (0: none, epochs only)
	Beta        *float64 // KL weight of the elbo objective
	WarmupSteps *int     // steps over which beta rises from 0
	Trim        *float64 // fraction of each batch's highest-loss rows left out
	TrimFrom    *int     // first step that trims
	Trainer     string   // "graph" (one gorgonia op per operation) or "fused" (one fused loss op)
}

// apply overrides cfg's settings with the ones set in m.
func (m ModelOptions) apply(cfg *vae.Config) {
	if len(m.Hidden) > 0 {
		cfg.Hidden = m.Hidden
	}
	if m.Likelihood != "" {
		cfg.Likelihood = vae.Likelihood(m.Likelihood)
	}
	if m.Objective != "" {
		cfg.Objective = vae.Objective(m.Objective)
	}
	if m.Score != "" {
		cfg.Score = pipeline.ScoreKind(m.Score)
	}
	if m.Init != "" {
		cfg.Init = vae.Init(m.Init)
	}
	setIf(&cfg.Steps, m.Steps)
	setIf(&cfg.Beta, m.Beta)
	setIf(&cfg.WarmupSteps, m.WarmupSteps)
	setIf(&cfg.Trim, m.Trim)
	setIf(&cfg.TrimFrom, m.TrimFrom)
	switch m.Trainer {
	case "fused":
		cfg.Fused = true
	case "graph":
		cfg.Fused = false
	}
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// How input files are fingerprinted in run.json.
const (
	DigestSHA256 = "sha256"      // every byte
	DigestFooter = "size+footer" // the size and the footer: cheap for huge inputs
)

// Policies for missing feature values (null, NaN, ±Inf).
const (
	MissingFail         = "fail"
	MissingDropRows     = "drop-rows"
	MissingImputeMedian = "impute-median"
)

// Policies for features constant on the training rows.
const (
	// ConstantKeep keeps them as features: the network does not see them,
	// and a served row scores its departure from the constant (see
	// pipeline.Model.Constant). The model's input schema stays the same.
	ConstantKeep = "keep"
	// ConstantDrop leaves them out of the model's features.
	ConstantDrop = "drop"
	// ConstantFail refuses a table with a feature constant on every row
	// (exit 3), the behaviour before ConstantKeep.
	ConstantFail = "fail"
)

// What a labelled run trains on.
const (
	TrainOnAll    = "all"
	TrainOnNormal = "normal"
)

// Presets lists the known presets: "default" (also the empty string) is
// vae.DefaultConfig with vae.DefaultScaler, "tutorial" the seed tutorial's
// model with min-max scaling.
var Presets = []string{"default", "tutorial"}

// ResolvedConfig is the complete configuration a run used, as recorded in
// run.json.
type ResolvedConfig struct {
	Preset             string     `json:"preset"`
	Features           []string   `json:"features,omitempty"`
	Exclude            []string   `json:"exclude,omitempty"`
	Seed               int64      `json:"seed"`
	Hidden             []int      `json:"hidden"`
	LatentDim          int        `json:"latent_dim"`
	Epochs             int        `json:"epochs"`
	Steps              int        `json:"steps"`
	BatchSize          int        `json:"batch_size"`
	LearningRate       float64    `json:"learning_rate"`
	Objective          string     `json:"objective"`
	Likelihood         string     `json:"likelihood"`
	Init               string     `json:"init"`
	Beta               float64    `json:"beta"`
	WarmupSteps        int        `json:"warmup_steps"`
	Trim               float64    `json:"trim"`
	TrimFrom           int        `json:"trim_from"`
	LogVarBound        float32    `json:"logvar_bound"`
	Trainer            string     `json:"trainer"`
	Scaler             string     `json:"scaler"`
	ScoreKind          string     `json:"score_kind"`
	ValidationFraction float64    `json:"validation_fraction"`
	Threshold          string     `json:"threshold"`
	LabelColumn        string     `json:"label_column,omitempty"`
	NormalValue        string     `json:"normal_value,omitempty"`
	TrainOn            string     `json:"train_on"`
	Missing            string     `json:"missing"`
	ConstantColumns    string     `json:"constant_columns"`
	Filter             string     `json:"filter,omitempty"`
	MaxRows            int        `json:"max_rows,omitempty"`
	TimeColumn         string     `json:"time_column,omitempty"`
	Digest             string     `json:"digest"`
	Gate               GateConfig `json:"gate"`
	Keep               int        `json:"keep,omitempty"`
	Timeout            string     `json:"timeout,omitempty"`

	vae       vae.Config
	threshold pipeline.ThresholdMethod
	filter    *parquet.Filter
}

// resolve applies the preset and checks every setting. Its errors wrap
// ErrUsage.
func (o *TrainOptions) resolve() (ResolvedConfig, error) {
	usage := func(format string, args ...any) (ResolvedConfig, error) {
		return ResolvedConfig{}, fmt.Errorf("%w: %s", ErrUsage, fmt.Sprintf(format, args...))
	}
	if len(o.Inputs) == 0 || slices.Contains(o.Inputs, "") {
		return usage("--input is required: the Parquet or Arrow data to train on (a file, a folder or a glob)")
	}
	if o.Out == "" {
		return usage("--out is required: the directory that holds runs/ and latest")
	}
	if len(o.Features) > 0 && len(o.Exclude) > 0 {
		return usage("--features and --exclude cannot be used together: name the features, or name what to leave out")
	}
	preset := strings.ToLower(o.Preset)
	var cfg vae.Config
	switch preset {
	case "", "default":
		preset = "default"
		cfg = vae.DefaultConfig()
	case "tutorial":
		cfg = vae.TutorialConfig()
	default:
		return usage("unknown preset %q; known presets: %s", o.Preset, strings.Join(Presets, ", "))
	}
	if o.Epochs < 0 || o.BatchSize < 0 || o.LatentDim < 0 || o.LearningRate < 0 {
		return usage("--epochs, --batch-size, --latent-dim and --learning-rate must be positive")
	}
	if o.Epochs > 0 {
		cfg.Epochs = o.Epochs
	}
	if o.BatchSize > 0 {
		cfg.BatchSize = o.BatchSize
	}
	if o.LatentDim > 0 {
		cfg.Latent = o.LatentDim
	}
	if o.LearningRate > 0 {
		cfg.LearningRate = o.LearningRate
	}
	o.Model.apply(&cfg)
	scaler := pipeline.ScalerMinMax
	if preset == "default" {
		scaler = vae.DefaultScaler
	}
	if o.Model.Scaler != "" {
		scaler = o.Model.Scaler
	}
	if !slices.Contains(pipeline.ScalerKinds, scaler) {
		return usage("unknown scaler %q; known: %s", scaler, strings.Join(pipeline.ScalerKinds, ", "))
	}
	if m := o.Model.Trainer; m != "" && m != "graph" && m != "fused" {
		return usage("--trainer %q: want graph or fused", m)
	}
	if err := cfg.Validate(); err != nil {
		return usage("%v", err)
	}
	frac := o.ValidationFraction
	if frac == 0 {
		frac = 0.2
	}
	if !(frac > 0 && frac < 1) || math.IsNaN(frac) {
		return usage("--validation-fraction %g: want a number between 0 and 1 (exclusive), e.g. 0.2", frac)
	}
	thr := o.Threshold
	if thr == "" {
		thr = "quantile:0.99"
	}
	method, err := pipeline.ParseThresholdMethod(thr)
	if err != nil {
		return usage("--threshold: %v", err)
	}
	trainOn := o.TrainOn
	if trainOn == "" {
		trainOn = TrainOnAll
	}
	switch {
	case trainOn != TrainOnAll && trainOn != TrainOnNormal:
		return usage("--train-on %q: want all or normal", o.TrainOn)
	case o.Labels.Column == "" && trainOn == TrainOnNormal:
		return usage("--train-on normal needs --label-column to tell normal rows from anomalies")
	case o.Labels.Column == "" && o.Labels.Normal != "":
		return usage("--normal-value needs --label-column")
	case o.Labels.Column == "" && method.NeedsLabels():
		return usage("--threshold %s needs labels: pass --label-column (and --normal-value unless the column holds 0 and 1)", method)
	case o.Labels.Column != "" && slices.Contains(o.Features, o.Labels.Column):
		return usage("the label column %q is also named in --features: a label must not be a feature", o.Labels.Column)
	}
	if o.RunID != "" {
		if err := CheckRunID(o.RunID); err != nil {
			return ResolvedConfig{}, err
		}
	}
	missing := cmp.Or(o.Missing, MissingFail)
	if !slices.Contains([]string{MissingFail, MissingDropRows, MissingImputeMedian}, missing) {
		return usage("--missing %q: want fail, drop-rows or impute-median", o.Missing)
	}
	constant := cmp.Or(o.ConstantColumns, ConstantKeep)
	if !slices.Contains([]string{ConstantKeep, ConstantDrop, ConstantFail}, constant) {
		return usage("--constant-columns %q: want keep, drop or fail", o.ConstantColumns)
	}
	var filter *parquet.Filter
	if o.Filter != "" {
		var err error
		if filter, err = parquet.ParseFilter(o.Filter); err != nil {
			return ResolvedConfig{}, kind(ErrUsage, withFlags(err))
		}
	}
	switch {
	case o.MaxRows < 0:
		return usage("--max-rows %d: want a positive number of rows (0: all)", o.MaxRows)
	case o.MaxRows > 0 && o.MaxRows < 10:
		return usage("--max-rows %d is too few rows to train on; keep at least 10", o.MaxRows)
	case o.TimeColumn != "" && (slices.Contains(o.Features, o.TimeColumn) || o.TimeColumn == o.Labels.Column):
		return usage("--time-column %q is also a feature or the label column; the time orders the rows and is never a feature", o.TimeColumn)
	}
	digest := cmp.Or(o.Digest, DigestSHA256)
	if digest != DigestSHA256 && digest != DigestFooter {
		return usage("--digest %q: want %s or %s", o.Digest, DigestSHA256, DigestFooter)
	}
	if err := o.Gate.check(); err != nil {
		return ResolvedConfig{}, err
	}
	if o.Keep < 0 || o.Timeout < 0 {
		return usage("--keep and --timeout must not be negative")
	}
	return ResolvedConfig{
		Preset:             preset,
		Features:           o.Features,
		Exclude:            o.Exclude,
		Seed:               o.Seed,
		Hidden:             cfg.Hidden,
		LatentDim:          cfg.Latent,
		Epochs:             cfg.Epochs,
		Steps:              cfg.Steps,
		BatchSize:          cfg.BatchSize,
		LearningRate:       cfg.LearningRate,
		Objective:          string(cfg.Objective),
		Likelihood:         string(cfg.Likelihood),
		Init:               string(cfg.Init),
		Beta:               cfg.Beta,
		WarmupSteps:        cfg.WarmupSteps,
		Trim:               cfg.Trim,
		TrimFrom:           cfg.TrimFrom,
		LogVarBound:        cfg.LogVarBound,
		Trainer:            map[bool]string{true: "fused", false: "graph"}[cfg.Fused],
		Scaler:             scaler,
		ScoreKind:          string(cfg.Score),
		ValidationFraction: frac,
		Threshold:          method.String(),
		LabelColumn:        o.Labels.Column,
		NormalValue:        o.Labels.Normal,
		TrainOn:            trainOn,
		Missing:            missing,
		ConstantColumns:    constant,
		Filter:             o.Filter,
		MaxRows:            o.MaxRows,
		TimeColumn:         o.TimeColumn,
		Digest:             digest,
		filter:             filter,
		Gate:               o.Gate.resolved(),
		Keep:               o.Keep,
		Timeout:            timeoutString(o.Timeout),
		vae:                cfg,
		threshold:          method,
	}, nil
}

func timeoutString(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}
