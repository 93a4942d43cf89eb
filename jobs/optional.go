package jobs

import (
	"encoding/json"
	"errors"
	"strconv"
)

// Optional is a numeric setting that remembers whether it was given, for
// the knobs where "not given" means "the preset's value" and zero is a
// legal value (--steps 0, --beta 0), or where a given zero must be refused
// rather than read as the default (--epochs 0).
//
// A *Optional is a flag.Value (and so a urfave/cli Generic): a flag, a
// VAEJOB_* variable or a --config key sets it through Set. In JSON it is
// its value.
type Optional[T int | float64] struct {
	value T
	set   bool
}

// OptionalOf returns an Optional set to v.
func OptionalOf[T int | float64](v T) Optional[T] { return Optional[T]{value: v, set: true} }

// Get returns the value; zero when it was not given.
func (o Optional[T]) Get() T { return o.value }

// IsSet reports whether a value was given.
func (o Optional[T]) IsSet() bool { return o.set }

// Or returns the value if one was given, else def.
func (o Optional[T]) Or(def T) T {
	if o.set {
		return o.value
	}
	return def
}

// orDefault sets o to def unless a value was given.
func (o *Optional[T]) orDefault(def T) {
	if !o.set {
		*o = OptionalOf(def)
	}
}

// Set parses s as the value. Its errors say what a value must look like
// ("want a whole number", "want a number") or that it is out of range.
func (o *Optional[T]) Set(s string) error {
	var v T
	var err error
	switch p := any(&v).(type) {
	case *int:
		var n int64
		n, err = strconv.ParseInt(s, 0, strconv.IntSize)
		*p = int(n)
	case *float64:
		*p, err = strconv.ParseFloat(s, 64)
	}
	if err != nil {
		return numberError[T](err)
	}
	*o = OptionalOf(v)
	return nil
}

// numberError words a strconv error for a person.
func numberError[T int | float64](err error) error {
	var zero T
	_, whole := any(zero).(int)
	switch {
	case errors.Is(err, strconv.ErrSyntax) && whole:
		return errors.New("want a whole number, e.g. 100")
	case errors.Is(err, strconv.ErrSyntax):
		return errors.New("want a number, e.g. 0.5")
	case errors.Is(err, strconv.ErrRange):
		return errors.New("value out of range")
	}
	return err
}

// String returns the value as a flag would take it; empty when not given.
func (o *Optional[T]) String() string {
	if o == nil || !o.set {
		return ""
	}
	switch v := any(o.value).(type) {
	case int:
		return strconv.Itoa(v)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return ""
}

// MarshalJSON writes the value.
func (o Optional[T]) MarshalJSON() ([]byte, error) { return json.Marshal(o.value) }

// UnmarshalJSON reads a value and marks it given.
func (o *Optional[T]) UnmarshalJSON(b []byte) error {
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*o = OptionalOf(v)
	return nil
}
