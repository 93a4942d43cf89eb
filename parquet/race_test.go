//go:build race

package parquet

// raceEnabled: the race detector's shadow memory adds page faults.
const raceEnabled = true
