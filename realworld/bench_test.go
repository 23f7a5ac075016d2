package realworld

import (
	"context"
	"testing"
	"time"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
)

// BenchmarkRealPrograms measures, per case, the wall time of a native run
// and of one scheduled run under each strategy, in the same process and
// interleaved (native, random, pct:3, pos, chaos, native, ...), so that
// the machine's load weighs on all alike. It reports ms per run for each,
// the slowdown against native (x) and the strategy's runs per second
// (one run at a time). A run that does not end as the native run did is
// counted in <strategy>-bad; its time is still included.
//
//	go test -run '^$' -bench RealPrograms -benchtime 5x ./realworld
func BenchmarkRealPrograms(b *testing.B) {
	for _, c := range realCases {
		b.Run(c.name, func(b *testing.B) {
			testenv.RequirePtrace(b)
			argv := c.argv(b)
			want, err := runOnce(argv)
			if err != nil {
				b.Fatalf("native run: %v", err)
			}
			var nativeWall time.Duration
			wall := make([]time.Duration, len(strategies))
			bad := make([]int, len(strategies))
			for i := 0; i < b.N; i++ {
				n, err := runOnce(argv)
				if err != nil {
					b.Fatalf("native run: %v", err)
				}
				nativeWall += n.wall
				for j, sp := range strategies {
					cfg := template()
					cfg.Seed, cfg.Strategy = explore.RunSeed(caseSeed(c.name+"/bench/"+sp.String()), i), sp
					r, err := explore.Run(context.Background(), target(argv), cfg)
					if err != nil {
						b.Fatalf("%s: %v", sp, err)
					}
					wall[j] += r.Wall
					if mismatch(&explore.RunReport{Result: r}, want, !c.ignoreStderr) != "" {
						bad[j]++
					}
				}
			}
			nms := float64(nativeWall.Microseconds()) / 1e3 / float64(b.N)
			b.ReportMetric(nms, "native-ms")
			for j, sp := range strategies {
				ms := float64(wall[j].Microseconds()) / 1e3 / float64(b.N)
				b.ReportMetric(ms, sp.String()+"-ms")
				b.ReportMetric(ms/nms, sp.String()+"-x")
				b.ReportMetric(1000/ms, sp.String()+"-runs/s")
				b.ReportMetric(float64(bad[j]), sp.String()+"-bad")
			}
			b.ReportMetric(0, "ns/op")
		})
	}
}
