package report

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/vaejob/vaejob/jobs"
)

// setting is one resolved setting of the run, a dotted key and its value
// as run.json writes it.
type setting struct{ Key, Value string }

type glance struct {
	Run       *jobs.RunRecord
	Settings  []setting
	Artifacts []jobs.Artifact
}

// glanceSection is the run at a glance: status, the gate's decision and
// checks, the data read, the settings, timings, versions and files.
func glanceSection(run, _ *jobs.RunRecord) (*section, error) {
	settings, err := flattenSettings(run.Config)
	if err != nil {
		return nil, err
	}
	g := glance{Run: run, Settings: settings}
	for _, a := range run.Artifacts {
		if a.Name != jobs.ReportFile {
			g.Artifacts = append(g.Artifacts, a)
		}
	}
	return newSection("glance", "The run at a glance", g)
}

// flattenSettings lists run.json's config as dotted keys in order, each
// value as JSON writes it.
func flattenSettings(cfg jobs.ResolvedConfig) ([]setting, error) {
	b, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("report: settings: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("report: settings: %w", err)
	}
	var out []setting
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok {
				walk(prefix+k+".", sub)
				continue
			}
			text, _ := json.Marshal(v)
			out = append(out, setting{Key: prefix + k, Value: strings.Trim(string(text), `"`)})
		}
	}
	walk("", m)
	slices.SortFunc(out, func(a, b setting) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}
