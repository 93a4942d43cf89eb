package onnx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/vaejob/vaejob/pipeline"
)

// spikeCostsOf are the costs withSpikes gives its spike features, in turn.
var spikeCostsOf = []float32{float32(math.Log(0.7 / 0.3)), 2.5, 0.25}

// withSpikes makes the features of m (varying, increasing indices) spike
// features, as training finds them (pipeline.FindSpikes): every other row
// of rows holds the spike's raw value (the first feature's minimum, which
// scales to 0 like a count that is mostly 0; row 1's value for the
// others), which is also the imputation value when m imputes (the median
// of a feature at least half on its spike). It sets the threshold and
// tail table again and returns the raw values of the spikes.
func withSpikes(m *pipeline.Model, rows []float32, features []int) []float32 {
	d := m.Dim()
	if m.Imputation != nil {
		m.Imputation = slices.Clone(m.Imputation)
	}
	raws := make([]float32, len(features))
	for i, j := range features {
		raw := rows[d+j]
		if i == 0 {
			raw = m.Scaler.Min[j]
		}
		for r := 0; r < len(rows)/d; r += 2 {
			rows[r*d+j] = raw
		}
		if m.Imputation != nil {
			m.Imputation[j] = raw
		}
		raws[i] = raw
		value := float32(raw-m.Scaler.Offset[j]) * m.Scaler.Scale[j]
		m.Spikes = append(m.Spikes, pipeline.Spike{Feature: j, Value: value, Cost: spikeCostsOf[i%len(spikeCostsOf)]})
	}
	setThreshold(m, rows)
	return raws
}

// spikedFeatures picks the spike features of m for the tests: the first,
// middle and last of the features the network sees.
func spikedFeatures(m *pipeline.Model) []int {
	v := pipeline.Varying(m.Dim(), m.Constant)
	return slices.Compact([]int{v[0], v[len(v)/2], v[len(v)-1]})
}

// spikePlace is where a probe row puts a spike feature's value.
type spikePlace int

const (
	onSpike      spikePlace = iota // the spike's raw value
	justAbove                      // the next float32 above it that scales off the spike
	justBelow                      // the next float32 below it that scales off the spike
	farOff                         // three training ranges above it
	missingValue                   // NaN: imputed to the spike, or a NaN score
	metadataRaw                    // vaejob.spikes' raw value of the spike
)

func (p spikePlace) String() string {
	return [...]string{"on", "just above", "just below", "far off", "missing", "metadata raw value"}[p]
}

// spikeProbe is a row that puts spike feature Spikes[spike] at place and
// the other spike features on their spikes.
type spikeProbe struct {
	spike int
	place spikePlace
	row   []float32
}

// spikeProbes returns, for each spike feature of m (raw values raws), rows
// on the spike, just off it either way (one float32 step in raw units past
// the last value that scales to the spike), far off it, missing, and at
// the raw value vaejob.spikes gives, when it gives one. The other features
// hold row 1 of rows.
func spikeProbes(t *testing.T, m *pipeline.Model, rows, raws []float32) []spikeProbe {
	t.Helper()
	d := m.Dim()
	base := slices.Clone(rows[d : 2*d])
	for i, s := range m.Spikes {
		base[s.Feature] = raws[i]
	}
	specs := spikeSpecs(m)
	var probes []spikeProbe
	for i, s := range m.Spikes {
		j := s.Feature
		off, scale := m.Scaler.Offset[j], m.Scaler.Scale[j]
		next := func(dir float64) float32 {
			x := raws[i]
			for range 1 << 20 {
				if x = math.Nextafter32(x, float32(dir)); float32(x-off)*scale != s.Value {
					return x
				}
			}
			t.Fatalf("feature %d: no raw value near %v scales off the spike", j, raws[i])
			return 0
		}
		values := map[spikePlace]float32{
			onSpike:      raws[i],
			justAbove:    next(math.Inf(1)),
			justBelow:    next(math.Inf(-1)),
			farOff:       raws[i] + 3*(m.Scaler.Max[j]-m.Scaler.Min[j]),
			missingValue: float32(math.NaN()),
		}
		if v := specs[i].Value; v != nil {
			values[metadataRaw] = *v
		}
		for place := onSpike; place <= metadataRaw; place++ {
			v, ok := values[place]
			if !ok {
				continue
			}
			row := slices.Clone(base)
			row[j] = v
			probes = append(probes, spikeProbe{spike: i, place: place, row: row})
		}
	}
	return probes
}

