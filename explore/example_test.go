package explore_test

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/schedfuzz/schedfuzz/explore"
)

// One run of a program under the scheduler: the seed decides every
// scheduling choice, so the same seed gives the same run, decisions and
// output included.
func ExampleRun() {
	tgt := &explore.Target{Path: "/bin/sh", Args: []string{"sh", "-c", "echo one & echo two; wait"}}
	var first *explore.Result
	for range 2 {
		r, err := explore.Run(context.Background(), tgt, explore.Config{Seed: 7, Timeout: 20 * time.Second})
		if err != nil {
			fmt.Println(err)
			return
		}
		if first == nil {
			first = r
			fmt.Printf("%s, %q\n", r.Describe(), r.Stdout)
			continue
		}
		fmt.Println("same run again:", reflect.DeepEqual(r.Decisions, first.Decisions) && string(r.Stdout) == string(first.Stdout))
	}
	// Output:
	// exit 0, "two\none\n"
	// same run again: true
}
