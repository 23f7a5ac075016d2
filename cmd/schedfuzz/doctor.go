package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/schedfuzz/schedfuzz/internal/doctor"
)

// doctorMain checks what schedfuzz needs on this machine: exit 0 when it
// can work (warnings allowed), 1 when a required check fails.
func doctorMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("schedfuzz doctor", flag.ContinueOnError)
	if code, ok := parseFlags(fs, args, stderr, func(w io.Writer) { fmt.Fprintln(w, "usage: schedfuzz doctor") }); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(stderr, "schedfuzz doctor: takes no arguments")
		return exitUsage
	}
	results := doctor.Run()
	for _, r := range results {
		fmt.Fprintf(stdout, "%-4s  %-10s  %s\n", r.Status, r.Name, r.Detail)
		if r.Fix != "" {
			fmt.Fprintf(stdout, "%-4s  %-10s  fix: %s\n", "", "", r.Fix)
		}
	}
	switch doctor.Worst(results) {
	case doctor.Fail:
		fmt.Fprintln(stdout, "schedfuzz cannot run here: fix the FAIL lines above")
		return exitFound
	case doctor.Warn:
		fmt.Fprintln(stdout, "schedfuzz can run here, with the limits above")
	default:
		fmt.Fprintln(stdout, "all is well")
	}
	return exitOK
}
