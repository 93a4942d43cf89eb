package jobs

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/vaejob/vaejob/parquet"
	"github.com/vaejob/vaejob/pipeline"
	"github.com/vaejob/vaejob/pipeline/vae"
)

// This file checks a run's TrainOptions and fills them in: one validator
// per group of settings (data, output, model, labels, threshold, gate).
// Every check of a train setting is here or in GateOptions.check, and every
// error names the flag.

// ResolvedConfig is the configuration a run used: its TrainOptions with the
// preset and every default filled in (run.json's config), and what resolve
// parsed from them.
type ResolvedConfig struct {
	TrainOptions
	// LogVarBound is the preset's bound on the log-variance; no flag sets
	// it.
	LogVarBound float32 `json:"logvar_bound"`
	// TimeoutText is TrainOptions.Timeout as text ("30m0s"); empty: none.
	TimeoutText string `json:"timeout,omitempty"`

	vae       vae.Config
	threshold pipeline.ThresholdMethod
	filter    *parquet.Filter
}

// resolve checks every setting of o and fills in the preset's values and
// the defaults. o itself is left as it is. Its errors wrap ErrUsage.
func (o *TrainOptions) resolve() (ResolvedConfig, error) {
	r := ResolvedConfig{TrainOptions: *o}
	for _, step := range []func() error{r.resolveData, r.resolveOutput, r.resolveModel, r.resolveLabels, r.resolveThreshold, r.resolveGate} {
		if err := step(); err != nil {
			return ResolvedConfig{}, err
		}
	}
	return r, nil
}

// usagef returns an error wrapping ErrUsage.
func usagef(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUsage, fmt.Sprintf(format, args...))
}

// wantOneOf refuses a flag's value that is not among known.
func wantOneOf(flag, value string, known ...string) error {
	if slices.Contains(known, value) {
		return nil
	}
	return usagef("%s %q: want %s or %s", flag, value, strings.Join(known[:len(known)-1], ", "), known[len(known)-1])
}

// positive refuses an optional number given as zero or less, which would
// otherwise read as "not given".
func positive[T int | float64](flag string, v Optional[T]) error {
	if v.IsSet() && !(v.Get() > 0) {
		return usagef("%s %v: want a positive number", flag, v.Get())
	}
	return nil
}

// resolveData checks what is read and how: the inputs, the columns, the
// row filter and sampling, and the missing-value, constant-column and
// digest policies.
func (r *ResolvedConfig) resolveData() error {
	switch {
	case len(r.Inputs) == 0 || slices.Contains(r.Inputs, ""):
		return usagef("--input is required: the Parquet or Arrow data to train on (a file, a folder or a glob)")
	case r.MaxRows < 0:
		return usagef("--max-rows %d: want a positive number of rows (0: all)", r.MaxRows)
	case r.MaxRows > 0 && r.MaxRows < 10:
		return usagef("--max-rows %d is too few rows to train on; keep at least 10", r.MaxRows)
	case r.TimeColumn != "" && (slices.Contains(r.Features, r.TimeColumn) || r.TimeColumn == r.Labels.Column):
		return usagef("--time-column %q is also a feature or the label column; the time orders the rows and is never a feature", r.TimeColumn)
	}
	// The reader owns the rules of a column selection; checking them here
	// refuses a bad one before --out is touched.
	if err := (parquet.Selection{Features: r.Features, Exclude: r.Exclude}).Validate(); err != nil {
		return kind(ErrUsage, withFlags(err))
	}
	r.Missing = cmp.Or(r.Missing, DefaultMissing)
	r.ConstantColumns = cmp.Or(r.ConstantColumns, DefaultConstantColumns)
	r.Digest = cmp.Or(r.Digest, DefaultDigest)
	if err := cmp.Or(
		wantOneOf("--missing", r.Missing, MissingFail, MissingDropRows, MissingImputeMedian),
		wantOneOf("--constant-columns", r.ConstantColumns, ConstantKeep, ConstantDrop, ConstantFail),
		wantOneOf("--digest", r.Digest, DigestSHA256, DigestFooter),
	); err != nil {
		return err
	}
	if r.Filter != "" {
		filter, err := parquet.ParseFilter(r.Filter)
		if err != nil {
			return kind(ErrUsage, withFlags(err))
		}
		r.filter = filter
	}
	return nil
}

