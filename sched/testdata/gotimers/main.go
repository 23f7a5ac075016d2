// Command gotimers exercises the Go runtime's timers, which wait in the
// netpoller (epoll_pwait with a timeout) and in futex sleeps: a Ticker
// over 5 s, time.After in a select, context.WithTimeout, and a net/http
// server and client over loopback. Its output is the same natively and
// in every schedule.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	// A Ticker of 1 s over 5.5 s ticks 5 times.
	tk := time.NewTicker(time.Second)
	stop := time.After(5500 * time.Millisecond)
	ticks := 0
loop:
	for {
		select {
		case <-tk.C:
			ticks++
		case <-stop:
			break loop
		}
	}
	tk.Stop()
	fmt.Println("ticker: 5.5 s of 1 s ticks:", ticks)

	// time.After against a value sent after 10 ms: the value wins.
	ch := make(chan int)
	go func() { time.Sleep(10 * time.Millisecond); ch <- 1 }()
	select {
	case <-ch:
		fmt.Println("select: the value before time.After(5s)")
	case <-time.After(5 * time.Second):
		fmt.Println("select: time.After(5s) first: WRONG")
	}
	// And against a value that never comes: the timer wins, on time.
	start := time.Now()
	select {
	case <-make(chan int):
		fmt.Println("select: a value that is never sent: WRONG")
	case <-time.After(200 * time.Millisecond):
		fmt.Println("select: time.After(200ms) fired, late by at least 0:", time.Since(start) >= 200*time.Millisecond)
	}

	// context.WithTimeout: done after its timeout, with DeadlineExceeded.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	start = time.Now()
	<-ctx.Done()
	cancel()
	fmt.Println("context.WithTimeout(300ms):", ctx.Err(), "after its timeout:", time.Since(start) >= 300*time.Millisecond)

	// A work function that finishes before its context's deadline.
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	done := make(chan struct{})
	go func() { time.Sleep(20 * time.Millisecond); close(done) }()
	select {
	case <-done:
		fmt.Println("context.WithTimeout(5s): the work finished first")
	case <-ctx.Done():
		fmt.Println("context.WithTimeout(5s): timed out: WRONG")
	}
	cancel()

	// net/http over loopback.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", r.URL.Path[1:])
	})}
	go srv.Serve(ln)
	client := &http.Client{Timeout: 10 * time.Second}
	for _, who := range []string{"a", "b", "c"} {
		resp, err := client.Get("http://" + ln.Addr().String() + "/" + who)
		if err != nil {
			fmt.Println("get:", err)
			os.Exit(1)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println("http:", resp.StatusCode, string(body))
	}
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	srv.Shutdown(ctx)
	cancel()
	fmt.Println("done")
}
