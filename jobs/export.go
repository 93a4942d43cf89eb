package jobs

import (
	"encoding/json"
	"fmt"

	"github.com/vaejob/vaejob/onnx"
	"github.com/vaejob/vaejob/pipeline"
)

// testVectorRows is how many synthetic rows go into the model's metadata.
const testVectorRows = 4

// exportModel is the export stage: it encodes the model as ONNX, with its
// metadata and test vector, and checks the bytes with onnx-go against the
// Go scorer's scores of the validation sample (verifyModel) before they
// are published. It returns the run's files: the model and the sample.
func exportModel(model *pipeline.Model, runID, dataDigest string, seed int64, v *validation) ([]namedFile, error) {
	meta := onnx.Metadata{
		ProducerVersion:    Version,
		RunID:              runID,
		TrainingDataSHA256: dataDigest,
		TestVector:         pipeline.MakeTestVector(model, streamRand(seed, "test-vector"), testVectorRows),
	}
	modelBytes, err := onnx.Encode(model, meta)
	if err != nil {
		return nil, fmt.Errorf("export ONNX: %w", err)
	}
	sample := makeValidationSample(model.Features, v.finiteRows, v.finiteScores, model.Dim())
	if err := verifyModel(modelBytes, &sample); err != nil {
		return nil, fmt.Errorf("check exported model: %w", err)
	}
	sampleBytes, err := json.MarshalIndent(sample, "", " ")
	if err != nil {
		return nil, err
	}
	return []namedFile{{ModelFile, modelBytes}, {ValidationSampleFile, sampleBytes}}, nil
}

// verifyModel checks freshly encoded model bytes against the scores the Go
// scorer gave the validation sample, before the model is published.
func verifyModel(data []byte, s *ValidationSample) error {
	var rows []float32
	for _, r := range s.Rows {
		rows = append(rows, r...)
	}
	_, err := onnx.Verify(data, rows, len(s.Rows), s.Scores)
	return err
}
