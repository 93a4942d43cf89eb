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

// TestEncodeInParallel: batches encoded at the same time on several
// goroutines (Encode) and written in order (WriteEncoded) give the bytes
// WriteRows gives, in every format.
func TestEncodeInParallel(t *testing.T) {
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
	for _, format := range []Format{CSV, Parquet, Arrow} {
		var want bytes.Buffer
		sw, err := NewScoreWriterLayout(&want, format, kept, layout)
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
		sw, err = NewScoreWriterLayout(&got, format, kept, layout)
		if err != nil {
			t.Fatal(err)
		}
		encoded := make([]Encoded, batches)
		errs := make([]error, batches)
		var wg sync.WaitGroup
		for i, b := range in {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = sw.Encode(&encoded[i], b.kept, b.rows)
			}()
		}
		wg.Wait()
		for i := range encoded {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if err := sw.WriteEncoded(&encoded[i]); err != nil {
				t.Fatal(err)
			}
			encoded[i].Release()
		}
		if err := sw.Close(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Errorf("%v encoded in parallel: %d bytes, WriteRows wrote %d", format, got.Len(), want.Len())
		}
	}
	sw, err := NewScoreWriterLayout(io.Discard, Parquet, kept, layout)
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.WriteEncoded(&Encoded{}); !errors.Is(err, ErrUsage) {
		t.Errorf("nothing encoded, written: %v", err)
	}
}
