package main

import (
	"errors"
	"runtime"
	"strconv"
	"strings"

	"github.com/vaejob/vaejob/parquet"
)

// This file holds the flag values of the list flags: each binds a
// comma-separated flag (from the command line, a VAEJOB_* variable or
// --config) straight to an option field.

// columnsValue binds a comma-separated column list (--features a,b) to a
// []string; see parquet.ParseColumnList.
type columnsValue struct{ names *[]string }

func (v columnsValue) Set(s string) error {
	names, err := parquet.ParseColumnList(s)
	if err != nil {
		return err
	}
	*v.names = names
	return nil
}

func (v columnsValue) String() string {
	if v.names == nil {
		return ""
	}
	return strings.Join(*v.names, ",")
}

// widthsValue binds comma-separated layer widths (--hidden 64,32) to an
// []int.
type widthsValue struct{ widths *[]int }

func (v widthsValue) Set(s string) error {
	if strings.TrimSpace(s) == "" {
		*v.widths = nil // the preset's
		return nil
	}
	var widths []int
	for _, part := range strings.Split(s, ",") {
		w, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || w < 1 {
			return errors.New("want positive widths separated by commas, e.g. 64,32")
		}
		widths = append(widths, w)
	}
	*v.widths = widths
	return nil
}

func (v widthsValue) String() string {
	if v.widths == nil {
		return ""
	}
	parts := make([]string, len(*v.widths))
	for i, w := range *v.widths {
		parts[i] = strconv.Itoa(w)
	}
	return strings.Join(parts, ",")
}

// workersValue binds --workers N, the cap on the threads that run Go code
// at once: setting it (from the command line, VAEJOB_WORKERS or --config)
// sets runtime.GOMAXPROCS(N) for the rest of the process, before the
// command's one call into jobs. 0 restores the runtime's default: every
// core the process may use (a container's CPU limit counts), as without
// the flag and the GOMAXPROCS variable. Work is split the same
// way on any N, so the outputs are the same bytes; jobs records the value
// in run.json (machine).
type workersValue struct{ n int }

func (v *workersValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return errors.New("want a whole number of workers, 0 or more (0: every core)")
	}
	v.n = n
	if n == 0 {
		runtime.SetDefaultGOMAXPROCS()
	} else {
		runtime.GOMAXPROCS(n)
	}
	return nil
}

func (v *workersValue) String() string {
	if v == nil || v.n == 0 {
		return ""
	}
	return strconv.Itoa(v.n)
}
