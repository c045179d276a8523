package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows a bar on stderr when it is a terminal, and otherwise a log
// line every tenth of the work, so that `make demo` in a pipe still shows
// that it is alive.
type progress struct {
	bar   *progressbar.ProgressBar
	w     io.Writer
	total int
	last  int
	desc  string
	start time.Time
}

func newProgress(stderr io.Writer, total int, desc string) *progress {
	p := &progress{w: stderr, total: total, desc: desc, start: time.Now()}
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetDescription(desc),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("steps"),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

// set reports that done of total units are finished, with a short status.
func (p *progress) set(done int, status string) {
	if p.bar != nil {
		p.bar.Describe(p.desc + " " + status)
		_ = p.bar.Set(done)
		return
	}
	if p.total > 0 && (done*10/p.total > p.last*10/p.total || done == p.total) {
		el := time.Since(p.start).Seconds()
		fmt.Fprintf(p.w, "%s %d/%d (%.0f%%) %s, %.1f steps/s\n", p.desc, done, p.total, 100*float64(done)/float64(p.total), status, float64(done)/max(el, 1e-9))
	}
	p.last = done
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
