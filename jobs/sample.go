package jobs

// validationSampleRows is how many validation rows (with their training-time
// scores) are kept beside the model for vaejob verify.
const validationSampleRows = 256

// ValidationSample is the content of validation_sample.json: real validation
// rows (raw values, in the model's feature order) and the scores the Go
// scorer gave them at training time.
type ValidationSample struct {
	Features []string    `json:"features"`
	Rows     [][]float32 `json:"rows"`
	Scores   []float32   `json:"scores"`
}

// makeValidationSample keeps the first validationSampleRows of the rows x
// (d values each, row-major) and their scores.
func makeValidationSample(names []string, x, scores []float32, d int) ValidationSample {
	n := min(len(scores), validationSampleRows)
	s := ValidationSample{Features: names, Rows: make([][]float32, n), Scores: scores[:n]}
	for r := range n {
		s.Rows[r] = x[r*d : (r+1)*d]
	}
	return s
}
