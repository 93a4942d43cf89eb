package parquet

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strconv"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestEncodeCSVInParallel: batches encoded at the same time on several
// goroutines (EncodeCSV) and written in order (WriteEncoded) give the bytes
// WriteRows gives; a writer of another format does not encode.
func TestEncodeCSVInParallel(t *testing.T) {
	kept := []arrow.Field{{Name: "id", Type: arrow.BinaryTypes.String}}
	layout := ScoreLayout{Tail: true}
	const batches, n = 6, 500
	type batch struct {
		kept []arrow.Array
		rows ScoreRows
	}
	var in []batch
	for b := range batches {
		ids := array.NewStringBuilder(memory.DefaultAllocator)
		rows := ScoreRows{}
		for i := range n {
			r := b*n + i
			ids.Append("row, \"" + strconv.Itoa(r) + "\"")
			score := float32(r) / 7
			if r%50 == 3 {
				score = float32(math.NaN())
			}
			rows.Score = append(rows.Score, score)
			rows.IsAnomaly = append(rows.IsAnomaly, r%9 == 0)
			rows.Tail = append(rows.Tail, float32(n-i)/n)
		}
		in = append(in, batch{[]arrow.Array{ids.NewArray()}, rows})
	}
	var want bytes.Buffer
	sw, err := NewScoreWriterLayout(&want, CSV, kept, layout)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range in {
		if err := sw.WriteRows(b.kept, b.rows); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Close(); err != nil {
		t.Fatal(err)
	}

	var got bytes.Buffer
	sw, err = NewScoreWriterLayout(&got, CSV, kept, layout)
	if err != nil {
		t.Fatal(err)
	}
	texts := make([][]byte, batches)
	errs := make([]error, batches)
	var wg sync.WaitGroup
	for i, b := range in {
		wg.Add(1)
		go func() {
			defer wg.Done()
			texts[i], errs[i] = sw.EncodeCSV(nil, b.kept, b.rows)
		}()
	}
	wg.Wait()
	for i, text := range texts {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if err := sw.WriteEncoded(text); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Errorf("encoded in parallel: %d bytes, WriteRows wrote %d", got.Len(), want.Len())
	}

	pq, err := NewScoreWriterLayout(io.Discard, Parquet, kept, layout)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pq.EncodeCSV(nil, in[0].kept, in[0].rows); !errors.Is(err, ErrUsage) {
		t.Errorf("a Parquet writer encoded CSV: %v", err)
	}
	if err := pq.WriteEncoded([]byte("x\n")); !errors.Is(err, ErrUsage) {
		t.Errorf("a Parquet writer wrote encoded CSV: %v", err)
	}
}
