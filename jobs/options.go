package jobs

import (
	"io"
	"log/slog"
	"time"
)

// TrainOptions are the settings of one train run: the flags of vaejob
// train are bound straight to its fields. A setting left at its zero value
// (or an Optional not set) takes the preset's value or the default named
// beside it. resolve checks the options and fills every setting in; the
// filled-in options are run.json's config (the JSON tags name its keys).
type TrainOptions struct {
	// Inputs are the data: files, folders (read recursively) and globs,
	// Parquet or Arrow IPC.
	Inputs   []string `json:"-"`
	Out      string   `json:"-"`
	RunID    string   `json:"-"`      // empty: a new time-ordered id
	Preset   string   `json:"preset"` // "": DefaultPreset; see Presets
	Features []string `json:"features,omitempty"`
	Exclude  []string `json:"exclude,omitempty"`
	Seed     int64    `json:"seed"`

	// ModelOptions are the model and training knobs.
	ModelOptions

	// ValidationFraction is the fraction of rows held out to pick the
	// threshold. Not set: DefaultValidationFraction.
	ValidationFraction Optional[float64] `json:"validation_fraction"`
	// Threshold is a pipeline.ThresholdMethod; "": DefaultThreshold.
	Threshold string `json:"threshold"`

	// Labels, optional: which column says a row is an anomaly. The column is
	// never a feature.
	Labels
	// TrainOn is TrainOnAll (default) or TrainOnNormal (needs Labels).
	TrainOn string `json:"train_on"`
	// Missing is the policy for missing feature values: MissingFail
	// (default), MissingDropRows or MissingImputeMedian.
	Missing string `json:"missing"`
	// ConstantColumns is the policy for features constant on the training
	// rows: ConstantKeep (default), ConstantDrop or ConstantFail.
	ConstantColumns string `json:"constant_columns"`
	// Filter keeps only the rows matching a condition (parquet.ParseFilter).
	Filter string `json:"filter,omitempty"`
	// MaxRows, when above 0, trains on a seeded uniform sample of at most
	// that many rows, read with bounded memory.
	MaxRows int `json:"max_rows,omitempty"`
	// TimeColumn, when set, makes the most recent rows the validation split.
	TimeColumn string `json:"time_column,omitempty"`
	// Digest is DigestSHA256 (default) or DigestFooter.
	Digest string `json:"digest"`

	// Force redoes a run id that already finished.
	Force bool `json:"-"`
	// Timeout stops the run like a signal when it is reached; 0: none.
	// run.json records it as ResolvedConfig.TimeoutText.
	Timeout time.Duration `json:"-"`
	// Gate sets the promotion gate.
	Gate GateOptions `json:"gate"`
	// Keep, when above 0, keeps only the newest Keep runs after this one
	// (never latest nor the run it replaced).
	Keep int `json:"keep,omitempty"`
	// ConfigFile is the job config file the options came from, if any; it
	// is recorded in run.json with its digest.
	ConfigFile string `json:"-"`

	Logger   *slog.Logger `json:"-"` // nil: discard
	Progress io.Writer    `json:"-"` // where the terminal progress line goes; nil: none
	// Report draws the run's report.html (ReportFile); nil: none. vaejob
	// sets it to report.HTML (package jobs/report draws from RunRecord, so
	// jobs cannot import it).
	Report DrawReport `json:"-"`
}

// ModelOptions override a preset's model and training settings. An empty
// or unset field keeps the preset's value; a set Optional must be positive
// where zero would make no model (epochs, batch size, latent dimension,
// learning rate), and may be zero elsewhere (--steps 0: no step budget).
type ModelOptions struct {
	Hidden       []int             `json:"hidden"` // encoder widths, e.g. 64,32; the decoder mirrors them
	LatentDim    Optional[int]     `json:"latent_dim"`
	Epochs       Optional[int]     `json:"epochs"`
	Steps        Optional[int]     `json:"steps"` // optimiser step budget (0: none, epochs only)
	BatchSize    Optional[int]     `json:"batch_size"`
	LearningRate Optional[float64] `json:"learning_rate"` // Adam's
	Objective    string            `json:"objective"`     // tutorial or elbo
	Likelihood   string            `json:"likelihood"`    // bernoulli, gaussian or laplace
	Init         string            `json:"init"`          // pytorch or glorot
	Beta         Optional[float64] `json:"beta"`          // KL weight of the elbo objective
	WarmupSteps  Optional[int]     `json:"warmup_steps"`  // steps over which beta rises from 0
	Trim         Optional[float64] `json:"trim"`          // fraction of each batch's highest-loss rows left out
	TrimFrom     Optional[int]     `json:"trim_from"`     // first step that trims
	Trainer      string            `json:"trainer"`       // TrainerFused or TrainerGraph
	Scaler       string            `json:"scaler"`        // a pipeline.ScalerKinds entry
	ScoreKind    string            `json:"score_kind"`    // a pipeline.ScoreKind
	Spikes       string            `json:"spikes"`        // SpikesOn or SpikesOff (see vae.Config.Spikes)
}

// Settings of ModelOptions.Spikes.
const (
	SpikesOn  = "on"  // features mostly on one value are scored as a spike and a slab
	SpikesOff = "off" // every varying feature is reconstructed and scored alike
)

// Trainers: how the loss and its gradients are computed.
const (
	TrainerGraph = "graph" // one gorgonia operation per step of the maths
	TrainerFused = "fused" // the loss and its gradients in one operation
)

// Defaults of the settings whose zero value is not their default; the
// flags' help names them, and resolve fills them in.
const (
	DefaultPreset             = "default"
	DefaultValidationFraction = 0.2
	DefaultThreshold          = "quantile:0.99"
	DefaultTrainOn            = TrainOnAll
	DefaultMissing            = MissingFail
	DefaultConstantColumns    = ConstantKeep
	DefaultDigest             = DigestSHA256
)

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

// PresetTutorial is the seed tutorial's model with min-max scaling; the
// default preset (DefaultPreset, also the empty string) is
// vae.DefaultConfig with vae.DefaultScaler; PresetDefaultV1 is the default
// before spike features (vae.DefaultV1Config, the same scaler).
const (
	PresetTutorial  = "tutorial"
	PresetDefaultV1 = "default-v1"
)

// Presets lists the known presets.
var Presets = []string{DefaultPreset, PresetDefaultV1, PresetTutorial}