// checkSpikeProbes checks a runtime's outputs got for the probe rows,
// which start at row first of the rows it scored: the spike feature's
// share of the score is exactly 0 on the spike (and for a missing value
// that the model imputes, to the spike), at least the spike's cost off
// it, and the score NaN for a missing value without imputation, in the Go
// scorer and in the runtime; the runtime's score and share agree with the
// Go scorer's.
func checkSpikeProbes(t *testing.T, m *pipeline.Model, probes []spikeProbe, first int, got Outputs) {
	t.Helper()
	d := m.Dim()
	var flat []float32
	for _, p := range probes {
		flat = append(flat, p.row...)
	}
	want := m.ScoreParts(flat)
	for r, p := range probes {
		s := m.Spikes[p.spike]
		goShare, share := want.Features[r*d+s.Feature], got.FeatureScores[(first+r)*d+s.Feature]
		goScore, score := want.Scores[r], got.Score[first+r]
		where := fmt.Sprintf("feature %d %v (raw %v)", s.Feature, p.place, p.row[s.Feature])
		on := p.place == onSpike || p.place == metadataRaw || p.place == missingValue && m.Imputation != nil
		switch {
		case p.place == missingValue && m.Imputation == nil:
			if !math.IsNaN(float64(goScore)) || !math.IsNaN(float64(score)) {
				t.Errorf("%s: score %v, Go %v, want NaN", where, score, goScore)
			}
			continue
		case on && (goShare != 0 || share != 0):
			t.Errorf("%s: share %v, Go %v, want 0 on the spike", where, share, goShare)
		case !on && !(goShare >= s.Cost && agree(share, goShare)):
			t.Errorf("%s: share %v, Go %v, want at least the cost %v", where, share, goShare, s.Cost)
		}
		if !agree(score, goScore) {
			t.Errorf("%s: score %v, Go %v", where, score, goScore)
		}
	}
}

// spikeCases are the models of TestSpikes: each likelihood score kind
// with each likelihood, with and without imputation and constant
// features (spike features need a likelihood score).
func spikeCases() []explainCase {
	var cases []explainCase
	for _, c := range explainCases() {
		if c.kind != pipeline.ScoreMSE {
			cases = append(cases, c)
		}
	}
	return cases
}

// TestSpikes checks models with spike features for every likelihood score
// kind and likelihood, with and without imputation and constant features:
// the file is format version 5 with vaejob.spikes, decodes to the same
// model and metadata and passes Verify; onnx-go (the decoded graph) and
// ONNX Runtime give the Go scorer's score, feature_scores, latent_score
// and tail_probability (checkExplained) on the training rows, on rows
// with a value on each spike, just off it either way, far off it and
// missing, and on rows with missing values (specialRows), and score the
// spikes as the Go scorer does (checkSpikeProbes). ONNX Runtime is
// skipped where it is not installed (unless VAEJOB_REQUIRE_ORT=1).
func TestSpikes(t *testing.T) {
	dir := t.TempDir()
	for i, c := range spikeCases() {
		t.Run(c.String(), func(t *testing.T) {
			seed := int64(500 + i)
			m, rows := c.model(t, seed)
			raws := withSpikes(m, rows, spikedFeatures(m))
			if err := m.Validate(); err != nil {
				t.Fatal(err)
			}
			meta := testMetadata(m, seed)
			data := encodeAndDecode(t, m, meta)
			checkSpikeProps(t, m, data)

			d := m.Dim()
			probes := spikeProbes(t, m, rows, raws)
			all := slices.Clone(rows)
			for _, p := range probes {
				all = append(all, p.row...)
			}
			all = append(all, specialRows(d)...)
			first := len(rows) / d
			n := len(all) / d
			if rep, err := Verify(data, all, n, m.ScoreRows(all)); err != nil || rep.Failed != 0 || rep.TestVectorRows == 0 {
				t.Errorf("verify: %v; report %+v", err, rep)
			}
			g, err := DecodeGraph(data)
			if err != nil {
				t.Fatal(err)
			}
			out, err := g.RunAll(all, n)
			if err != nil {
				t.Fatal(err)
			}
			t.Run("onnx-go", func(t *testing.T) {
				checkExplained(t, m, all, out)
				checkSpikeProbes(t, m, probes, first, out)
			})
			t.Run("onnxruntime", func(t *testing.T) {
				node := needORT(t)
				res := runORT(t, node, dir, c.String(), data, all, d)
				compareORT(t, m, all, res)
				checkExplained(t, m, all, res.outputs())
				checkSpikeProbes(t, m, probes, first, res.outputs())
				if tv := res.TestVector; tv == nil || tv.Rows == 0 || !tv.OK || !tv.FlagsOK || tv.TailOK == nil || !*tv.TailOK {
					t.Errorf("embedded test vector under ONNX Runtime: %+v", res.TestVector)
				}
			})
		})
	}
}

