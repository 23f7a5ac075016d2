package replay_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/schedfuzz/schedfuzz/replay"
)

// A seed file is text: Parse reads one, Encode writes it back, and its
// decisions are what a replay follows.
func ExampleParse() {
	const text = `schedfuzz seed v1
tool: schedfuzz 0.3
target: "/tmp/lost_update"
sha256: 1525cae8d1ff3bd3e0d3b1ff3a7e8ab0c26d17b5b6a63bda6ae4fa56c5ba4d9c
seed: 0xbeeb8da1658eec67
strategy: random
outcome: exit 1
decisions: 2
pick 0 of 0,1 @t0:clone3
pick 1 of 0,1 @t0:futex
end
`
	f, err := replay.Parse(strings.NewReader(text))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s, seed %#x, %s: %d decisions\n", f.Target, f.Seed, f.Outcome, len(f.Decisions))
	for _, d := range f.Decisions {
		fmt.Println(replay.FormatDecision(d))
	}
	b, err := f.Encode()
	if err != nil {
		fmt.Println(err)
		return
	}
	os.Stdout.Write(b)
	// Output:
	// /tmp/lost_update, seed 0xbeeb8da1658eec67, exit 1: 2 decisions
	// pick 0 of 0,1 @t0:clone3
	// pick 1 of 0,1 @t0:futex
	// schedfuzz seed v1
	// tool: schedfuzz 0.3
	// target: "/tmp/lost_update"
	// sha256: 1525cae8d1ff3bd3e0d3b1ff3a7e8ab0c26d17b5b6a63bda6ae4fa56c5ba4d9c
	// seed: 0xbeeb8da1658eec67
	// run: 0
	// strategy: random
	// outcome: exit 1
	// decisions: 2
	// pick 0 of 0,1 @t0:clone3
	// pick 1 of 0,1 @t0:futex
	// end
}
