package plot

import (
	"math"
	"strconv"
	"strings"
)

// Tick is one labelled tick of an axis.
type Tick struct {
	Value float64
	Label string
}

// scale maps data values on an axis to SVG coordinates: the axis's drawn
// range [min, max] (widened to round ticks) goes to [lo, hi].
type scale struct {
	min, max float64 // the drawn range, in log10 units on a log axis
	lo, hi   float64
	log      bool
	ticks    []Tick
}

// maxTicks is about how many ticks a linear axis gets.
const maxTicks = 7

func newScale(a Axis, lo, hi float64) scale {
	s := scale{lo: lo, hi: hi, log: a.Log}
	var ts []Tick
	switch {
	case a.Log && a.Integer:
		// Counts: ticks from 1 up, and half a decade below 1 so that a
		// count of 1 still shows.
		ts = LogTicks(1, math.Max(a.Max, 1))
		s.min, s.max = math.Log10(0.5), math.Log10(ts[len(ts)-1].Value)
	case a.Log:
		ts = LogTicks(a.Min, a.Max)
		s.min, s.max = math.Log10(ts[0].Value), math.Log10(ts[len(ts)-1].Value)
	case a.Integer:
		// Whole numbers (epochs, unit indices): the range as given, not
		// widened, with the ticks inside it.
		lo, hi := cleanRange(a.Min, a.Max)
		if lo == hi {
			lo, hi = lo-0.5, hi+0.5
		}
		s.min, s.max = lo, hi
		for _, t := range LinearTicks(lo, hi, maxTicks, true) {
			if t.Value >= lo && t.Value <= hi {
				ts = append(ts, t)
			}
		}
	default:
		ts = LinearTicks(a.Min, a.Max, maxTicks, false)
		s.min, s.max = ts[0].Value, ts[len(ts)-1].Value
	}
	s.ticks = ts
	return s
}

// ok says whether v can be drawn on the axis: finite, and above 0 on a
// log axis. Values beyond the drawn range are drawn (and clipped by the
// reader's eye to the frame); callers keep their data inside the Axis.
func (s scale) ok(v float64) bool {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return false
	}
	return !s.log || v > 0
}

// px is v's coordinate.
func (s scale) px(v float64) float64 {
	if s.log {
		v = math.Log10(v)
	}
	return s.lo + (v-s.min)/(s.max-s.min)*(s.hi-s.lo)
}

// LinearTicks returns round ticks (steps of 1, 2 or 5 times a power of
// ten; whole numbers when integer) covering [min, max] with about n ticks:
// the first is at or below min and the last at or above max. An empty or
// non-finite range gets a range around its one value.
func LinearTicks(lo, hi float64, n int, integer bool) []Tick {
	lo, hi = cleanRange(lo, hi)
	if hi == lo {
		pad := math.Max(math.Abs(lo)*0.1, 1)
		lo, hi = lo-pad, hi+pad
	}
	step := niceStep((hi - lo) / float64(max(n-1, 1)))
	if integer {
		step = math.Max(step, 1)
	}
	first, last := math.Floor(lo/step), math.Ceil(hi/step)
	var ts []Tick
	for k := first; k <= last; k++ {
		v := k * step
		if math.Abs(v) < step*1e-9 {
			v = 0 // not -0, nor 1e-17
		}
		ts = append(ts, Tick{Value: v, Label: formatTick(v, step)})
	}
	return ts
}

// LogTicks returns ticks at the powers of ten covering [min, max] (both
// above 0), with 2 and 5 times each power too when the range spans fewer
// than three decades. A range not above 0 is taken as [max/1000, max], or
// [0.1, 10] when max is not above 0 either.
func LogTicks(lo, hi float64) []Tick {
	lo, hi = cleanRange(lo, hi)
	if hi <= 0 {
		lo, hi = 0.1, 10
	}
	if lo <= 0 {
		lo = hi / 1000
	}
	// The tolerance keeps an exact power of ten (whose log may round
	// off) in its own decade.
	first, last := math.Floor(math.Log10(lo)+1e-9), math.Ceil(math.Log10(hi)-1e-9)
	if last == first {
		last++
	}
	mults := []float64{1}
	if last-first < 3 {
		mults = []float64{1, 2, 5}
	}
	var ts []Tick
	for e := first; e <= last; e++ {
		for _, m := range mults {
			v := m * math.Pow(10, e)
			if e == last && m > 1 {
				break
			}
			ts = append(ts, Tick{Value: v, Label: formatLog(v)})
		}
	}
	return ts
}

// cleanRange orders min and max and replaces a non-finite end by the
// other (both: 0).
func cleanRange(lo, hi float64) (float64, float64) {
	bad := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
	switch {
	case bad(lo) && bad(hi):
		return 0, 0
	case bad(lo):
		lo = hi
	case bad(hi):
		hi = lo
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	return lo, hi
}

// niceStep rounds a raw step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw*(1-1e-9) {
			return m * p
		}
	}
	return 10 * p
}

// formatTick writes v with the decimals its step needs, or in exponent
// form for very large or very small magnitudes.
func formatTick(v, step float64) string {
	if a := math.Max(math.Abs(v), step); a >= 1e6 || step < 1e-4 {
		return formatExp(v)
	}
	decimals := max(0, int(-math.Floor(math.Log10(step)+1e-9)))
	return strconv.FormatFloat(v, 'f', decimals, 64)
}

// formatLog writes a log axis tick: plain from 0.001 to 100000, else in
// exponent form.
func formatLog(v float64) string {
	if v >= 1e-3 && v < 1e6 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return formatExp(v)
}

// formatExp writes v as 2e-05 → "2e-5", 1e+06 → "1e6".
func formatExp(v float64) string {
	s := strconv.FormatFloat(v, 'g', 3, 64)
	s = strings.Replace(s, "e+0", "e", 1)
	s = strings.Replace(s, "e+", "e", 1)
	return strings.Replace(s, "e-0", "e-", 1)
}