// checkSpikeProps checks the metadata of data, the file of m, a model
// with spike features: format version 5, and vaejob.spikes naming each
// spike feature with its scaled value, its cost and, where it gives one,
// a raw value that scales exactly to the spike.
func checkSpikeProps(t *testing.T, m *pipeline.Model, data []byte) {
	t.Helper()
	props, err := ReadMetadataProps(data)
	if err != nil {
		t.Fatal(err)
	}
	kv := map[string]string{}
	for _, p := range props {
		kv[p.Key] = p.Value
	}
	if kv[KeyFormatVersion] != "5" {
		t.Errorf("format version %q, want 5", kv[KeyFormatVersion])
	}
	var specs []struct {
		Feature     string   `json:"feature"`
		Value       *float32 `json:"value"`
		ScaledValue *float32 `json:"scaled_value"`
		Cost        *float32 `json:"cost"`
	}
	if err := json.Unmarshal([]byte(kv[KeySpikes]), &specs); err != nil {
		t.Fatalf("metadata %s %q: %v", KeySpikes, kv[KeySpikes], err)
	}
	if len(specs) != len(m.Spikes) {
		t.Fatalf("metadata %s %s for %d spikes", KeySpikes, kv[KeySpikes], len(m.Spikes))
	}
	for i, s := range m.Spikes {
		j, spec := s.Feature, specs[i]
		if spec.Feature != m.Features[j] || spec.ScaledValue == nil || *spec.ScaledValue != s.Value || spec.Cost == nil || *spec.Cost != s.Cost {
			t.Errorf("metadata %s entry %d %+v, want feature %q, scaled value %v and cost %v", KeySpikes, i, spec, m.Features[j], s.Value, s.Cost)
		}
		if spec.Value == nil {
			t.Errorf("metadata %s entry %d: no raw value for the spike %v", KeySpikes, i, s.Value)
		} else if float32(*spec.Value-m.Scaler.Offset[j])*m.Scaler.Scale[j] != s.Value {
			t.Errorf("metadata %s entry %d: raw value %v does not scale to the spike %v", KeySpikes, i, *spec.Value, s.Value)
		}
	}
}

// rewriteFile returns the model file data with each initializer of its
// graph replaced by what init returns for it (nil drops it; init nil
// keeps them all) and its metadata_props replaced by what props returns
// for them (props nil keeps them), written last as Encode writes them.
func rewriteFile(t *testing.T, data []byte, init func(name string, tensor []byte) []byte, props func([]Prop) []Prop) []byte {
	t.Helper()
	// each calls f with each field of the message b: its number, its
	// bytes and, for a length-delimited field, its payload.
	each := func(b []byte, f func(num protowire.Number, field, payload []byte)) {
		for len(b) > 0 {
			num, typ, n := protowire.ConsumeField(b)
			if n < 0 {
				t.Fatalf("malformed field: %v", protowire.ParseError(n))
			}
			var payload []byte
			if typ == protowire.BytesType {
				_, _, tag := protowire.ConsumeTag(b)
				payload, _ = protowire.ConsumeBytes(b[tag:])
			}
			f(num, b[:n], payload)
			b = b[n:]
		}
	}
	var out msg
	each(data, func(num protowire.Number, field, payload []byte) {
		switch {
		case num == fModelMetadataProps:
		case num == fModelGraph && init != nil:
			var graph msg
			each(payload, func(num protowire.Number, field, tensor []byte) {
				if num != fGraphInitializer {
					graph = append(graph, field...)
					return
				}
				name := ""
				each(tensor, func(num protowire.Number, _, v []byte) {
					if num == fTensorName {
						name = string(v)
					}
				})
				if tensor = init(name, tensor); tensor != nil {
					graph.bytes(fGraphInitializer, tensor)
				}
			})
			out.bytes(fModelGraph, graph)
		default:
			out = append(out, field...)
		}
	})
	ps, err := ReadMetadataProps(data)
	if err != nil {
		t.Fatal(err)
	}
	if props != nil {
		ps = props(slices.Clone(ps))
	}
	for _, p := range ps {
		var entry msg
		entry.string(fEntryKey, p.Key)
		entry.string(fEntryValue, p.Value)
		out.bytes(fModelMetadataProps, entry)
	}
	return out
}

