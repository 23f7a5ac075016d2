package report

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/sched"
)

// HTML writes the failure report as one self-contained page (no external
// resources: styles inline, the timeline an inline SVG): the outcome and
// the replay command; the critical pair, highlighted, with each event's
// stack and the source lines around it when the files are readable; a
// lane per thread in virtual time with its running stretches, its
// scheduling points and the wake-ups between threads; each thread's last
// points; the text report and the guest's output.
func (f *Failure) HTML(w io.Writer) error {
	var text bytes.Buffer
	f.Text(&text)
	r := f.Result
	page := htmlPage{
		Title:     fmt.Sprintf("schedfuzz: %s in %s", r.Describe(), f.Target),
		Outcome:   r.Describe(),
		Signature: explore.Signature(r),
		State:     map[bool]string{true: "Known", false: "New"}[f.Known],
		Steps:     r.Outcome.Steps,
		Decisions: len(r.Decisions),
		Virtual:   time.Duration(r.Outcome.VirtualTime).String(),
		Text:      text.String(),
		Stdout:    tail(r.Stdout),
		Stderr:    tail(r.Stderr),
	}
	if f.Seed != "" {
		page.Replay = "schedfuzz replay " + f.Seed
	}
	if f.Run >= 0 {
		page.Run = fmt.Sprintf("run %d, seed %#016x", f.Run, r.Seed)
	}
	if c := f.Cause; c != nil {
		page.Pair = []pairEvent{f.pairEvent(1, c.First), f.pairEvent(2, c.Second)}
		page.PairText = fmt.Sprintf("The run fails when thread %d's event runs before thread %d's, and passes the other way round.", c.Second.Thread, c.First.Thread)
	}
	page.Timeline = template.HTML(timelineSVG(r.Outcome, f.Cause))
	for _, t := range r.Outcome.Threads {
		page.Threads = append(page.Threads, f.threadSection(t))
	}
	return htmlTemplate().Execute(w, page)
}

type htmlPage struct {
	Title, Outcome, Signature, State, Run, Virtual, Replay string
	Steps, Decisions                                       int
	PairText                                               string
	Pair                                                   []pairEvent
	Timeline                                               template.HTML
	Threads                                                []htmlThread
	Text, Stdout, Stderr                                   string
}

type pairEvent struct {
	N             int
	Thread, Point int
	Name          string
	At            string // the program's frame (Location.At)
	Frames        []htmlFrame
}

type htmlFrame struct {
	Text   string
	Source []sourceLine // the lines around it, if the file is readable
}

type sourceLine struct {
	N    int
	Text string
	Hot  bool
}

type htmlThread struct {
	Vtid, Pid int
	State     string
	Born      string
	Last      []htmlPoint
}

// htmlPoint is one of a thread's last points: "#12 write", and where it
// was (Location.At) when its stack was captured, its frames as a title.
type htmlPoint struct {
	Text, At, Stack string
}

func (f *Failure) pairEvent(n int, e explore.ThreadEvent) pairEvent {
	pe := pairEvent{N: n, Thread: e.Thread, Point: e.Point, Name: e.Name}
	frames := f.stackAt(e.Thread, e.Point)
	pe.At = location(e.Thread, e.Point, e.Name, frames).At()
	for i, fr := range frames {
		hf := htmlFrame{Text: fr.String()}
		if i < 3 {
			hf.Source = sourceAround(fr.File, fr.Line, 3)
		}
		pe.Frames = append(pe.Frames, hf)
	}
	return pe
}

// sourceAround reads the lines of file around line (nil if unreadable).
func sourceAround(file string, line, ctx int) []sourceLine {
	if file == "" || line <= 0 {
		return nil
	}
	b, err := os.ReadFile(file)
	if err != nil || len(b) > 4<<20 {
		return nil
	}
	lines := strings.Split(string(b), "\n")
	var out []sourceLine
	for n := max(1, line-ctx); n <= min(len(lines), line+ctx); n++ {
		out = append(out, sourceLine{N: n, Text: lines[n-1], Hot: n == line})
	}
	return out
}

