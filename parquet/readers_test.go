package parquet

import (
	"context"
	"encoding/json"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// readerNames are the readers testdata/readers/read.mjs runs, in order.
var readerNames = []string{"duckdb", "polars", "parquet-wasm", "hyparquet"}

// readerTypes is, per column of keptFixture and per reader (in the order
// of readerNames), the type the reader reports. Each is the faithful type
// of the reader for what was written, except where knownReaderGaps says
// otherwise.
var readerTypes = []struct {
	column string
	types  [4]string
}{
	{"i8", [4]string{`TINYINT`, `Int8`, `Int8`, `INT32 INT_8 {"type":"INTEGER","bitWidth":8,"isSigned":true}`}},
	{"i16", [4]string{`SMALLINT`, `Int16`, `Int16`, `INT32 INT_16 {"type":"INTEGER","bitWidth":16,"isSigned":true}`}},
	{"i32", [4]string{`INTEGER`, `Int32`, `Int32`, `INT32 INT_32 {"type":"INTEGER","bitWidth":32,"isSigned":true}`}},
	{"i64", [4]string{`BIGINT`, `Int64`, `Int64`, `INT64 INT_64 {"type":"INTEGER","bitWidth":64,"isSigned":true}`}},
	{"u8", [4]string{`UTINYINT`, `UInt8`, `Uint8`, `INT32 UINT_8 {"type":"INTEGER","bitWidth":8,"isSigned":false}`}},
	{"u16", [4]string{`USMALLINT`, `UInt16`, `Uint16`, `INT32 UINT_16 {"type":"INTEGER","bitWidth":16,"isSigned":false}`}},
	{"u32", [4]string{`UINTEGER`, `UInt32`, `Uint32`, `INT32 UINT_32 {"type":"INTEGER","bitWidth":32,"isSigned":false}`}},
	{"u64", [4]string{`UBIGINT`, `UInt64`, `Uint64`, `INT64 UINT_64 {"type":"INTEGER","bitWidth":64,"isSigned":false}`}},
	{"f16", [4]string{`FLOAT`, `no JavaScript dtype (not yet implemented)`, `Float16`, `FIXED_LEN_BYTE_ARRAY {"type":"FLOAT16"}`}},
	{"f32", [4]string{`FLOAT`, `Float32`, `Float32`, `FLOAT`}},
	{"f64", [4]string{`DOUBLE`, `Float64`, `Float64`, `DOUBLE`}},
	{"dec5_2", [4]string{`DECIMAL(5,2)`, `Decimal(5,2)`, `Decimal[5e+2]`, `FIXED_LEN_BYTE_ARRAY DECIMAL {"type":"DECIMAL","scale":2,"precision":5}`}},
	{"dec18_4", [4]string{`DECIMAL(18,4)`, `Decimal(18,4)`, `Decimal[18e+4]`, `FIXED_LEN_BYTE_ARRAY DECIMAL {"type":"DECIMAL","scale":4,"precision":18}`}},
	{"dec38_6", [4]string{`DECIMAL(38,6)`, `Decimal(38,6)`, `Decimal[38e+6]`, `FIXED_LEN_BYTE_ARRAY DECIMAL {"type":"DECIMAL","scale":6,"precision":38}`}},
	{"str", [4]string{`VARCHAR`, `String`, `Utf8`, `BYTE_ARRAY UTF8 {"type":"STRING"}`}},
	{"large_str", [4]string{`VARCHAR`, `String`, `LargeUtf8`, `BYTE_ARRAY UTF8 {"type":"STRING"}`}},
	{"dict_str", [4]string{`VARCHAR`, `Categorical`, `Dictionary<Int32, Utf8>`, `BYTE_ARRAY UTF8 {"type":"STRING"}`}},
	{"bin", [4]string{`BLOB`, `no JavaScript dtype (not yet implemented)`, `Binary`, `BYTE_ARRAY`}},
	{"large_bin", [4]string{`BLOB`, `no JavaScript dtype (not yet implemented)`, `LargeBinary`, `BYTE_ARRAY`}},
	{"bool", [4]string{`BOOLEAN`, `Bool`, `Bool`, `BOOLEAN`}},
	{"date32", [4]string{`DATE`, `Date`, `Date32<DAY>`, `INT32 DATE {"type":"DATE"}`}},
	{"date64", [4]string{`DATE`, `Date`, `Date32<DAY>`, `INT32 DATE {"type":"DATE"}`}},
	{"time32_s", [4]string{`TIME`, `Time`, `Time32<MILLISECOND>`, `INT32 {"type":"TIME","isAdjustedToUTC":false,"unit":"MILLIS"}`}},
	{"time32_ms", [4]string{`TIME`, `Time`, `Time32<MILLISECOND>`, `INT32 {"type":"TIME","isAdjustedToUTC":false,"unit":"MILLIS"}`}},
	{"time64_us", [4]string{`TIME`, `Time`, `Time64<MICROSECOND>`, `INT64 {"type":"TIME","isAdjustedToUTC":false,"unit":"MICROS"}`}},
	{"time64_ns", [4]string{`TIME_NS`, `Time`, `Time64<NANOSECOND>`, `INT64 {"type":"TIME","isAdjustedToUTC":false,"unit":"NANOS"}`}},
	{"ts_s_naive", [4]string{`TIMESTAMP`, `Datetime(ms,)`, `Timestamp<MILLISECOND>`, `INT64 {"type":"TIMESTAMP","isAdjustedToUTC":false,"unit":"MILLIS"}`}},
	{"ts_ms_naive", [4]string{`TIMESTAMP`, `Datetime(ms,)`, `Timestamp<MILLISECOND>`, `INT64 {"type":"TIMESTAMP","isAdjustedToUTC":false,"unit":"MILLIS"}`}},
	{"ts_us_naive", [4]string{`TIMESTAMP`, `Datetime(us,)`, `Timestamp<MICROSECOND>`, `INT64 {"type":"TIMESTAMP","isAdjustedToUTC":false,"unit":"MICROS"}`}},
	{"ts_ns_naive", [4]string{`TIMESTAMP_NS`, `Datetime(ns,)`, `Timestamp<NANOSECOND>`, `INT64 {"type":"TIMESTAMP","isAdjustedToUTC":false,"unit":"NANOS"}`}},
	{"ts_s_utc", [4]string{`TIMESTAMP WITH TIME ZONE`, `Datetime(ms,UTC)`, `Timestamp<MILLISECOND, UTC>`, `INT64 TIMESTAMP_MILLIS {"type":"TIMESTAMP","isAdjustedToUTC":true,"unit":"MILLIS"}`}},
	{"ts_ms_utc", [4]string{`TIMESTAMP WITH TIME ZONE`, `Datetime(ms,UTC)`, `Timestamp<MILLISECOND, UTC>`, `INT64 TIMESTAMP_MILLIS {"type":"TIMESTAMP","isAdjustedToUTC":true,"unit":"MILLIS"}`}},
	{"ts_us_utc", [4]string{`TIMESTAMP WITH TIME ZONE`, `Datetime(us,UTC)`, `Timestamp<MICROSECOND, UTC>`, `INT64 TIMESTAMP_MICROS {"type":"TIMESTAMP","isAdjustedToUTC":true,"unit":"MICROS"}`}},
	{"ts_ns_utc", [4]string{`TIMESTAMP WITH TIME ZONE`, `Datetime(ns,UTC)`, `Timestamp<NANOSECOND, UTC>`, `INT64 {"type":"TIMESTAMP","isAdjustedToUTC":true,"unit":"NANOS"}`}},
	{"ts_s_ny", [4]string{`TIMESTAMP WITH TIME ZONE`, `Datetime(ms,America/New_York)`, `Timestamp<MILLISECOND, America/New_York>`, `INT64 TIMESTAMP_MILLIS {"type":"TIMESTAMP","isAdjustedToUTC":true,"unit":"MILLIS"}`}},
	{"ts_ms_ny", [4]string{`TIMESTAMP WITH TIME ZONE`, `Datetime(ms,America/New_York)`, `Timestamp<MILLISECOND, America/New_York>`, `INT64 TIMESTAMP_MILLIS {"type":"TIMESTAMP","isAdjustedToUTC":true,"unit":"MILLIS"}`}},
	{"ts_us_ny", [4]string{`TIMESTAMP WITH TIME ZONE`, `Datetime(us,America/New_York)`, `Timestamp<MICROSECOND, America/New_York>`, `INT64 TIMESTAMP_MICROS {"type":"TIMESTAMP","isAdjustedToUTC":true,"unit":"MICROS"}`}},
	{"ts_ns_ny", [4]string{`TIMESTAMP WITH TIME ZONE`, `Datetime(ns,America/New_York)`, `Timestamp<NANOSECOND, America/New_York>`, `INT64 {"type":"TIMESTAMP","isAdjustedToUTC":true,"unit":"NANOS"}`}},
	{"uuid", [4]string{`UUID`, `no JavaScript dtype (not yet implemented)`, `FixedSizeBinary[16]`, `FIXED_LEN_BYTE_ARRAY {"type":"UUID"}`}},
	{"interval", [4]string{`INTERVAL`, `no JavaScript dtype (not yet implemented)`, `Interval<DAY_TIME>`, `FIXED_LEN_BYTE_ARRAY INTERVAL`}},
	{"score", [4]string{`FLOAT`, `Float32`, `Float32`, `FLOAT`}},
	{"is_anomaly", [4]string{`BOOLEAN`, `Bool`, `Bool`, `BOOLEAN`}},
}

// knownReaderGaps lists, per reader and column, the values a reader cannot
// return as written, and why; these are logged, not failed. A gap that
// disappears (a newer reader) fails the test, so that this table and the
// README's stay true.
var knownReaderGaps = map[string]map[string]string{
	"duckdb": {
		"ts_ns_utc": "DuckDB has no nanosecond TIMESTAMP WITH TIME ZONE: reads microseconds (truncated)",
		"ts_ns_ny":  "DuckDB has no nanosecond TIMESTAMP WITH TIME ZONE: reads microseconds (truncated)",
	},
	"polars": {
		"bin":       "nodejs-polars 0.24 has no JavaScript dtype for Binary: values cannot be handed to JavaScript",
		"large_bin": "nodejs-polars 0.24 has no JavaScript dtype for Binary: values cannot be handed to JavaScript",
		"uuid":      "Polars has no UUID type (FixedSizeBinary, no JavaScript dtype in nodejs-polars 0.24)",
		"interval":  "Polars has no Parquet INTERVAL type (no JavaScript dtype in nodejs-polars 0.24)",
	},
	"parquet-wasm": {
		"interval": "arrow-rs reads Parquet INTERVAL as Interval(DayTime) and drops the months",
	},
	"hyparquet": {
		"dec18_4":  "hyparquet converts decimals to JavaScript numbers (float64): digits beyond 15-17 are lost",
		"dec38_6":  "hyparquet converts decimals to JavaScript numbers (float64): digits beyond 15-17 are lost",
		"interval": "hyparquet 1.33 throws on INTERVAL (\"parquet interval not supported\"); the other columns read when it is left out",
	},
}

// knownReaderErrors are errors a reader reports for the whole file and
// that are expected (see knownReaderGaps).
var knownReaderErrors = map[string]string{
	"hyparquet": "parquet interval not supported",
}

// readerResult is what read.mjs prints for one reader.
type readerResult struct {
	Error   string               `json:"error"`
	Skipped []string             `json:"skipped"`
	Types   map[string]string    `json:"types"`
	Values  map[string][]*string `json:"values"`
	// Stats holds, for DuckDB, each column's min and max as it reads them
	// from the footer's statistics.
	Stats map[string][2]*string `json:"stats"`
}

// TestScoreFileReaders writes a score file with a kept column of every
// type and reads it with DuckDB, Polars, parquet-wasm (arrow-rs) and
// hyparquet (testdata/readers, installed with npm install there): each column
// must come back with the type in readerTypes and the values written,
// except for the gaps in knownReaderGaps. It skips when the readers are
// not installed, unless VAEJOB_REQUIRE_READERS=1.
func TestScoreFileReaders(t *testing.T) {
	requireReaders(t)
	data, cases, score, flags := writeKeptFixture(t)
	path := filepath.Join(t.TempDir(), "scores.parquet")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	results, out := runReaders(t, path)

	want := map[string][]*string{}
	for _, c := range cases {
		for r := 0; r < keptFixtureRows; r++ {
			want[c.name] = append(want[c.name], canonical(c.arr, r))
		}
	}
	for r := range score {
		s, f := jsNumber(float64(score[r])), map[bool]string{true: "true", false: "false"}[flags[r]]
		want[ScoreColumn] = append(want[ScoreColumn], &s)
		want[AnomalyColumn] = append(want[AnomalyColumn], &f)
	}
	if len(readerTypes) != len(want) {
		t.Errorf("readerTypes has %d columns, the file %d", len(readerTypes), len(want))
	}

	for i, reader := range readerNames {
		t.Run(reader, func(t *testing.T) {
			res, ok := results[reader]
			if !ok {
				t.Fatalf("no result for %s", reader)
			}
			switch known := knownReaderErrors[reader]; {
			case res.Error != "" && (known == "" || !strings.Contains(res.Error, known)):
				t.Fatalf("%s failed: %s", reader, res.Error)
			case known != "" && res.Error == "":
				t.Errorf("%s no longer reports %q: update knownReaderErrors, knownReaderGaps and the README", reader, known)
			}
			for _, rt := range readerTypes {
				col := rt.column
				if got := res.Types[col]; got != rt.types[i] {
					t.Errorf("%s: type %q, want %q", col, got, rt.types[i])
				}
				got := res.Values[col]
				gap := knownReaderGaps[reader][col]
				same := reflect.DeepEqual(got, want[col])
				switch {
				case same && gap != "":
					t.Errorf("%s: reads back as written, but knownReaderGaps says %q: update it and the README", col, gap)
				case !same && gap != "":
					t.Logf("%s: known gap (%s): %s, wrote %s", col, gap, showAll(got), showAll(want[col]))
				case !same:
					t.Errorf("%s: %s, wrote %s", col, showAll(got), showAll(want[col]))
				}
			}
		})
	}
	// DuckDB skips row groups by these statistics: an unsigned column's
	// must order unsigned (not min 4294967295, max 0 for a uint32).
	t.Run("duckdb statistics", func(t *testing.T) {
		stats := results["duckdb"].Stats
		for _, c := range cases {
			if !strings.HasPrefix(c.name, "i") && !strings.HasPrefix(c.name, "u") || c.name == "interval" || c.name == "uuid" {
				continue
			}
			var lo, hi *big.Int
			for _, v := range want[c.name] {
				if v == nil {
					continue
				}
				n, _ := new(big.Int).SetString(*v, 10)
				if lo == nil || n.Cmp(lo) < 0 {
					lo = n
				}
				if hi == nil || n.Cmp(hi) > 0 {
					hi = n
				}
			}
			got, ok := stats[c.name]
			if !ok || got[0] == nil || got[1] == nil {
				t.Errorf("%s: no statistics (%v)", c.name, ok)
				continue
			}
			if *got[0] != lo.String() || *got[1] != hi.String() {
				t.Errorf("%s: statistics min %s max %s, want %s and %s", c.name, *got[0], *got[1], lo, hi)
			}
		}
	})
	if t.Failed() {
		t.Logf("read.mjs printed:\n%s", out)
	}
}

// showAll prints canonical values.
func showAll(v []*string) string {
	if v == nil {
		return "nothing"
	}
	parts := make([]string, len(v))
	for i, s := range v {
		parts[i] = show(s)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// readersDir is where read.mjs and its node_modules are.
var readersDir = filepath.Join("testdata", "readers")

// requireReaders skips the test when the readers of testdata/readers are
// not installed, unless VAEJOB_REQUIRE_READERS=1.
func requireReaders(t *testing.T) {
	t.Helper()
	_, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(readersDir, "node_modules", "@duckdb", "node-api"))
	}
	if err != nil {
		msg := "the score-file readers are not installed (" + err.Error() + "): run `npm install` in parquet/testdata/readers (Node 20), as .ci/test does"
		if os.Getenv("VAEJOB_REQUIRE_READERS") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// runReaders reads the Parquet file at path with every reader of read.mjs
// and returns their results and what read.mjs printed.
func runReaders(t *testing.T, path string) (map[string]readerResult, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "read.mjs", path)
	cmd.Dir = readersDir
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node read.mjs: %v\n%s", err, stderr.String())
	}
	var results map[string]readerResult
	if err := json.Unmarshal(out, &results); err != nil {
		t.Fatalf("read.mjs printed no JSON: %v\n%s\n%s", err, out, stderr.String())
	}
	return results, out
}
