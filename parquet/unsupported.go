package parquet

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
)

// A column chunk that cannot be read is either corrupt (bytes that no
// reader could make sense of: the file must be re-created or
// re-downloaded) or valid Parquet that this reader has no decoder for (an
// encoding or a compression codec arrow-go does not implement: the same
// file will fail every time, and the fix is to write it with other
// options). readFailure tells them apart: first from the chunk's footer
// metadata (its codec and the encodings it lists), then from what the
// decoder said, which names an unknown encoding in a page header.

// decodable says which physical types arrow-go v18 decodes each data
// encoding for. RLE and BIT_PACKED are listed for every type because the
// footer lists them for the definition and repetition levels too.
var decodable = map[pq.Encoding][]pq.Type{
	pq.Encodings.Plain:                nil, // every type
	pq.Encodings.PlainDict:            nil,
	pq.Encodings.RLEDict:              nil,
	pq.Encodings.RLE:                  nil,
	pq.Encodings.BitPacked:            nil,
	pq.Encodings.DeltaBinaryPacked:    {pq.Types.Int32, pq.Types.Int64},
	pq.Encodings.DeltaLengthByteArray: {pq.Types.ByteArray},
	pq.Encodings.DeltaByteArray:       {pq.Types.ByteArray},
	pq.Encodings.ByteStreamSplit:      {pq.Types.Float, pq.Types.Double, pq.Types.Int32, pq.Types.Int64, pq.Types.FixedLenByteArray},
	pq.Encodings.ALP:                  {pq.Types.Float, pq.Types.Double},
}

// canDecode says whether arrow-go decodes values of type t in encoding e.
func canDecode(e pq.Encoding, t pq.Type) bool {
	types, ok := decodable[e]
	return ok && (types == nil || slices.Contains(types, t))
}

// encodingName names e, or its number when the Parquet format this reader
// knows has no such encoding.
func encodingName(e pq.Encoding) string {
	if s := e.String(); s != "<UNSET>" {
		return s
	}
	return "number " + strconv.Itoa(int(e)) + " (not an encoding of the Parquet format this reader knows)"
}

// codecName names c, or its number when it is no codec of the format.
func codecName(c compress.Compression) string {
	if s := c.String(); s != "<UNSET>" {
		return s
	}
	return "number " + strconv.Itoa(int(c)) + " (not a codec of the Parquet format this reader knows)"
}

// physicalName names a physical type as the Parquet format spells it.
func physicalName(t pq.Type) string {
	return t.String()
}

// decoderSaysUnsupported holds what arrow-go's decoders say, as an error
// or a panic, when a page uses an encoding or codec they do not implement.
var decoderSaysUnsupported = []string{
	"unknown encoding type",
	"unimplemented encoding",
	"only boolean supports RLE encoding",
	"only float and double support ALP encoding",
	"dictionary decoding unimplemented",
	"no bool dictionary encoding",
	"compression for", // "compression for LZO unimplemented"
	"unimplemented",
}

// unknownNumberAdvice ends the error about an encoding or codec number
// outside the Parquet format: a newer format's, which vaejob cannot
// decode, or damage, which cannot be told apart.
const unknownNumberAdvice = "it is unknown: either a newer writer used an encoding or codec that vaejob cannot decode, or the file is damaged; re-create it with PLAIN or dictionary encoding and snappy, zstd or no compression, or re-download it if it may have been damaged"

// readFailure turns a failure to read field fi of row group rg (an error,
// or the value of a recovered decoder panic) into an error wrapping
// ErrBadInput that says either "unsupported", naming the encoding or codec
// and the column, "unknown" for an encoding or codec number outside the
// format (a newer format's or damage), or "corrupt", with the advice to
// re-create the file. A failure of the system to read the file (an error
// with its path and errno, such as an I/O error) is none of these: it is
// reported as such, with the errno kept in the chain.
func (s *parquetSource) readFailure(fi, rg int, cause any) error {
	name := s.fs[fi].Name
	if err, ok := cause.(error); ok && isSystemError(err) {
		return badInput("column %q, row group %d cannot be read: %w", name, rg, err)
	}
	if err := s.unsupportedIn(fi, rg); err != nil {
		return err
	}
	// thrift names an encoding outside the format "<UNSET>".
	msg := fmt.Sprint(cause)
	if strings.Contains(msg, "<UNSET>") {
		msg = strings.ReplaceAll(msg, "<UNSET>", "(a number the Parquet format does not define)")
		return badInput("column %q, row group %d: a page names an encoding or codec by a number that no Parquet format this reader knows defines (the decoder said: %s); %s", name, rg, msg, unknownNumberAdvice)
	}
	for _, sign := range decoderSaysUnsupported {
		if strings.Contains(msg, sign) {
			return unsupported("column %q, row group %d uses an encoding or compression that vaejob cannot decode (the decoder said: %s); the file is not corrupt, so reading it again will not help: write it with PLAIN or dictionary encoding and snappy, zstd or no compression, or leave the column out", name, rg, msg)
		}
	}
	if err, ok := cause.(error); ok {
		return badInput("column %q, row group %d is corrupt: %w; re-create or re-download the file", name, rg, err)
	}
	return badInput("column %q, row group %d is corrupt (the decoder failed: %v); re-create or re-download the file", name, rg, cause)
}

// unsupportedIn returns an error naming the first codec or encoding of
// field fi's column chunks in row group rg that arrow-go cannot decode, as
// the footer lists them, or nil when it lists none.
func (s *parquetSource) unsupportedIn(fi, rg int) error {
	name := s.fs[fi].Name
	rgmd := s.pf.MetaData().RowGroup(rg)
	leaves := make([]int, 0, len(s.leaves[fi]))
	for leaf := range s.leaves[fi] {
		leaves = append(leaves, leaf)
	}
	slices.Sort(leaves)
	for _, leaf := range leaves {
		md, err := rgmd.ColumnChunk(leaf)
		if err != nil {
			continue
		}
		where := fmt.Sprintf("column %q", name)
		if len(leaves) > 1 {
			where = fmt.Sprintf("column %q (its leaf %s)", name, md.PathInSchema())
		}
		if c := md.Compression(); c.String() == "<UNSET>" {
			return badInput("%s is compressed with the codec number %d, which no Parquet format this reader knows defines; %s", where, int(c), unknownNumberAdvice)
		}
		if _, err := compress.GetCodec(md.Compression()); err != nil {
			return unsupported("%s is compressed with the Parquet codec %s, which vaejob cannot decompress; the file is not corrupt, so reading it again will not help: write it with snappy, gzip, brotli, zstd, lz4 (LZ4_RAW) or no compression", where, codecName(md.Compression()))
		}
		t := md.Type()
		_, flba := s.deltaFLBALeaf(fi, rg)
		for _, e := range md.Encodings() {
			if flba && e == pq.Encodings.DeltaByteArray {
				continue // flba.go reads it
			}
			if e.String() == "<UNSET>" {
				return badInput("%s lists the encoding number %d, which no Parquet format this reader knows defines; %s", where, int(e), unknownNumberAdvice)
			}
			if !canDecode(e, t) {
				return unsupported("%s holds %s values in the encoding %s, which vaejob cannot decode for that type; the file is not corrupt, so reading it again will not help: write the column with PLAIN or dictionary encoding, or leave it out", where, physicalName(t), encodingName(e))
			}
		}
	}
	return nil
}
