package report

import (
	"fmt"
	"math"
	"strconv"
)

// num writes a number with four significant digits, as a person reads it.
func num(v any) string {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case float32:
		f = float64(x)
	case int:
		return strconv.Itoa(x)
	case *float64:
		if x == nil {
			return "–"
		}
		f = *x
	case *float32:
		if x == nil {
			return "–"
		}
		f = float64(*x)
	default:
		return fmt.Sprint(v)
	}
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 0):
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', 4, 64)
}

// pct writes a fraction as a percentage.
func pct(v float64) string { return strconv.FormatFloat(100*v, 'f', 1, 64) + " %" }

// byteSize writes a file size.
func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// seconds writes a duration in seconds.
func seconds(s float64) string { return strconv.FormatFloat(s, 'f', 2, 64) + " s" }
