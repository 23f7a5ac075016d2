package main

import (
	"fmt"
	"io"
	"os"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/report"
)

// firstFailureFiles writes the first failure's -trace and -html files.
// The pipeline replayed the failure with stacks and a timeline
// (hunt/stacks.go): both come from that run; if that replay failed the
// trace replays the failing run for its timeline (without stacks). A
// file that cannot be written is said; the failure is saved and reported
// all the same.
func (s *session) firstFailureFiles(rep *explore.RunReport, fr *report.Failure) {
	if s.f.trace != "" {
		var err error
		if fr.Stacks != nil {
			err = writeFile(s.f.trace, func(w io.Writer) error { return fr.Perfetto(w, s.prog) })
		} else {
			err = s.writeTrace(rep, rep.Result)
		}
		if err != nil {
			fmt.Fprintf(s.stderr, "schedfuzz: %s\n", oneLine("-trace: "+err.Error()))
		}
	}
	if s.f.html != "" {
		if err := writeFile(s.f.html, fr.HTML); err != nil {
			fmt.Fprintf(s.stderr, "schedfuzz: %s\n", oneLine("-html: "+err.Error()))
		}
	}
}

// writeFile creates path and writes it with write.
func writeFile(path string, write func(io.Writer) error) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(fh); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

// writeReplayHTML writes the page of a reproduced failure replayed from
// seed (its replay command on the page).
func writeReplayHTML(path string, fr *report.Failure, seed string) error {
	page := *fr
	page.Seed = seed
	return writeFile(path, page.HTML)
}
