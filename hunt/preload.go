package hunt

import (
	"path/filepath"

	"github.com/schedfuzz/schedfuzz/intercept/symbols"
)

// Preload starts reading, on a goroutine of its own, what the first run
// will need of the files an earlier session's runs of this program
// mapped: their symbol tables and rdtsc site lists, from the disk caches
// (symbols.Cache.Preload), and the points' resolution in them
// (points.Plan.Prepare). A front end calls it before its other start-up
// work (the CLI: making the sandbox) so that the two overlap. The runs
// get the same objects, sites and points whether or not the preload has
// finished (the caches are keyed by file identity, the site lists are
// read from the same disk cache the runs read, and a resolution is a
// function of the object). The channel is closed when it
// is done; nothing needs to wait for it.
func (h *Hunt) Preload() <-chan struct{} {
	var warm func(*symbols.Object)
	if h.Points != nil && h.Points.plan != nil {
		plan := h.Points.plan
		warm = func(o *symbols.Object) {
			plan.WarmTSC(o)
			plan.Prepare(o)
		}
	}
	return h.Symbols.Preload(h.preloadKey(), warm)
}

// SavePreload records the files this hunt's runs mapped, for the Preload
// of a later session (written only if they changed).
func (h *Hunt) SavePreload() { h.Symbols.SavePreload(h.preloadKey()) }

func (h *Hunt) preloadKey() string {
	if h.Symbols == nil || h.Program == nil {
		return ""
	}
	p, err := filepath.Abs(h.Program.Path)
	if err != nil {
		return ""
	}
	return p
}