func (f *Failure) threadSection(t sched.ThreadInfo) htmlThread {
	ht := htmlThread{Vtid: t.Vtid, Pid: t.Pid, State: "exited"}
	if !t.Exited {
		ht.State = "live"
		if t.Waits != "" {
			ht.State = t.Waits
		}
	}
	if t.Parent >= 0 {
		ht.Born = fmt.Sprintf("created by thread %d at %s", t.Parent, t.Born)
	} else {
		ht.Born = "the program's first thread"
	}
	for i := len(t.Last) - 1; i >= 0; i-- {
		n := t.Points - (len(t.Last) - 1 - i)
		p := htmlPoint{Text: fmt.Sprintf("#%d %s", n, t.Last[i])}
		if frames := f.stackAt(t.Vtid, n); frames != nil {
			l := location(t.Vtid, n, t.Last[i], frames)
			p.At, p.Stack = l.At(), strings.Join(l.Stack, "\n")
		}
		ht.Last = append(ht.Last, p)
	}
	return ht
}

// Timeline geometry, in SVG pixels.
const (
	svgWidth   = 1100
	svgLabel   = 90 // the lane labels' column
	svgLane    = 34 // height of a lane
	svgTop     = 24
	svgSpans   = 20000
	pairColour = "#d6336c"
)

// timelineSVG draws a lane per thread: running stretches (a rect each,
// titled with the point that ended it), points (ticks), wake-ups (arrows
// from the waker's lane, or from a timer) and the critical pair's points
// (numbered magenta markers).
func timelineSVG(o sched.Outcome, c *explore.Cause) string {
	var b strings.Builder
	lanes := map[int]int{}
	for i, t := range o.Threads {
		lanes[t.Vtid] = i
	}
	end := max(o.VirtualTime, 1)
	for _, sp := range o.Timeline {
		end = max(end, sp.End)
	}
	x := func(ns int64) float64 { return svgLabel + float64(ns)/float64(end)*float64(svgWidth-svgLabel-10) }
	y := func(vtid int) float64 { return svgTop + float64(lanes[vtid])*svgLane }
	height := svgTop + len(o.Threads)*svgLane + 10
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" class="timeline">`, svgWidth, height)
	fmt.Fprintf(&b, `<text x="%d" y="14" class="axis">virtual time 0 – %v</text>`, svgLabel, time.Duration(end))
	for _, t := range o.Threads {
		fmt.Fprintf(&b, `<text x="4" y="%.1f" class="lane">thread %d</text>`, y(t.Vtid)+svgLane/2+4, t.Vtid)
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="laneline"/>`, svgLabel, svgWidth-10, y(t.Vtid)+svgLane/2, y(t.Vtid)+svgLane/2)
	}
	// The critical pair's points: thread T's k-th point ends its
	// (k-1)-th running stretch (its first point is its start).
	want := map[[2]int]int{}
	if c != nil {
		want[[2]int{c.First.Thread, c.First.Point}] = 1
		want[[2]int{c.Second.Thread, c.Second.Point}] = 2
	}
	stretches := map[int]int{}
	spans := o.Timeline
	if len(spans) > svgSpans {
		spans = spans[len(spans)-svgSpans:]
	}
	var marks strings.Builder
	for _, sp := range spans {
		if sp.Woke >= 0 {
			from := y(sp.Woke) - 6
			if sp.Thread >= 0 {
				from = y(sp.Thread) + svgLane/2
			}
			fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" class="wake"><title>%s woke thread %d</title></line>`,
				x(sp.Start), x(sp.Start), from, y(sp.Woke)+svgLane/2, waker(sp.Thread), sp.Woke)
			continue
		}
		stretches[sp.Thread]++
		x0, x1 := x(sp.Start), x(sp.End)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%d" class="run"><title>thread %d runs until %s</title></rect>`,
			x0, y(sp.Thread)+8, max(x1-x0, 1), svgLane-16, sp.Thread, template.HTMLEscapeString(sp.Point))
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" class="point"/>`, x1, x1, y(sp.Thread)+4, y(sp.Thread)+svgLane-4)
		if n, ok := want[[2]int{sp.Thread, stretches[sp.Thread] + 1}]; ok {
			cy := y(sp.Thread) + svgLane/2
			fmt.Fprintf(&marks, `<a href="#pair%d"><circle cx="%.1f" cy="%.1f" r="9" fill="%s" class="pairmark"><title>critical pair event %d: %s</title></circle>`+
				`<text x="%.1f" y="%.1f" class="pairnum">%d</text></a>`,
				n, x1, cy, pairColour, n, template.HTMLEscapeString(sp.Point), x1-3.5, cy+4, n)
		}
	}
	b.WriteString(marks.String()) // on top of the stretches
	b.WriteString(`</svg>`)
	return b.String()
}

