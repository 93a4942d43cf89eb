package jobs

import (
	"errors"
	"fmt"
	"strings"

	"github.com/vaejob/vaejob/onnx"
	"github.com/vaejob/vaejob/parquet/regfile"
	"github.com/vaejob/vaejob/pipeline"
)

// maxModelBytes bounds the model file score, verify and evaluate read,
// 2 GiB: a vaejob model is kilobytes to a few megabytes, and an ONNX file
// is one protobuf message, which cannot be larger.
const maxModelBytes = 2 << 30

// loadedModel is a --model file that loadModel read, decoded and checked.
type loadedModel struct {
	data  []byte // the file's bytes
	model *pipeline.Model
	meta  onnx.Metadata
}

// loadModel reads, decodes and checks the --model file of score, evaluate
// and verify: the one place a model file is accepted before it is used.
//
// A file that cannot be read, is not ONNX, or is not a vaejob model (its
// layout or metadata, the test vector included, are not what vaejob train
// writes) is bad input. A vaejob model whose embedded test vector the Go
// scorer does not score as recorded (onnx.CheckTestVector: its weights were
// changed after it was written) is damaged, an error wrapping ErrVerify.
func loadModel(path string) (*loadedModel, error) {
	data, err := readModelFile(path)
	if err != nil {
		return nil, err
	}
	m, meta, err := onnx.Decode(data)
	if err != nil {
		return nil, notAModel(path, err)
	}
	rep, err := onnx.CheckTestVector(m, meta.TestVector)
	switch {
	case errors.Is(err, onnx.ErrMismatch):
		return nil, kind(ErrVerify, damagedModel(path, rep))
	case err != nil:
		return nil, notAModel(path, err)
	}
	return &loadedModel{data: data, model: m, meta: meta}, nil
}

// notAModel is the bad-input error for a --model file that is not a vaejob
// model.
func notAModel(path string, err error) error {
	return kind(ErrBadInput, fmt.Errorf("--model %s is not a vaejob model: %w; give the model.onnx that vaejob train wrote", path, err))
}

// damagedModel words the refusal of a model that fails its test vector.
func damagedModel(path string, rep *onnx.Report) error {
	first := make([]string, len(rep.Mismatches))
	for i, m := range rep.Mismatches {
		first[i] = fmt.Sprintf("row %d scores %v, recorded %v", m.Row, m.Got, m.Want)
	}
	return fmt.Errorf("--model %s: the model file is damaged: its test vector scores %d of %d rows differently from the scores recorded when it was written (%s; max abs error %.3g); re-publish or restore it",
		path, rep.Failed, rep.TestVectorRows, strings.Join(first, "; "), rep.MaxAbsErr)
}

// readModelFile reads the --model file. A missing, unreadable or oversized
// file, or one that is not a regular file (a FIFO would block the read
// forever), is bad input.
func readModelFile(path string) ([]byte, error) {
	data, err := regfile.ReadFile(path, maxModelBytes)
	if err != nil {
		return nil, kind(ErrBadInput, fmt.Errorf("--model: %w", userFileError(err, "a model.onnx file")))
	}
	return data, nil
}
