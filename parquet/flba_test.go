package parquet

import (
	"bytes"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
)

// TestFLBAPagesConvert checks the page conversion of flba.go on pages made
// by hand: fixed-length values (3 bytes: "abc", "def") in PLAIN and
// BYTE_STREAM_SPLIT become PLAIN BYTE_ARRAY values (a 4-byte length
// before each), the levels before them stay as they were, and pages in
// other encodings keep their bytes.
func TestFLBAPagesConvert(t *testing.T) {
	plainBA := []byte("\x03\x00\x00\x00abc\x03\x00\x00\x00def")
	rleLevels := []byte{2, 0, 0, 0, 0x04, 0x03} // 4-byte length, then RLE runs
	tests := []struct {
		name     string
		maxDef   int16
		page     file.Page
		wantData []byte
		wantEnc  pq.Encoding
	}{
		{"v1 PLAIN, RLE levels", 1,
			file.NewDataPageV1(memory.NewBufferBytes(append(bytes.Clone(rleLevels), "abcdef"...)), 3, pq.Encodings.Plain, pq.Encodings.RLE, pq.Encodings.RLE, 12),
			append(bytes.Clone(rleLevels), plainBA...), pq.Encodings.Plain},
		{"v1 PLAIN, BIT_PACKED levels of 10 values", 1,
			file.NewDataPageV1(memory.NewBufferBytes([]byte("\xff\x01abcdef")), 10, pq.Encodings.Plain, pq.Encodings.BitPacked, pq.Encodings.RLE, 8),
			append([]byte{0xff, 0x01}, plainBA...), pq.Encodings.Plain},
		{"v1 PLAIN, required", 0,
			file.NewDataPageV1(memory.NewBufferBytes([]byte("abcdef")), 2, pq.Encodings.Plain, pq.Encodings.RLE, pq.Encodings.RLE, 6),
			plainBA, pq.Encodings.Plain},
		{"v2 BYTE_STREAM_SPLIT", 1,
			file.NewDataPageV2(memory.NewBufferBytes([]byte("\x07adbecf")), 3, 1, 3, pq.Encodings.ByteStreamSplit, 1, 0, 7, false),
			append([]byte{0x07}, plainBA...), pq.Encodings.Plain},
		{"v2 DELTA_BYTE_ARRAY passes", 1,
			file.NewDataPageV2(memory.NewBufferBytes([]byte("\x07delta")), 3, 1, 3, pq.Encodings.DeltaByteArray, 1, 0, 6, false),
			[]byte("\x07delta"), pq.Encodings.DeltaByteArray},
		{"v1 dictionary indices pass", 0,
			file.NewDataPageV1(memory.NewBufferBytes([]byte("\x01\x03\x00")), 2, pq.Encodings.PlainDict, pq.Encodings.RLE, pq.Encodings.RLE, 3),
			[]byte("\x01\x03\x00"), pq.Encodings.PlainDict},
		{"dictionary page", 0,
			file.NewDictionaryPage(memory.NewBufferBytes([]byte("abcdef")), 2, pq.Encodings.PlainDict),
			plainBA, pq.Encodings.Plain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &flbaPages{width: 3, maxDef: tt.maxDef}
			got, err := p.convert(tt.page)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Data(), tt.wantData) {
				t.Errorf("data = %q, want %q", got.Data(), tt.wantData)
			}
			if pq.Encoding(got.Encoding()) != tt.wantEnc {
				t.Errorf("encoding = %s, want %s", pq.Encoding(got.Encoding()), tt.wantEnc)
			}
		})
	}
	// Values that do not divide into the column's width are an error.
	p := &flbaPages{width: 3}
	if _, err := p.convert(file.NewDataPageV1(memory.NewBufferBytes([]byte("abcd")), 2, pq.Encodings.Plain, pq.Encodings.RLE, pq.Encodings.RLE, 4)); err == nil {
		t.Error("4 bytes of 3-byte values converted without an error")
	}
}
