package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

// TestUnknownCommand: every way of naming a command that does not exist
// ends in a usage error (exit 2) that names it, through main's exit-code
// table rather than an exit inside the app.
func TestUnknownCommand(t *testing.T) {
	for _, args := range [][]string{{"foo"}, {"help", "foo"}, {"runs", "foo"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			app := newApp()
			app.Writer, app.ErrWriter = io.Discard, io.Discard
			err := app.RunContext(context.Background(), append([]string{"vaejob"}, args...))
			if code := exitCode(err); code != exitUsage {
				t.Errorf("exit code %d (error %v), want %d", code, err, exitUsage)
			}
			if want := `unknown command "foo"; see vaejob --help`; err == nil || err.Error() != want {
				t.Errorf("error %v, want %q", err, want)
			}
		})
	}
	app := newApp()
	app.Writer, app.ErrWriter = io.Discard, io.Discard
	if err := app.RunContext(context.Background(), []string{"vaejob", "help", "train"}); err != nil {
		t.Errorf("vaejob help train: %v", err)
	}
}