// replaceInit returns an init function for rewriteFile that replaces the
// initializer name with tensor (nil: drops it).
func replaceInit(name string, tensor []byte) func(string, []byte) []byte {
	return func(n string, t []byte) []byte {
		if n == name {
			return tensor
		}
		return t
	}
}

// setProp returns a props function for rewriteFile that sets key to value,
// or removes it when value is "".
func setProp(key, value string) func([]Prop) []Prop {
	return func(ps []Prop) []Prop {
		for i, p := range ps {
			if p.Key == key {
				if value == "" {
					return slices.Delete(ps, i, i+1)
				}
				ps[i].Value = value
				return ps
			}
		}
		return append(ps, Prop{key, value})
	}
}

// editSpikes returns a props function for rewriteFile that edits the
// entries of vaejob.spikes.
func editSpikes(t *testing.T, edit func([]spikeSpec) []spikeSpec) func([]Prop) []Prop {
	return func(ps []Prop) []Prop {
		for i, p := range ps {
			if p.Key != KeySpikes {
				continue
			}
			var specs []spikeSpec
			if err := json.Unmarshal([]byte(p.Value), &specs); err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(edit(specs))
			if err != nil {
				t.Fatal(err)
			}
			ps[i].Value = string(b)
		}
		return ps
	}
}