func waker(vtid int) string {
	if vtid < 0 {
		return "a timer"
	}
	return fmt.Sprintf("thread %d", vtid)
}

// htmlTemplate is parsed on first use: every schedfuzz invocation links
// it, few write a page.
var htmlTemplate = sync.OnceValue(func() *template.Template { return template.Must(template.New("report").Parse(htmlSource)) })

const htmlSource = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #1d1d1f; max-width: 1160px; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 24px 0 8px; }
.meta { color: #555; } .new { color: #b00020; font-weight: 600; } .known { color: #555; font-weight: 600; }
pre { background: #f5f5f7; padding: 10px; overflow-x: auto; font: 12.5px/1.4 ui-monospace, monospace; }
.replay { background: #1d1d1f; color: #f5f5f7; }
.pair { border: 3px solid ` + pairColour + `; border-radius: 6px; padding: 8px 14px; margin: 10px 0; background: #fff0f5; }
.pair h3 { margin: 4px 0; color: ` + pairColour + `; font-size: 15px; }
.frame { font-family: ui-monospace, monospace; font-size: 12.5px; margin: 2px 0; }
.src { margin: 2px 0 8px 18px; background: #fafafa; padding: 4px 8px; }
.src .hot { background: #ffd6e4; font-weight: 600; }
.timeline { border: 1px solid #ddd; background: #fff; }
.timeline .run { fill: #3b82f6; } .timeline .point { stroke: #1e3a8a; stroke-width: 1; }
.timeline .wake { stroke: #f59e0b; stroke-width: 1.5; } .timeline .laneline { stroke: #e5e7eb; }
.timeline .lane { font-size: 12px; fill: #333; } .timeline .axis { font-size: 11px; fill: #666; }
.timeline .pairnum { font-size: 11px; fill: #fff; font-weight: 700; pointer-events: none; }
.threads { display: flex; flex-wrap: wrap; gap: 12px; }
.thread { border: 1px solid #ddd; border-radius: 6px; padding: 6px 12px; min-width: 220px; }
.thread .at { color: #555; font-size: 11.5px; }
.thread ol { margin: 4px 0; padding-left: 0; list-style: none; font-family: ui-monospace, monospace; font-size: 12.5px; }
</style></head><body>
<h1>{{.Outcome}} <span class="{{if eq .State "New"}}new{{else}}known{{end}}">({{.State}} failure)</span></h1>
<div class="meta">signature <code>{{.Signature}}</code> · {{.Steps}} scheduling points, {{.Decisions}} decisions, virtual time {{.Virtual}}{{if .Run}} · {{.Run}}{{end}}</div>
{{if .Replay}}<h2>Replay</h2><pre class="replay">{{.Replay}}</pre>{{end}}
{{if .Pair}}<h2>Critical pair</h2><p>{{.PairText}}</p>
{{range .Pair}}<div class="pair" id="pair{{.N}}"><h3>{{.N}}. thread {{.Thread}}: {{.Name}} (its scheduling point {{.Point}}){{if .At}} at <code>{{.At}}</code>{{end}}</h3>
{{range .Frames}}<div class="frame">{{.Text}}</div>{{if .Source}}<pre class="src">{{range .Source}}<span{{if .Hot}} class="hot"{{end}}>{{printf "%5d" .N}}  {{.Text}}</span>
{{end}}</pre>{{end}}{{else}}<div class="frame">(no stack: replay with -html to get one)</div>{{end}}
</div>{{end}}{{end}}
<h2>Timeline (virtual time)</h2>
{{.Timeline}}
<h2>Threads</h2><div class="threads">{{range .Threads}}<div class="thread"><b>thread {{.Vtid}}</b> (pid {{.Pid}}, {{.State}})<br><small>{{.Born}}</small>
<ol>{{range .Last}}<li{{if .Stack}} title="{{.Stack}}"{{end}}>{{.Text}}{{if .At}}<br><span class="at">{{.At}}</span>{{end}}</li>{{end}}</ol></div>{{end}}</div>
<h2>Report</h2><pre>{{.Text}}</pre>
{{if .Stdout}}<h2>Guest stdout</h2><pre>{{.Stdout}}</pre>{{end}}
{{if .Stderr}}<h2>Guest stderr</h2><pre>{{.Stderr}}</pre>{{end}}
</body></html>
`
