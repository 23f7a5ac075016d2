// Command timers exercises the Go runtime's timers and netpoller, which
// wait in epoll_pwait with a timeout and in futexes: a time.Ticker, select
// on time.After, context.WithTimeout, time.Timer Stop/Reset, time.Sleep,
// and a net/http server and client over loopback (127.0.0.1:0).
//
// Arguments name the steps to run (ticker after context timer sleep
// http; default: all). Deterministic output: one line per check (counts and booleans only, so
// native timing noise never changes it); exit 0, or 1 with "FAIL ..." on
// stderr.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "FAIL "+format+"\n", a...)
	os.Exit(1)
}

// steps run in order; arguments name the ones to run (default: all).
var steps = []struct {
	name string
	run  func()
}{
	{"ticker", ticker}, {"after", afterSelect}, {"context", contextTimeout},
	{"timer", timerReset}, {"sleep", sleep}, {"http", httpLoopback},
}

func main() {
	for _, s := range steps {
		if len(os.Args) == 1 || slices.Contains(os.Args[1:], s.name) {
			s.run()
		}
	}
}

// ticker: 5 ticks of a 10 ms ticker take at least 50 ms; 10 ticks of a
// 100 ms ticker take at least 1 s and (even on a loaded machine) less
// than 10 s; a 100 ms ticker racing time.After(1.05s) ticks 1 to 11 times
// first (10 in the window, plus one that was due before it). (A ticker that drops ticks under load still meets these bounds.)
func ticker() {
	start := time.Now()
	t := time.NewTicker(10 * time.Millisecond)
	for range 5 {
		<-t.C
	}
	t.Stop()
	if d := time.Since(start); d < 50*time.Millisecond {
		fail("5 ticks of 10ms in %v", d)
	}
	start = time.Now()
	t = time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for range 10 {
		<-t.C
	}
	if d := time.Since(start); d < time.Second || d >= 10*time.Second {
		fail("10 ticks of 100ms in %v", d)
	}
	end := time.After(time.Second + 50*time.Millisecond)
	n := 0
	for loop := true; loop; {
		select {
		case <-t.C:
			n++
		case <-end:
			loop = false
		}
	}
	if n < 1 || n > 11 {
		fail("a 100ms ticker ticked %d times in 1.05s", n)
	}
	fmt.Println("ticker: 5 ticks of 10ms; 10 ticks of 100ms in 1s..10s; 1..11 ticks in 1.05s")
}

// afterSelect: select takes the time.After branch over a channel nobody
// sends on, and a result that comes after 10 ms over time.After(1s).
func afterSelect() {
	never := make(chan int)
	select {
	case <-never:
		fail("received from a channel nobody sends on")
	case <-time.After(30 * time.Millisecond):
	}
	res := make(chan int, 1)
	go func() {
		time.Sleep(10 * time.Millisecond)
		res <- 42
	}()
	select {
	case v := <-res:
		if v != 42 {
			fail("got %d", v)
		}
	case <-time.After(time.Second):
		fail("time.After(1s) fired before a 10ms result")
	}
	fmt.Println("select: time.After branch, then the 10ms result before time.After(1s)")
}

// contextTimeout: a 10 ms job beats a 200 ms deadline; a 5 s job does not.
func contextTimeout() {
	job := func(ctx context.Context, d time.Duration) error {
		select {
		case <-time.After(d):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := job(ctx, 10*time.Millisecond); err != nil {
		fail("10ms job under a 200ms deadline: %v", err)
	}
	start := time.Now()
	if err := job(ctx, 5*time.Second); !errors.Is(err, context.DeadlineExceeded) {
		fail("5s job under a 200ms deadline: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		fail("deadline noticed after %v", d)
	}
	fmt.Println("context: 10ms job done; 5s job cancelled by DeadlineExceeded")
}

// timerReset: a stopped timer never fires; a reset one fires once.
func timerReset() {
	t := time.NewTimer(time.Hour)
	if !t.Stop() {
		fail("Stop of a pending timer returned false")
	}
	t.Reset(20 * time.Millisecond)
	<-t.C
	select {
	case <-t.C:
		fail("a one-shot timer fired twice")
	case <-time.After(50 * time.Millisecond):
	}
	fmt.Println("timer: Stop, Reset, fired once")
}

// sleep: sleeping goroutines all wake, each after its own duration.
func sleep() {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var order []int
	start := time.Now()
	for i := 1; i <= 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * 15 * time.Millisecond)
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if d := time.Since(start); d < 60*time.Millisecond {
		fail("4 sleepers done in %v", d)
	}
	slices.Sort(order)
	fmt.Println("sleep: 4 goroutines woke:", order)
}

// httpLoopback: a server on 127.0.0.1:0, four concurrent client requests,
// a graceful Shutdown.
func httpLoopback() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail("listen: %v", err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", strings.TrimPrefix(r.URL.Path, "/"))
	})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	client := &http.Client{Timeout: 5 * time.Second}
	var wg sync.WaitGroup
	bodies := make([]string, 4)
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Get(fmt.Sprintf("http://%s/%d", ln.Addr(), i))
			if err != nil {
				fail("GET %d: %v", i, err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				fail("read body %d: %v", i, err)
			}
			bodies[i] = string(b)
		}()
	}
	wg.Wait()
	// The Transport may have dialed a connection it never used (a request
	// got another's connection first): the server sees it as StateNew and
	// Shutdown waits 5 s before it counts as idle. Closing the client's
	// idle connections first makes the server see them end. (Found by
	// schedfuzz: without this line a 5 s Shutdown deadline expired in
	// some schedules.)
	client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		fail("shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		fail("serve: %v", err)
	}
	fmt.Println("http:", strings.Join(bodies, ", "))
}
