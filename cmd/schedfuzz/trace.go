package main

import "io"

func traceMain(args []string, stdout, stderr io.Writer) int {
	return fail(stderr, &cliError{exitTool, "trace: not built yet"})
}