// TestDecodeBadSpikes checks that Decode refuses, with an error wrapping
// ErrFormat that says why, files with spike features that Encode would
// not write: a format version other than 5, vaejob.spikes missing or
// differing from the graph, and spike initializers of the wrong element
// type or shape or stored in a form onnx-go misreads; and a version 4 file
// relabelled version 5. Verify refuses them too.
func TestDecodeBadSpikes(t *testing.T) {
	m, rows := randomModel(t, 31, constantArch)
	withScore(m, spiked(pipeline.ScoreNLL), 31, rows)
	data, err := Encode(m, testMetadata(m, 31))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Decode(data); err != nil {
		t.Fatal(err)
	}
	if again := rewriteFile(t, data, replaceInit("", nil), nil); !bytes.Equal(again, data) {
		t.Fatal("rewriteFile without edits changes the file")
	}
	dv := int64(m.NetworkDim())
	mask := make([]bool, dv)
	mask[1] = true
	var twos msg // spike_mask with an element 2, true to ONNX Runtime and false to onnx-go
	twos.packedInt64(fTensorDims, []int64{dv})
	twos.int64(fTensorDataType, dataTypeBool)
	twos.packedInt64(fTensorInt32Data, []int64{2, 0, 2, 0, 2})
	twos.string(fTensorName, initSpikeMask)
	golden := goldenBytes(t)
	specs := func(edit func([]spikeSpec)) func([]Prop) []Prop {
		return editSpikes(t, func(s []spikeSpec) []spikeSpec { edit(s); return s })
	}
	raw := float32(123)
	tests := []struct {
		name string
		data []byte
		want string // substring of the error
	}{
		{"labelled version 4", rewriteFile(t, data, nil, setProp(KeyFormatVersion, "4")), KeySpikes + " in a file of format version 4"},
		{"labelled version 4 without " + KeySpikes, rewriteFile(t, data, nil, func(ps []Prop) []Prop {
			return setProp(KeySpikes, "")(setProp(KeyFormatVersion, "4")(ps))
		}), "which format version 4 does not have"},
		{"no " + KeySpikes, rewriteFile(t, data, nil, setProp(KeySpikes, "")), KeySpikes + " is missing"},
		{"version 4 file labelled version 5", rewriteFile(t, golden, nil, setProp(KeyFormatVersion, "5")), KeySpikes + " is missing"},
		{"version 4 file labelled version 5 with no spikes", rewriteFile(t, golden, nil, func(ps []Prop) []Prop {
			return setProp(KeySpikes, "[]")(setProp(KeyFormatVersion, "5")(ps))
		}), "format version 5 without spike features"},
		{"cost differs", rewriteFile(t, data, nil, specs(func(s []spikeSpec) { s[1].Cost *= 2 })), "not the one vaejob writes"},
		{"negative cost", rewriteFile(t, data, nil, specs(func(s []spikeSpec) { s[1].Cost = -1 })), "cost -1"},
		{"scaled value differs", rewriteFile(t, data, nil, specs(func(s []spikeSpec) { s[0].ScaledValue = 0.5 })), "differs from the spike features of the graph"},
		{"raw value differs", rewriteFile(t, data, nil, specs(func(s []spikeSpec) { s[2].Value = &raw })), "differs from the spike features of the graph"},
		{"raw value absent", rewriteFile(t, data, nil, specs(func(s []spikeSpec) { s[2].Value = nil })), "differs from the spike features of the graph"},
		{"feature differs", rewriteFile(t, data, nil, specs(func(s []spikeSpec) { s[0].Feature = m.Features[2] })), "differs from the spike features of the graph"},
		{"a spike fewer", rewriteFile(t, data, nil, editSpikes(t, func(s []spikeSpec) []spikeSpec { return s[1:] })), "lists 2 spike features, the graph has 3"},
		{"mask is float32", rewriteFile(t, data, replaceInit(initSpikeMask, floatTensor(initSpikeMask, []int64{dv}, make([]float32, dv))), nil), fmt.Sprintf("want bool[%d]", dv)},
		{"mask is int64", rewriteFile(t, data, replaceInit(initSpikeMask, int64Tensor(initSpikeMask, []int64{dv}, make([]int64, dv))), nil), fmt.Sprintf("want bool[%d]", dv)},
		{"mask too long", rewriteFile(t, data, replaceInit(initSpikeMask, boolTensor(initSpikeMask, []int64{dv + 1}, append(slices.Clone(mask), true))), nil), fmt.Sprintf("want bool[%d]", dv)},
		{"mask of rank 2", rewriteFile(t, data, replaceInit(initSpikeMask, boolTensor(initSpikeMask, []int64{1, dv}, mask)), nil), fmt.Sprintf("want bool[%d]", dv)},
		{"mask marks none", rewriteFile(t, data, replaceInit(initSpikeMask, boolTensor(initSpikeMask, []int64{dv}, make([]bool, dv))), nil), "marks none"},
		{"mask marks one feature", rewriteFile(t, data, replaceInit(initSpikeMask, boolTensor(initSpikeMask, []int64{dv}, mask)), nil), "lists 3 spike features, the graph has 1"},
		{"mask marks other features", rewriteFile(t, data, replaceInit(initSpikeMask, boolTensor(initSpikeMask, []int64{dv}, []bool{false, true, true, false, true})), nil), "differs from the spike features of the graph"},
		{"mask shorter than its shape", rewriteFile(t, data, replaceInit(initSpikeMask, boolTensor(initSpikeMask, []int64{dv}, mask[:2])), nil), "2 bool elements for dims [5]"},
		{"mask as raw_data", rewriteFile(t, data, replaceInit(initSpikeMask, tensorProto(initSpikeMask, []int64{dv}, dataTypeBool, []byte{1, 0, 1, 0, 1})), nil), "raw_data"},
		{"mask element 2", rewriteFile(t, data, replaceInit(initSpikeMask, twos), nil), "want 0 or 1"},
		{"no mask", rewriteFile(t, data, replaceInit(initSpikeMask, nil), nil), initSpikeMask},
		{"value is int64", rewriteFile(t, data, replaceInit(initSpikeValue, int64Tensor(initSpikeValue, []int64{dv}, make([]int64, dv))), nil), fmt.Sprintf("want float32[%d]", dv)},
		{"value too short", rewriteFile(t, data, replaceInit(initSpikeValue, floatTensor(initSpikeValue, []int64{dv - 1}, make([]float32, dv-1))), nil), fmt.Sprintf("want float32[%d]", dv)},
		{"no value", rewriteFile(t, data, replaceInit(initSpikeValue, nil), nil), initSpikeValue},
		{"cost initializer differs", rewriteFile(t, data, replaceInit(initSpikeCost, floatTensor(initSpikeCost, []int64{dv}, make([]float32, dv))), nil), "not the one vaejob writes"},
		{"cost initializer is bool", rewriteFile(t, data, replaceInit(initSpikeCost, boolTensor(initSpikeCost, []int64{dv}, mask)), nil), "not the one vaejob writes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantFormatError(t, tt.data, tt.want)
		})
	}
}
