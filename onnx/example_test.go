package onnx_test

import (
	"fmt"
	"log"
	"math"

	"github.com/vaejob/vaejob/onnx"
	"github.com/vaejob/vaejob/pipeline"
)

func Example() {
	// A tiny model: 2 features, one 2→1 encoder layer, a 1→1 latent mean and
	// a 1→2 decoder layer with a sigmoid.
	m := &pipeline.Model{
		Features: []string{"latency_ms", "errors"},
		Scaler: pipeline.Scaler{Kind: "minmax",
			Offset: []float32{0, 0}, Scale: []float32{0.01, 0.1}, Min: []float32{0, 0}, Max: []float32{100, 10}},
		Encoder:         []pipeline.Dense{{In: 2, Out: 1, W: []float32{1, 1}, B: []float32{0}, Activation: pipeline.ReLU}},
		Mu:              pipeline.Dense{In: 1, Out: 1, W: []float32{1}, B: []float32{0}},
		Decoder:         []pipeline.Dense{{In: 1, Out: 2, W: []float32{2, 2}, B: []float32{-1, -1}, Activation: pipeline.Sigmoid}},
		Score:           pipeline.ScoreMSE,
		Threshold:       0.1,
		ThresholdMethod: "fixed",
	}
	data, err := onnx.Encode(m, onnx.Metadata{ProducerVersion: "example", RunID: "run-1"})
	if err != nil {
		log.Fatal(err)
	}

	decoded, meta, err := onnx.Decode(data)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("features:", decoded.Features, "run:", meta.RunID)

	g, err := onnx.DecodeGraph(data)
	if err != nil {
		log.Fatal(err)
	}
	rows := []float32{
		50, 5, // a typical row
		100, 0, // an unusual mix
		float32(math.NaN()), 1, // a missing value is never silently normal
	}
	score, alert, err := g.Run(rows, 3)
	if err != nil {
		log.Fatal(err)
	}
	for i := range score {
		fmt.Printf("row %d: score %.4f anomaly %v\n", i, score[i], alert[i])
	}

	rep, err := onnx.Verify(data, rows, 3, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("verified %d checks, %d failed\n", rep.Checks, rep.Failed)
	// Output:
	// features: [latency_ms errors] run: run-1
	// row 0: score 0.0534 anomaly false
	// row 1: score 0.3034 anomaly true
	// row 2: score NaN anomaly true
	// verified 9 checks, 0 failed
}
