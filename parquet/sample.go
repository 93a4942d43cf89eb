package parquet

import (
	"math"
	"math/rand"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// sampleSink keeps a uniform random sample of at most max rows of a read
// (reservoir sampling): the first max rows fill the reservoir, then row k
// (counting from 1) replaces a random slot with probability max/k, so that
// every row is kept with the same probability and memory is bounded by the
// sample, not the input.
type sampleSink struct {
	sinkStart
	max     int
	rand    *rand.Rand
	offered int64        // rows offered so far
	stats   []valueStats // per feature, its missing values
	kept    []keptStore  // by Selection.Keep, one value per slot
}

func (s *sampleSink) begin(st sinkStart) {
	s.sinkStart = st
	s.stats = make([]valueStats, len(st.t.Names))
	s.kept = make([]keptStore, len(st.kept))
}

func (s *sampleSink) dropsFeatures() bool { return true }

// prepare converts the batch into a buffer of sc, for add to sample.
func (s *sampleSink) prepare(b *rowBatch, sc *scratch) error {
	b.data = lendSlice[float32](sc, b.rows*len(s.t.Names))
	return b.convert(s.sinkStart, b.data)
}

func (s *sampleSink) add(b *rowBatch) error {
	t, n, nf := s.t, b.rows, len(s.t.Names)
	buf := b.data
	addStats(s.stats, b.stats)
	if t.Data == nil {
		// The reservoir's final size, allocated once.
		rows := int64(s.max)
		if s.expectRows > 0 {
			rows = min(rows, s.expectRows)
		}
		t.Data = make([]float32, 0, rows*int64(nf))
		adviseHugePages(t.Data)
	}
	// Which slot each row of the batch goes to, -1 for none.
	slots := make([]int, n)
	for i := range slots {
		seen := s.offered
		s.offered++
		switch {
		case seen < int64(s.max):
			slots[i] = int(seen)
			t.Data = append(t.Data, buf[i*nf:(i+1)*nf]...)
			t.Rows++
		default:
			slots[i] = -1
			if j := s.rand.Int63n(seen + 1); j < int64(s.max) {
				slots[i] = int(j)
				copy(t.Data[int(j)*nf:], buf[i*nf:(i+1)*nf])
			}
		}
	}
	for k, kb := range b.kept {
		if err := s.kept[k].put(s.sel.Keep[k], kb.field, kb.chunks, slots); err != nil {
			return err
		}
	}
	return nil
}

func (s *sampleSink) finish() (*Table, error) {
	return s.finishTable(s.stats, len(s.kept), func(k int) (arrow.Field, []arrow.Array, error) {
		field, chunks := s.kept[k].array(s.mem, s.sel.Keep[k], s.t.Rows)
		return field, chunks, nil
	})
}

// keptStore holds a kept column of a sampled read, one value per reservoir
// slot: numbers (booleans as 0/1, timestamps and dates as seconds since the
// epoch) as float64, text as strings.
type keptStore struct {
	isText, set bool
	num         []float64
	text        []string
	valid       []bool
}

// put stores the values of the batch rows that slots sends to a reservoir
// slot (slot -1: the row is not kept).
func (k *keptStore) put(name string, field arrow.Field, chunks []arrow.Array, slots []int) error {
	text := isText(field.Type)
	if !k.set {
		k.set, k.isText = true, text
	}
	if k.isText != text {
		return badInput("column %q is text in some files and numbers in others", name)
	}
	row := 0
	for _, c := range chunks {
		var num func(int) float64
		var str func(int) string
		if text {
			str = formatter(c)
		} else {
			var err error
			if num, err = orderValue(c); err != nil {
				return badInput("column %q cannot be kept in a sample: %w", name, err)
			}
		}
		for i := 0; i < c.Len(); i, row = i+1, row+1 {
			slot := slots[row]
			if slot < 0 {
				continue
			}
			if slot == len(k.valid) {
				k.valid = append(k.valid, false)
				k.num = append(k.num, 0)
				k.text = append(k.text, "")
			}
			k.valid[slot] = !c.IsNull(i)
			if !k.valid[slot] {
				continue
			}
			if text {
				k.text[slot] = str(i)
			} else {
				k.num[slot] = num(i)
			}
		}
	}
	return nil
}

// array builds the column of n sampled rows, with buffers from mem.
func (k *keptStore) array(mem memory.Allocator, name string, n int) (arrow.Field, []arrow.Array) {
	if k.isText {
		b := array.NewStringBuilder(mem)
		defer b.Release()
		b.AppendValues(k.text[:n], k.valid[:n])
		return arrow.Field{Name: name, Type: arrow.BinaryTypes.String, Nullable: true}, []arrow.Array{b.NewArray()}
	}
	b := array.NewFloat64Builder(mem)
	defer b.Release()
	b.AppendValues(k.num[:n], k.valid[:n])
	return arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Float64, Nullable: true}, []arrow.Array{b.NewArray()}
}

// orderValue reads entry i of arr as a float64 that orders like the value:
// numbers and booleans as themselves, timestamps and dates as seconds since
// the epoch, whatever their unit, so that files written with other units
// still compare.
func orderValue(arr arrow.Array) (func(int) float64, error) {
	switch a := arr.(type) {
	case *array.Timestamp:
		perSecond := float64(a.DataType().(*arrow.TimestampType).Unit.Multiplier()) / 1e9
		return func(i int) float64 { return float64(a.Value(i)) * perSecond }, nil
	case *array.Date32:
		return func(i int) float64 { return float64(a.Value(i)) * 86400 }, nil
	case *array.Date64:
		return func(i int) float64 { return float64(a.Value(i)) / 1000 }, nil
	case *array.Dictionary:
		inner, err := orderValue(a.Dictionary())
		if err != nil {
			return nil, err
		}
		return func(i int) float64 {
			j := a.GetValueIndex(i)
			if a.Dictionary().IsNull(j) {
				return math.NaN()
			}
			return inner(j)
		}, nil
	}
	return valueFunc(arr)
}
