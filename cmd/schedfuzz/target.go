package main

import (
	"errors"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
)

// startErrorCode is the exit code of a run that failed because the guest
// could not be executed at all, as a shell would say it (126, 127, or 2
// for a format the kernel refuses), else exitTool.
func startErrorCode(err error) int {
	var se *intercept.StartError
	if !errors.As(err, &se) {
		return exitTool
	}
	switch {
	case errors.Is(se.Err, unix.ENOENT):
		return exitNotFound
	case errors.Is(se.Err, unix.EACCES), errors.Is(se.Err, unix.EPERM):
		return exitNoExec
	case errors.Is(se.Err, unix.ENOEXEC), errors.Is(se.Err, unix.EIO), errors.Is(se.Err, unix.ELIBBAD):
		return exitUsage
	}
	return exitTool
}