// resolveOutput checks where and how the run is kept: --out, --run-id,
// --keep and --timeout.
func (r *ResolvedConfig) resolveOutput() error {
	switch {
	case r.Out == "":
		return usagef("--out is required: the directory that holds runs/ and latest")
	case r.Keep < 0 || r.Timeout < 0:
		return usagef("--keep and --timeout must not be negative")
	}
	if r.RunID != "" {
		if err := CheckRunID(r.RunID); err != nil {
			return err
		}
	}
	if r.Timeout > 0 {
		r.TimeoutText = r.Timeout.String()
	}
	return nil
}

// resolveModel applies the preset and the model knobs given over it, and
// checks the resulting model.
func (r *ResolvedConfig) resolveModel() error {
	name := cmp.Or(strings.ToLower(r.Preset), DefaultPreset)
	cfg, scaler, ok := presetConfig(name)
	if !ok {
		return usagef("unknown preset %q; known presets: %s", r.Preset, strings.Join(Presets, ", "))
	}
	m := &r.ModelOptions
	if err := m.checkPositive(); err != nil {
		return err
	}
	if m.Trainer != "" {
		if err := wantOneOf("--trainer", m.Trainer, TrainerGraph, TrainerFused); err != nil {
			return err
		}
	}
	if m.Spikes != "" {
		if err := wantOneOf("--spikes", m.Spikes, SpikesOn, SpikesOff); err != nil {
			return err
		}
	}
	m.Scaler = cmp.Or(m.Scaler, scaler)
	if !slices.Contains(pipeline.ScalerKinds, m.Scaler) {
		return usagef("unknown scaler %q; known: %s", m.Scaler, strings.Join(pipeline.ScalerKinds, ", "))
	}
	spikesGiven := m.Spikes
	m.bind(&cfg)
	if spikesGiven == SpikesOn && !cfg.SpikesFit() {
		return usagef("--spikes on needs --likelihood gaussian or laplace and a likelihood --score (not mse_mu); got --likelihood %s --score %s (or give --spikes off)", cfg.Likelihood, cfg.Score)
	}
	if err := cfg.Validate(); err != nil {
		return usagef("%v", err)
	}
	r.Preset, r.vae, r.LogVarBound = name, cfg, cfg.LogVarBound
	return nil
}

// resolveLabels checks the label settings against each other and the
// features.
func (r *ResolvedConfig) resolveLabels() error {
	r.TrainOn = cmp.Or(r.TrainOn, DefaultTrainOn)
	if err := wantOneOf("--train-on", r.TrainOn, TrainOnAll, TrainOnNormal); err != nil {
		return err
	}
	switch {
	case r.Labels.Column == "" && r.TrainOn == TrainOnNormal:
		return usagef("--train-on normal needs --label-column to tell normal rows from anomalies")
	case r.Labels.Column == "" && r.Labels.Normal != "":
		return usagef("--normal-value needs --label-column")
	case r.Labels.Column != "" && slices.Contains(r.Features, r.Labels.Column):
		return usagef("the label column %q is also named in --features: a label must not be a feature", r.Labels.Column)
	}
	return nil
}

// resolveThreshold checks how the threshold is chosen: the validation
// split it is chosen on and the method.
func (r *ResolvedConfig) resolveThreshold() error {
	if err := positive("--validation-fraction", r.ValidationFraction); err != nil {
		return err
	}
	r.ValidationFraction.orDefault(DefaultValidationFraction)
	if frac := r.ValidationFraction.Get(); !(frac < 1) {
		return usagef("--validation-fraction %g: want a number between 0 and 1 (exclusive), e.g. 0.2", frac)
	}
	method, err := pipeline.ParseThresholdMethod(cmp.Or(r.Threshold, DefaultThreshold))
	if err != nil {
		return usagef("--threshold: %v", err)
	}
	if r.Labels.Column == "" && method.NeedsLabels() {
		return usagef("--threshold %s needs labels: pass --label-column (and --normal-value unless the column holds 0 and 1)", method)
	}
	r.Threshold, r.threshold = method.String(), method
	return nil
}

