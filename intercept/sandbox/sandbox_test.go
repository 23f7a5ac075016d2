package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCPUFiles(t *testing.T) {
	host := "processor\t: 0\nvendor_id\t: GenuineIntel\nphysical id\t: 0\nsiblings\t: 2\ncore id\t\t: 0\ncpu cores\t: 2\napicid\t\t: 0\n\nprocessor\t: 1\nvendor_id\t: GenuineIntel\n"
	files := cpuFiles(3, []byte(host))
	if got := string(files["/sys/devices/system/cpu/online"]); got != "0-2\n" {
		t.Errorf("online = %q, want 0-2", got)
	}
	if got := string(cpuFiles(1, nil)["/sys/devices/system/cpu/possible"]); got != "0\n" {
		t.Errorf("possible for 1 CPU = %q, want 0", got)
	}
	info := string(files["/proc/cpuinfo"])
	if n := strings.Count(info, "processor\t: "); n != 3 {
		t.Errorf("/proc/cpuinfo has %d processors, want 3:\n%s", n, info)
	}
	for _, want := range []string{"processor\t: 2\n", "core id\t\t: 2\n", "siblings\t: 3\n", "cpu cores\t: 3\n", "vendor_id\t: GenuineIntel\n"} {
		if !strings.Contains(info, want) {
			t.Errorf("/proc/cpuinfo lacks %q:\n%s", want, info)
		}
	}
	stat := string(files["/proc/stat"])
	for _, want := range []string{"cpu  0 0", "cpu0 0 0", "cpu2 0 0", "btime 1735688600\n"} {
		if !strings.Contains(stat, want) {
			t.Errorf("/proc/stat lacks %q:\n%s", want, stat)
		}
	}
	if strings.Contains(stat, "cpu3") {
		t.Errorf("/proc/stat has a fourth CPU:\n%s", stat)
	}
}

func TestSockstatClean(t *testing.T) {
	clean := "sockets: used 120\nTCP: inuse 0 orphan 0 tw 0 alloc 0 mem 0\nUDP: inuse 0 mem 0\nUDPLITE: inuse 0\nRAW: inuse 0\nFRAG: inuse 0 memory 0\n"
	if !sockstatClean([]byte(clean)) {
		t.Errorf("clean sockstat judged dirty")
	}
	for _, dirty := range []string{
		strings.Replace(clean, "tw 0", "tw 1", 1),
		strings.Replace(clean, "TCP: inuse 0", "TCP: inuse 2", 1),
		strings.Replace(clean, "UDP: inuse 0", "UDP: inuse 1", 1),
		"TCP6: inuse x\n",
	} {
		if sockstatClean([]byte(dirty)) {
			t.Errorf("dirty sockstat judged clean:\n%s", dirty)
		}
	}
}

func TestPlan(t *testing.T) {
	for _, c := range []struct {
		dir, prog string
		views     []string
		bind      string
	}{
		{"/tmp/a/b", "/tmp/a/b/prog", []string{"/tmp/a/b"}, ""},
		{"/tmp/a/b", "./prog", []string{"/tmp/a/b"}, ""},
		{"/tmp/a/b", "/tmp/c/prog", []string{"/tmp/a/b", "/tmp/c"}, ""},
		{"/tmp/a/b", "/tmp/prog", []string{"/tmp/a/b"}, "/tmp/prog"},
		{"/tmp/a/b", "/usr/bin/true", []string{"/tmp/a/b"}, ""},
		{"/", "/tmp/prog", nil, "/tmp/prog"},
	} {
		p := &Pool{cfg: Config{Dir: c.dir, Prog: c.prog}}
		p.plan()
		var views []string
		for _, v := range p.views {
			views = append(views, v.dir)
		}
		if strings.Join(views, ",") != strings.Join(c.views, ",") || p.progBind != c.bind {
			t.Errorf("plan(%s, %s) = views %v, bind %q; want %v, %q", c.dir, c.prog, views, p.progBind, c.views, c.bind)
		}
	}
}

// TestPlanSubmounts: a working directory in /tmp that holds a mount is
// shown as it is (bound with its mounts), not hidden by the fresh /tmp.
func TestPlanSubmounts(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "m")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", sub, "tmpfs", 0, "size=64k"); err != nil {
		t.Skipf("cannot mount a tmpfs (needs root): %v", err)
	}
	defer unix.Unmount(sub, unix.MNT_DETACH)
	p := &Pool{cfg: Config{Dir: dir, Prog: "/tmp/elsewhere/prog"}}
	p.plan()
	if v := p.viewOf(dir); v == nil || v.cow || !slices.Contains(p.binds(), dir) {
		t.Errorf("plan(%s) = views %+v, binds %v: want %s bound as it is", dir, p.views, p.binds(), dir)
	}
}

