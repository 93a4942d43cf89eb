package main

import (
	"fmt"

	"github.com/vaejob/vaejob/cmd/internal/bench"
)

// limitRun is `vaejob score` as a whole process under one setting of the
// shared-machine knobs: GOMEMLIMIT and --workers.
type limitRun struct {
	setting string
	env     []string // added to the environment
	args    []string // added to the command line
	seconds float64  // median of the runs
	peakMB  float64  // the largest peak resident memory of the runs
}

// timeLimits times `vaejob score` (model on input, into scored) with no
// limit, with GOMEMLIMIT=memLimit, with --workers 1, and with both, runs
// times each, interleaved so that a slower spell of the machine touches
// every setting alike. The first is the baseline of the printed ratios.
func timeLimits(bin, model, input, scored, memLimit string, runs int) ([]limitRun, error) {
	settings := []limitRun{
		{setting: "no limit"},
		{setting: "GOMEMLIMIT=" + memLimit, env: []string{"GOMEMLIMIT=" + memLimit}},
		{setting: "--workers 1", args: []string{"--workers", "1"}},
		{setting: "GOMEMLIMIT=" + memLimit + " --workers 1", env: []string{"GOMEMLIMIT=" + memLimit}, args: []string{"--workers", "1"}},
	}
	times := make([][]float64, len(settings))
	for range runs {
		for i, s := range settings {
			args := append([]string{"score", "--model", model, "--input", input, "--output", scored}, s.args...)
			secs, p, err := bench.WallTimeEnv(s.env, bin, args...)
			if err != nil {
				return nil, err
			}
			times[i] = append(times[i], secs)
			settings[i].peakMB = max(settings[i].peakMB, bench.PeakMB(p))
		}
	}
	for i := range settings {
		settings[i].seconds = bench.Median(times[i])
	}
	return settings, nil
}

// printLimits writes the runs of timeLimits as a Markdown table, each
// beside the first (no limit).
func printLimits(runs []limitRun) {
	base := runs[0]
	fmt.Printf("\n| vaejob score, whole process | seconds | vs no limit | peak RSS (MB) | vs no limit |\n")
	fmt.Println("|---|---:|---:|---:|---:|")
	for _, r := range runs {
		fmt.Printf("| %s | %.3f | %.2f | %.0f | %.2f |\n", r.setting, r.seconds, r.seconds/base.seconds, r.peakMB, r.peakMB/base.peakMB)
	}
}
