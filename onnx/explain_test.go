package onnx

import (
	"context"
	"fmt"
	"math"
	"math/rand"
	"slices"
	"testing"

	"github.com/vaejob/vaejob/parquet"
	"github.com/vaejob/vaejob/pipeline"
	"github.com/vaejob/vaejob/pipeline/vae"
)

// agree reports whether a runtime's value got agrees with the Go scorer's
// want within Tolerance·max(1, |want|).
func agree(got, want float32) bool {
	return math.Abs(float64(got)-float64(want)) <= Tolerance*math.Max(1, math.Abs(float64(want)))
}

// finite reports whether v is neither NaN nor infinite.
func finite(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }

// checkExplained checks a runtime's outputs feature_scores, latent_score
// and tail_probability for rows against the Go scorer (pipeline's
// ScoreParts and TailTable): each within Tolerance·max(1, |value|) on every
// row the Go scorer scores finite; the runtime's own feature scores and
// latent score sum to its score (within 1e-5 of the score); its tail
// probabilities lie in [0, 1] and are 0 exactly for the rows it scores NaN.
func checkExplained(t *testing.T, m *pipeline.Model, rows []float32, got Outputs) {
	t.Helper()
	d := m.Dim()
	n := len(rows) / d
	if len(got.FeatureScores) != n*d || len(got.LatentScore) != n || len(got.TailProbability) != n {
		t.Fatalf("%d feature scores, %d latent scores and %d tail probabilities for %d rows of %d features",
			len(got.FeatureScores), len(got.LatentScore), len(got.TailProbability), n, d)
	}
	want := m.ScoreParts(rows)
	var maxRel float64
	for r := 0; r < n; r++ {
		score, tail := got.Score[r], got.TailProbability[r]
		if !(tail >= 0 && tail <= 1) || (tail == 0) != (score != score) && score == score {
			t.Errorf("row %d: tail probability %v for score %v", r, tail, score)
		}
		if score != score && tail != 0 {
			t.Errorf("row %d scores NaN, tail probability %v, want 0", r, tail)
		}
		if !finite(want.Scores[r]) {
			continue
		}
		if w := m.Tail.Probability(want.Scores[r]); !agree(tail, w) {
			t.Errorf("row %d: tail probability %v, Go %v (score %v, Go %v)", r, tail, w, score, want.Scores[r])
		}
		sum := float64(got.LatentScore[r])
		for j := 0; j < d; j++ {
			g, w := got.FeatureScores[r*d+j], want.Features[r*d+j]
			sum += float64(g)
			maxRel = math.Max(maxRel, math.Abs(float64(g-w))/math.Max(1, math.Abs(float64(w))))
			if !agree(g, w) {
				t.Errorf("row %d feature %d: share %v, Go %v", r, j, g, w)
			}
		}
		if !agree(got.LatentScore[r], want.Latent[r]) {
			t.Errorf("row %d: latent score %v, Go %v", r, got.LatentScore[r], want.Latent[r])
		}
		if math.Abs(sum-float64(score)) > 1e-5*math.Max(1, math.Abs(float64(score))) {
			t.Errorf("row %d: feature scores and latent score sum to %v, score %v", r, sum, score)
		}
	}
	t.Logf("%d rows: max relative feature score error vs Go %.3g", n, maxRel)
}

// explainCase is one model of the matrix TestExplainedOutputs runs: a score
// kind, a likelihood, imputation or not, constant features or not.
type explainCase struct {
	kind             pipeline.ScoreKind
	likelihood       string // bernoulli, gaussian or laplace
	impute, constant bool
}

func (c explainCase) String() string {
	return fmt.Sprintf("%s-%s-impute=%v-constant=%v", c.kind, c.likelihood, c.impute, c.constant)
}

// explainCases lists every score kind with every likelihood that gives it
// (the Bernoulli likelihood gives the squared-error score only), with and
// without imputation and constant features.
func explainCases() []explainCase {
	var cases []explainCase
	for _, kind := range pipeline.ScoreKinds {
		for _, lik := range []string{"bernoulli", "gaussian", "laplace"} {
			if lik == "bernoulli" && kind != pipeline.ScoreMSE {
				continue
			}
			for _, impute := range []bool{false, true} {
				for _, constant := range []bool{false, true} {
					cases = append(cases, explainCase{kind, lik, impute, constant})
				}
			}
		}
	}
	return cases
}

// model returns the case's model, its tail table built from its scores on
// its rows, and those rows.
func (c explainCase) model(t *testing.T, seed int64) (*pipeline.Model, []float32) {
	t.Helper()
	a := tutorial
	if c.constant {
		a = constantArch
	}
	m, rows := randomModel(t, seed, a)
	m.Score = c.kind
	d := m.Dim()
	scales := make([]float32, d)
	for j := range scales {
		scales[j] = 0.01 + 0.05*float32(j%4)
	}
	switch c.likelihood {
	case "gaussian":
		m.Variance = scales
	case "laplace":
		m.LaplaceScale = scales
	}
	if c.kind == pipeline.ScoreELBO {
		m.LogVarBound = 2
	}
	if c.impute {
		m.Imputation = rows[d : 2*d]
	}
	setThreshold(m, rows)
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	return m, rows
}

