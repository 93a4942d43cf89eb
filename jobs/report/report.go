// Package report draws a run's report.html: one self-contained page (inline
// CSS and SVG, no script, no network, no external font) that shows a run
// from its run.json record, and what changed against the run it replaced.
// Everything it shows comes from the record, so vaejob report draws the
// same page again for any run from its run.json.
package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"

	"github.com/vaejob/vaejob/jobs"
)

//go:embed report.tmpl
var pageText string

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"num": num, "pct": pct, "bytes": byteSize, "secs": seconds,
}).Parse(pageText))

// section is one part of the page: an id for links, a title, and its body
// (a template of report.tmpl executed on the section's data).
type section struct {
	ID, Title string
	Body      template.HTML
}

// pageData is what the page template draws.
type pageData struct {
	Run      *jobs.RunRecord
	Sections []section
}

// HTML draws the report of run. replaced, when not nil, is the record of
// the run it replaced (gate.baseline_run_id): its scores are overlaid and
// the changes listed. The page lists the run's artifacts but report.html
// itself, so drawing it again from the published run.json gives the same
// bytes.
func HTML(run, replaced *jobs.RunRecord) ([]byte, error) {
	if run == nil {
		return nil, fmt.Errorf("report: no run record")
	}
	builders := []func(*jobs.RunRecord, *jobs.RunRecord) (*section, error){
		glanceSection, trainingSection, scoresSection, featuresSection,
		latentSection, labelsSection, changesSection,
	}
	data := pageData{Run: run}
	for _, build := range builders {
		s, err := build(run, replaced)
		if err != nil {
			return nil, err
		}
		if s != nil {
			data.Sections = append(data.Sections, *s)
		}
	}
	var b bytes.Buffer
	if err := page.ExecuteTemplate(&b, "page", data); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return b.Bytes(), nil
}

// newSection executes the template named id on data into a section.
func newSection(id, title string, data any) (*section, error) {
	var b bytes.Buffer
	if err := page.ExecuteTemplate(&b, id, data); err != nil {
		return nil, fmt.Errorf("report: section %s: %w", id, err)
	}
	return &section{ID: id, Title: title, Body: template.HTML(b.String())}, nil
}