// newPool makes a pool, or skips the test if this machine gives this
// process no namespaces (unprivileged, outside a user namespace of its
// own: the cmd tests cover that case through Reexec).
func newPool(t *testing.T, cfg Config) *Pool {
	t.Helper()
	p, err := New(cfg)
	var ue *UnavailableError
	if errors.As(err, &ue) && errors.Is(err, unix.EPERM) {
		t.Skipf("no namespaces for this process: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// runIn runs argv in one of p's runs, as intercept does (without ptrace),
// and returns its output.
func runIn(t *testing.T, p *Pool, argv ...string) string {
	t.Helper()
	rd, wr, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	type result struct {
		err error
		ws  unix.WaitStatus
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread entered a world
		defer wr.Close()
		r := p.Run()
		defer r.Close()
		dir, _, err := r.Enter("")
		if err != nil {
			ch <- result{err: err}
			return
		}
		pid, err := syscall.ForkExec(argv[0], argv, &syscall.ProcAttr{Dir: dir, Files: []uintptr{0, wr.Fd(), wr.Fd()}})
		if lerr := r.Leave(); err == nil {
			err = lerr
		}
		if err != nil {
			ch <- result{err: err}
			return
		}
		var ws unix.WaitStatus
		_, err = unix.Wait4(pid, &ws, unix.WALL|unix.WNOTHREAD, nil)
		ch <- result{err, ws}
	}()
	out, _ := io.ReadAll(rd)
	res := <-ch
	if res.err != nil {
		t.Fatalf("%v: %v\n%s", argv, res.err, out)
	}
	if !res.ws.Exited() || res.ws.ExitStatus() != 0 {
		t.Fatalf("%v: status %#x\n%s", argv, res.ws, out)
	}
	return string(out)
}

// TestFreshWorld runs shell guests that leave files in /tmp, /dev/shm and
// their working directory, rename the host, and fork: every run finds the
// world as the first did, and the host sees none of it.
func TestFreshWorld(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "input"), []byte("in\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := newPool(t, Config{Dir: dir, CPUs: 3})
	script := `echo pid=$$ host=$(hostname) cpus=$(getconf _NPROCESSORS_ONLN)
ls -A /tmp /dev/shm . | tr '\n' ' '; echo
cat input
(echo child=$(sh -c 'echo $PPID'))
echo x > /tmp/left; echo y > /dev/shm/left; echo z > out; rm input
hostname other 2>/dev/null || true`
	var first string
	for i := 0; i < 4; i++ {
		out := runIn(t, p, "/bin/sh", "-c", script)
		if i == 0 {
			first = out
			for _, want := range []string{"pid=2 host=schedfuzz cpus=3\n", "in\n"} {
				if !strings.Contains(out, want) {
					t.Errorf("first run lacks %q:\n%s", want, out)
				}
			}
			continue
		}
		if out != first {
			t.Errorf("run %d saw another world:\n%s\nfirst run:\n%s", i, out, first)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
		t.Errorf("the guest's output file reached the host's directory")
	}
	if b, err := os.ReadFile(filepath.Join(dir, "input")); err != nil || string(b) != "in\n" {
		t.Errorf("the host's input file changed: %q, %v", b, err)
	}
	if h, _ := os.Hostname(); h == "other" {
		t.Errorf("the guest renamed the host")
	}
}

// TestWorldChangedMounts: a run that mounts something (a root guest)
// leaves a world that is thrown away; the next run gets a clean one.
func TestWorldChangedMounts(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs a root guest")
	}
	p := newPool(t, Config{Dir: t.TempDir()})
	runIn(t, p, "/bin/true")
	if n := len(p.worlds.free); n != 1 {
		t.Fatalf("%d free worlds after a clean run, want 1", n)
	}
	runIn(t, p, "/bin/sh", "-c", "mount -t tmpfs none /var/tmp && touch /var/tmp/mark")
	if n := len(p.worlds.free); n != 0 {
		t.Fatalf("%d free worlds after a run that mounted something, want 0", n)
	}
	out := runIn(t, p, "/bin/sh", "-c", "ls -A /var/tmp; echo pid=$$")
	if out != "pid=2\n" {
		t.Errorf("the next run saw the last run's mount:\n%s", out)
	}
}

// TestViewWithoutOverlay: where an overlay cannot be made, the working
// directory is shown as it is (the guest writes to the host's), also
// inside /tmp, which every run touches.
func TestViewWithoutOverlay(t *testing.T) {
	dir := t.TempDir()
	p := newPool(t, Config{Dir: dir})
	p.worlds.close()
	for i := range p.views {
		p.views[i].cow = false
	}
	for i := 0; i < 3; i++ {
		name := fmt.Sprintf("made%d", i)
		out := runIn(t, p, "/bin/sh", "-c", "echo x > "+name+"; echo y > /tmp/y; ls")
		if strings.Contains(out, "y\n") || !strings.Contains(out, name) {
			t.Errorf("run %d: %q", i, out)
		}
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("the guest's file is not in the host's directory: %v", err)
		}
	}
}

// TestProgramInTmp: a program lying directly in /tmp is bound, read-only,
// into the fresh /tmp, also after a run touched /tmp.
func TestProgramInTmp(t *testing.T) {
	prog, err := os.CreateTemp("/tmp", "sandbox-prog-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(prog.Name())
	prog.WriteString("#!/bin/sh\necho ok; ls /tmp; echo z > /tmp/z\n")
	prog.Close()
	os.Chmod(prog.Name(), 0o755)
	p := newPool(t, Config{Dir: t.TempDir(), Prog: prog.Name()})
	for i := 0; i < 3; i++ {
		// /tmp holds the program and the working directory (a
		// t.TempDir()), nothing a run left.
		out := runIn(t, p, prog.Name())
		if !strings.HasPrefix(out, "ok\n") || !strings.Contains(out, "\n"+filepath.Base(prog.Name())+"\n") || strings.Contains(out, "\nz\n") {
			t.Errorf("run %d: %q", i, out)
		}
	}
}
