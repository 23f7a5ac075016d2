// Command httpd is a Go net/http server and client in one process: it
// listens on 127.0.0.1:0, eight client goroutines each GET /sum?n=K, the
// handler computes and answers, and the server shuts down. Prints the
// total; exit 0, or 1 with "FAIL" on stderr.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
)

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail("listen: %v", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/sum", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		s := 0
		for i := 1; i <= n; i++ {
			s += i
		}
		fmt.Fprint(w, s)
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	client := &http.Client{Transport: &http.Transport{}}
	var wg sync.WaitGroup
	got := make([]int, 8)
	for k := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Get(fmt.Sprintf("http://%s/sum?n=%d", ln.Addr(), 100*(k+1)))
			if err != nil {
				fail("get: %v", err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got[k], _ = strconv.Atoi(string(b))
		}()
	}
	wg.Wait()
	client.CloseIdleConnections()
	if err := srv.Shutdown(context.Background()); err != nil {
		fail("shutdown: %v", err)
	}
	total := 0
	for k, v := range got {
		n := 100 * (k + 1)
		if v != n*(n+1)/2 {
			fail("sum %d: %d", n, v)
		}
		total += v
	}
	fmt.Println("httpd: 8 requests, total", total)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "FAIL "+format+"\n", args...)
	os.Exit(1)
}