// resolveGate checks the gate's limits and fills in their defaults.
func (r *ResolvedConfig) resolveGate() error {
	if err := r.Gate.check(); err != nil {
		return err
	}
	r.Gate.fillDefaults()
	return nil
}

// presetConfig returns a preset's model and scaler.
func presetConfig(name string) (vae.Config, string, bool) {
	switch name {
	case DefaultPreset:
		return vae.DefaultConfig(), vae.DefaultScaler, true
	case PresetDefaultV1:
		return vae.DefaultV1Config(), vae.DefaultScaler, true
	case PresetTutorial:
		return vae.TutorialConfig(), pipeline.ScalerMinMax, true
	}
	return vae.Config{}, "", false
}

// checkPositive refuses the knobs that would make no model when given as
// zero or less.
func (m *ModelOptions) checkPositive() error {
	return cmp.Or(positive("--epochs", m.Epochs), positive("--batch-size", m.BatchSize),
		positive("--latent-dim", m.LatentDim), positive("--learning-rate", m.LearningRate))
}

// bind lays the knobs given in m over the preset's cfg and fills the others
// in from it: afterwards m and cfg hold the same model. Each knob is paired
// with its vae.Config field here and nowhere else.
func (m *ModelOptions) bind(cfg *vae.Config) {
	if len(m.Hidden) > 0 {
		cfg.Hidden = m.Hidden
	}
	m.Hidden = cfg.Hidden
	for _, k := range []struct {
		opt   *Optional[int]
		field *int
	}{
		{&m.LatentDim, &cfg.Latent}, {&m.Epochs, &cfg.Epochs}, {&m.Steps, &cfg.Steps},
		{&m.BatchSize, &cfg.BatchSize}, {&m.WarmupSteps, &cfg.WarmupSteps}, {&m.TrimFrom, &cfg.TrimFrom},
	} {
		bindOptional(k.opt, k.field)
	}
	for _, k := range []struct {
		opt   *Optional[float64]
		field *float64
	}{{&m.LearningRate, &cfg.LearningRate}, {&m.Beta, &cfg.Beta}, {&m.Trim, &cfg.Trim}} {
		bindOptional(k.opt, k.field)
	}
	for _, k := range []struct{ opt, field *string }{
		{&m.Objective, (*string)(&cfg.Objective)}, {&m.Likelihood, (*string)(&cfg.Likelihood)},
		{&m.Init, (*string)(&cfg.Init)}, {&m.ScoreKind, (*string)(&cfg.Score)},
	} {
		bindString(k.opt, k.field)
	}
	if m.Trainer != "" {
		cfg.Fused = m.Trainer == TrainerFused
	}
	m.Trainer = TrainerGraph
	if cfg.Fused {
		m.Trainer = TrainerFused
	}
	switch {
	case m.Spikes != "":
		cfg.Spikes = m.Spikes == SpikesOn
	case !cfg.SpikesFit():
		// The preset's spike features, under a likelihood or score given
		// here that has none: a model knob, not a reason to fail.
		cfg.Spikes = false
	}
	m.Spikes = SpikesOff
	if cfg.Spikes {
		m.Spikes = SpikesOn
	}
}

// bindOptional sets *field to opt when opt was given, else opt to *field.
func bindOptional[T int | float64](opt *Optional[T], field *T) {
	if opt.IsSet() {
		*field = opt.Get()
	}
	*opt = OptionalOf(*field)
}

// bindString sets *field to *opt when it is not empty, else *opt to
// *field.
func bindString(opt, field *string) {
	if *opt != "" {
		*field = *opt
	}
	*opt = *field
}
