package main

import (
	"flag"

	"github.com/schedfuzz/schedfuzz/hunt"
	"github.com/schedfuzz/schedfuzz/sched"
)

// defaultPoints is the -points default (hunt.DefaultPoints).
const defaultPoints = hunt.DefaultPoints

// registerPoints registers -points, -yield-at, -watch and the memory
// points' -memory-sites and -memory-in into p.
func registerPoints(fs *flag.FlagSet, p *hunt.Points, def string) {
	fs.StringVar(&p.Set, "points", def, "scheduling points: syscalls; sync (syscalls plus pthread, C11 and Go sync and channel functions); memory (sync plus a sample of the program's memory accesses); sync+memory (sync, and memory in every 3rd run)")
	fs.StringVar(&p.YieldAt, "yield-at", "", "more points: functions or file.c:LINE, comma-separated")
	fs.StringVar(&p.Watch, "watch", "", "data points: global variables SYMBOL[:len], comma-separated (at most 4)")
	fs.IntVar(&p.MemorySites, "memory-sites", sched.DefaultMemorySample, "-points memory: memory accesses sampled as points per run (in each scanned object)")
	fs.StringVar(&p.MemoryIn, "memory-in", "", "-points memory: libraries whose code is sampled too (file names or prefixes: libfoo.so.1,libbar), comma-separated")
}

// parsePoints checks the point flags; errors are usage errors.
func parsePoints(p *hunt.Points) error {
	if p.MemorySites <= 0 {
		return usageErr("-memory-sites must be positive")
	}
	if err := p.Parse(); err != nil {
		return usageErr("%v", err)
	}
	return nil
}