// TestExplainedOutputs checks feature_scores, latent_score and
// tail_probability for every score kind and likelihood, with and without
// imputation and constant features, on the model's rows and on rows with
// missing values: onnx-go (Graph.RunAll on the decoded file) and ONNX
// Runtime agree with the Go scorer (see checkExplained), and the decoded
// model carries the same tail table. ONNX Runtime is skipped where it is
// not installed (unless VAEJOB_REQUIRE_ORT=1).
func TestExplainedOutputs(t *testing.T) {
	dir := t.TempDir()
	for i, c := range explainCases() {
		t.Run(c.String(), func(t *testing.T) {
			seed := int64(300 + i)
			m, rows := c.model(t, seed)
			data, err := Encode(m, testMetadata(m, seed))
			if err != nil {
				t.Fatal(err)
			}
			all := append(append([]float32(nil), rows...), specialRows(m.Dim())...)
			g, decoded, _, err := decodeAll(data)
			if err != nil {
				t.Fatal(err)
			}
			if decoded.Tail == nil || !sameFloats(decoded.Tail.Upper, m.Tail.Upper) || fmt.Sprint(decoded.Tail.AtLeast) != fmt.Sprint(m.Tail.AtLeast) || decoded.Tail.Rows != m.Tail.Rows {
				t.Fatalf("decoded tail table %+v, want %+v", decoded.Tail, m.Tail)
			}
			out, err := g.RunAll(all, len(all)/m.Dim())
			if err != nil {
				t.Fatal(err)
			}
			t.Run("onnx-go", func(t *testing.T) { checkExplained(t, m, all, out) })
			t.Run("onnxruntime", func(t *testing.T) {
				node := needORT(t)
				res := runORT(t, node, dir, c.String(), data, all, m.Dim())
				compareORT(t, m, all, res)
				checkExplained(t, m, all, res.outputs())
			})
		})
	}
}

// demoTable is the shipped demo table (the Wisconsin breast-cancer data).
const demoTable = "../testdata/breast_cancer_wisconsin.parquet"

// TestExplainedOutputsOnDemo trains a small model of every score kind and
// likelihood on the demo table (the first 80 % of its rows; the tail table
// from the other 20 %, the validation rows), with and without imputation,
// and checks feature_scores, latent_score and tail_probability of onnx-go
// and ONNX Runtime against the Go scorer (see checkExplained) on the demo
// table, and on the demo table with a value missing in one row of three.
func TestExplainedOutputsOnDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("trains nine models")
	}
	table, err := parquet.ReadTable(context.Background(), demoTable, parquet.Selection{Exclude: []string{"patient_id", "diagnosis"}})
	if err != nil {
		t.Fatal(err)
	}
	d := len(table.Names)
	split := table.Rows * 8 / 10 * d
	train, val := table.Data[:split], table.Data[split:]
	sc, _, err := pipeline.FitMinMax(train, d)
	if err != nil {
		t.Fatal(err)
	}
	missing := slices.Clone(table.Data)
	for i := 3; i < len(missing); i += 3*d + 5 { // a value missing in one row of three
		missing[i] = float32(math.NaN())
	}
	medians, _ := pipeline.FitMedians(train, d, pipeline.CompleteRows(train, d))
	node := ""
	dir := t.TempDir()
	for _, c := range explainCases() {
		if c.constant || c.impute {
			continue // the demo table has no constant feature; imputation is a loop below
		}
		t.Run(fmt.Sprintf("%s-%s", c.kind, c.likelihood), func(t *testing.T) {
			m := trainDemo(t, c, table.Names, sc, train)
			for _, impute := range []bool{false, true} {
				m.Imputation = nil
				if impute {
					m.Imputation = medians
				}
				setThreshold(m, val)
				data, err := Encode(m, testMetadata(m, 1))
				if err != nil {
					t.Fatal(err)
				}
				g, err := DecodeGraph(data)
				if err != nil {
					t.Fatal(err)
				}
				for name, rows := range map[string][]float32{"demo": table.Data, "missing": missing} {
					name = fmt.Sprintf("%s-impute=%v", name, impute)
					t.Run(name+"/onnx-go", func(t *testing.T) {
						out, err := g.RunAll(rows, len(rows)/d)
						if err != nil {
							t.Fatal(err)
						}
						checkExplained(t, m, rows, out)
					})
					t.Run(name+"/onnxruntime", func(t *testing.T) {
						if node == "" {
							node = needORT(t)
						}
						res := runORT(t, node, dir, fmt.Sprintf("%s-%s-%s", c.kind, c.likelihood, name), data, rows, d)
						compareORT(t, m, rows, res)
						checkExplained(t, m, rows, res.outputs())
					})
				}
			}
		})
	}
}

// trainDemo trains a small model of the case's score kind and likelihood
// on the raw training rows train, scaled by sc.
func trainDemo(t *testing.T, c explainCase, names []string, sc pipeline.Scaler, train []float32) *pipeline.Model {
	t.Helper()
	cfg := vae.TutorialConfig()
	cfg.Epochs, cfg.Score, cfg.Likelihood = 30, c.kind, vae.Likelihood(c.likelihood)
	if c.likelihood != "bernoulli" {
		cfg.Objective, cfg.LogVarBound = vae.ObjectiveELBO, 10
	}
	scaled := make([]float32, len(train))
	d := len(names)
	for r := 0; r < len(train)/d; r++ {
		sc.Transform(train[r*d:(r+1)*d], scaled[r*d:(r+1)*d])
	}
	m, _, err := vae.Train(context.Background(), cfg, vae.Data{Names: names, Train: scaled, Validation: scaled[:10*d]}, rand.New(rand.NewSource(1)), nil)
	if err != nil {
		t.Fatal(err)
	}
	m.Scaler = sc
	return m
}
