package intercept_test

import (
	"context"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
)

// writeCounter counts the write(2) calls of every thread and makes every
// getpid(2) return 42.
type writeCounter struct {
	intercept.NopTool
	writes map[int]int // by tid
}

func (c *writeCounter) Subscription() intercept.Subscription {
	return intercept.SubscribeTo(unix.SYS_WRITE, unix.SYS_GETPID)
}

func (c *writeCounter) SyscallEnter(t *intercept.Thread, s *intercept.Syscall) intercept.Action {
	switch s.Nr {
	case unix.SYS_WRITE:
		c.writes[t.Tid]++
	case unix.SYS_GETPID:
		return intercept.Emulate(42)
	}
	return intercept.Continue()
}

// A tool sees the calls it subscribed to and decides how each goes on: a
// shell that prints its pid prints the one the tool made up.
func ExampleRun() {
	c := &writeCounter{writes: map[int]int{}}
	res, err := intercept.Run(context.Background(), &intercept.Command{Path: "/bin/sh",
		Args: []string{"sh", "-c", "echo $$"}, Stdout: os.Stdout}, c, intercept.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	n := 0
	for _, w := range c.writes {
		n += w
	}
	fmt.Printf("exit %d, %d write\n", res.ExitCode(), n)
	// Output:
	// 42
	// exit 0, 1 write
}
