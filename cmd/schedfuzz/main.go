// Command schedfuzz hunts concurrency bugs: it runs an unmodified program
// many times under a scheduler that serializes its threads and chooses,
// at every syscall, which thread goes next; a failing run is saved as a
// seed file that replays exactly.
//
//	schedfuzz [flags] [--] PROG [ARGS...]   (see -h; the README documents every flag)
//	schedfuzz replay [-timeout D] [-trace FILE] FILE|DIR
//	schedfuzz trace [-f] [-e name,...] [-c] [-s N] [-o FILE] [--] PROG [ARGS...]
//	schedfuzz doctor                        (checks this machine; exit 1 if schedfuzz cannot run)
//
// Exit codes (the README's table has them all): 0 no failure (or: replay
// now passes), 1 a failure was found (or reproduced), 2 usage error,
// unusable program file, unsupported guest behaviour or corrupt seed
// file, 125 schedfuzz itself failed or a replay diverged, 126 PROG is not
// executable, 127 PROG (or its interpreter) was not found, 130
// interrupted. replay DIR exits 1 if any seed still fails, else 125 if any
// diverged, else 0. trace exits with the guest's status (128+N for signal
// N). Every error is one line (cli.go).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/schedfuzz/schedfuzz/hunt"
)

const version = "schedfuzz 0.2"

// Exit codes.
const (
	exitOK       = 0
	exitFound    = 1
	exitUsage    = hunt.ExitUsage
	exitTool     = 125
	exitNoExec   = hunt.ExitNoExec
	exitNotFound = hunt.ExitNotFound
)

func main() {
	os.Exit(realMain(os.Args[1:], os.Stdout, os.Stderr))
}

func realMain(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "replay":
			return replayMain(args[1:], stdout, stderr)
		case "trace":
			return traceMain(args[1:], stdout, stderr)
		case "doctor":
			return doctorMain(args[1:], stdout, stderr)
		}
	}
	return runMain(args, stdout, stderr)
}

// cliError is an error with its exit code.
type cliError struct {
	code int
	msg  string
}

func (e *cliError) Error() string { return e.msg }

// fail prints err as one line (oneLine) and returns its exit code: a
// *cliError's or *hunt.InputError's, that of a guest that could not be started
// (startErrorCode), else exitTool.
func fail(stderr io.Writer, err error) int {
	var ce *cliError
	if errors.As(err, &ce) {
		fmt.Fprintf(stderr, "schedfuzz: %s\n", oneLine(ce.msg))
		return ce.code
	}
	var ie *hunt.InputError
	if errors.As(err, &ie) {
		fmt.Fprintf(stderr, "schedfuzz: %s\n", oneLine(ie.Msg))
		return ie.Code
	}
	fmt.Fprintf(stderr, "schedfuzz: %s\n", oneLine(err.Error()))
	return startErrorCode(err)
}
