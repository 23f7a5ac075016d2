package symbols

import (
	"bufio"
	"debug/elf"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// guest is a test program running natively (not traced) that prints
// addresses and waits for commands on stdin.
type guest struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
}

func startGuest(t *testing.T, path string, args ...string) *guest {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	g := &guest{t: t, cmd: cmd, stdin: stdin, lines: make(chan string, 16)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			g.lines <- sc.Text()
		}
		close(g.lines)
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return g
}

func (g *guest) pid() int { return g.cmd.Process.Pid }

// read returns the next output line parsed as key=0xaddr fields.
func (g *guest) read() map[string]uint64 {
	g.t.Helper()
	select {
	case l, ok := <-g.lines:
		if !ok {
			g.t.Fatal("guest closed its output")
		}
		out := map[string]uint64{}
		for _, f := range strings.Fields(l) {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				continue
			}
			n, err := strconv.ParseUint(v, 0, 64)
			if err != nil {
				continue
			}
			out[k] = n
		}
		if len(out) == 0 {
			g.t.Fatalf("guest printed %q, want key=address fields", l)
		}
		return out
	case <-time.After(20 * time.Second):
		g.t.Fatal("timed out waiting for the guest")
	}
	return nil
}

func (g *guest) send(line string) {
	g.t.Helper()
	if _, err := fmt.Fprintln(g.stdin, line); err != nil {
		g.t.Fatal(err)
	}
}

func (g *guest) wait() {
	g.t.Helper()
	g.stdin.Close()
	for range g.lines {
	}
	if err := g.cmd.Wait(); err != nil {
		g.t.Errorf("guest: %v", err)
	}
}

func imageByPath(t *testing.T, ims []*Image, path string) *Image {
	t.Helper()
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		t.Fatal(err)
	}
	var found *Image
	for _, im := range ims {
		if im.Path == real {
			if found != nil {
				t.Fatalf("two images of %s", real)
			}
			found = im
		}
	}
	return found
}

func aslrOn() bool {
	b, err := os.ReadFile("/proc/sys/kernel/randomize_va_space")
	return err == nil && strings.TrimSpace(string(b)) != "0"
}

// TestRuntimeC: the resolver's runtime addresses equal what the program
// itself prints, for PIE (with ASLR), non-PIE, static and stripped builds.
func TestRuntimeC(t *testing.T) {
	cache := NewCache([]string{})
	defer cache.Close()
	var libcObjs []*Object
	for _, b := range []struct {
		name     string
		path     func(testing.TB) string
		typ      elf.Type
		static   bool
		stripped bool
	}{
		{"pie", addrsPIE, elf.ET_DYN, false, false},
		{"nopie", addrsNoPIE, elf.ET_EXEC, false, false},
		{"static", addrsStatic, elf.ET_EXEC, true, false},
		{"stripped", addrsStripped, elf.ET_DYN, false, true},
	} {
		t.Run(b.name, func(t *testing.T) {
			path := b.path(t)
			g := startGuest(t, path)
			want := g.read()
			objs := NewObjects(cache, g.pid())
			ch, err := objs.Refresh()
			if err != nil {
				t.Fatal(err)
			}
			if len(ch.Errors) > 0 {
				t.Errorf("Refresh errors: %v", ch.Errors)
			}
			if !slices.Equal(ch.Added, objs.Images()) || len(ch.Removed) != 0 {
				t.Errorf("first Refresh: Added %v Removed %v, images %v", ch.Added, ch.Removed, objs.Images())
			}
			main := imageByPath(t, objs.Images(), path)
			if main == nil {
				t.Fatalf("no image of %s in %v", path, objs.Images())
			}
			if main.Object.Type != b.typ {
				t.Errorf("main type %v, want %v", main.Object.Type, b.typ)
			}
			switch {
			case b.typ == elf.ET_EXEC && main.Bias != 0:
				t.Errorf("ET_EXEC bias %#x", main.Bias)
			case b.typ == elf.ET_DYN && main.Bias == 0 && aslrOn():
				t.Errorf("PIE with ASLR on has bias 0")
			}
			t.Logf("main image %s bias %#x, %d mappings; %d images", main.Path, main.Bias, len(main.Mappings), len(objs.Images()))

			if b.stripped {
				if f := main.Funcs("worker"); f != nil {
					t.Errorf("stripped: Funcs(worker) = %#x", f)
				}
				if _, _, ok := main.Data("counter"); ok {
					t.Error("stripped: Data(counter) ok")
				}
			} else {
				if f := main.Funcs("worker"); !slices.Equal(f, []uint64{want["worker"]}) {
					t.Errorf("Funcs(worker) = %#x, program says %#x", f, want["worker"])
				}
				if a, size, ok := main.Data("counter"); !ok || a != want["counter"] || size != 4 {
					t.Errorf("Data(counter) = %#x, %d, %v; program says %#x, 4", a, size, ok, want["counter"])
				}
				if a, size, ok := main.Data("hidden"); !ok || a != want["hidden"] || size != 8 {
					t.Errorf("Data(hidden) = %#x, %d, %v; program says %#x, 8", a, size, ok, want["hidden"])
				}
				if s, ok := main.FuncAt(want["worker"] + 3); !ok || s.Name != "worker" {
					t.Errorf("FuncAt(worker+3) = %v, %v", s.Name, ok)
				}
				line := markedLine(t, "addrs.c", "lock")
				ls, err := main.Lines("addrs.c", line)
				if err != nil || len(ls) != 1 {
					t.Errorf("Lines(addrs.c:%d) = %#x, %v", line, ls, err)
				} else if s, _ := main.FuncAt(ls[0]); s.Name != "worker" || !main.Contains(ls[0]) {
					t.Errorf("runtime Lines(addrs.c:%d) = %#x in %s, not in the mapped worker", line, ls[0], s.Name)
				}
			}
			if im := objs.ImageAt(want["worker"]); im != main {
				t.Errorf("ImageAt(worker) = %v, want the main image", im)
			}

			// The libc function: in libc.so.6, or in the static binary.
			locs := objs.Funcs("pthread_mutex_lock")
			if len(locs) != 1 || locs[0].Addr != want["pthread_mutex_lock"] {
				t.Errorf("Funcs(pthread_mutex_lock) = %v, program says %#x", locs, want["pthread_mutex_lock"])
			} else if b.static != (locs[0].Image == main) {
				t.Errorf("pthread_mutex_lock found in %s", locs[0].Image)
			} else if !b.static {
				if filepath.Base(locs[0].Image.Path) != "libc.so.6" {
					t.Errorf("pthread_mutex_lock in %s", locs[0].Image.Path)
				}
				libcObjs = append(libcObjs, locs[0].Image.Object)
				if locs[0].Image.Bias == 0 && aslrOn() {
					t.Error("libc bias 0")
				}
			}
			if one, err := ResolveFuncs(cache, g.pid(), "pthread_mutex_lock"); err != nil || len(one) != 1 || one[0].Addr != want["pthread_mutex_lock"] {
				t.Errorf("ResolveFuncs(pthread_mutex_lock) = %v, %v", one, err)
			}
			if b.static && len(objs.Images()) != 1 {
				t.Errorf("static binary: images %v, want only itself", objs.Images())
			}

			// Nothing changes while the program waits.
			ch, err = objs.Refresh()
			if err != nil || len(ch.Added)+len(ch.Removed)+len(ch.Errors) != 0 {
				t.Errorf("second Refresh: %+v, %v", ch, err)
			}
			g.send("quit")
			g.wait()
		})
	}
	// One parse of libc for all the processes.
	for _, o := range libcObjs {
		if o != libcObjs[0] {
			t.Errorf("libc parsed more than once: %p vs %p", o, libcObjs[0])
		}
	}
}

// TestDlopen: a library dlopen()ed after start is reported as new by the
// tracker, with correct addresses, and as removed after dlclose.
func TestDlopen(t *testing.T) {
	cache := NewCache([]string{})
	defer cache.Close()
	so := plugSO(t)
	g := startGuest(t, addrsPIE(t))
	g.read()
	objs := NewObjects(cache, g.pid())
	if _, err := objs.Refresh(); err != nil {
		t.Fatal(err)
	}
	if im := imageByPath(t, objs.Images(), so); im != nil {
		t.Fatalf("libplug.so mapped before dlopen: %v", im)
	}

	g.send("dlopen " + so)
	want := g.read()
	maps, err := ReadMaps(g.pid())
	if err != nil {
		t.Fatal(err)
	}
	// As ld.so sees it halfway: the library's text not mapped yet.
	var partial []Mapping
	for _, m := range maps {
		if !(m.Path == so && m.Perm&PermExec != 0) {
			partial = append(partial, m)
		}
	}
	if ch := objs.Update(partial); len(ch.Added)+len(ch.Removed)+len(ch.Errors) != 0 {
		t.Errorf("Update without libplug's text: %+v", ch)
	}
	ch := objs.Update(maps)
	if len(ch.Added) != 1 || ch.Added[0].Path != so || len(ch.Removed) != 0 || len(ch.Errors) != 0 {
		t.Fatalf("Update after dlopen: Added %v Removed %v Errors %v", ch.Added, ch.Removed, ch.Errors)
	}
	im := ch.Added[0]
	if im.Bias == 0 && aslrOn() {
		t.Error("libplug.so bias 0")
	}
	if f := im.Funcs("plug_fn"); !slices.Equal(f, []uint64{want["plug_fn"]}) {
		t.Errorf("Funcs(plug_fn) = %#x, dlsym says %#x", f, want["plug_fn"])
	}
	if a, size, ok := im.Data("plug_var"); !ok || a != want["plug_var"] || size != 4 {
		t.Errorf("Data(plug_var) = %#x, %d, %v; dlsym says %#x", a, size, ok, want["plug_var"])
	}
	line := markedLine(t, "plug.c", "plug")
	if ls, err := im.Lines("plug.c", line); err != nil || len(ls) != 1 || ls[0] < want["plug_fn"] || ls[0] >= want["plug_fn"]+64 {
		t.Errorf("Lines(plug.c:%d) = %#x, %v; want an address just after plug_fn %#x", line, ls, err, want["plug_fn"])
	}
	if objs.ImageAt(want["plug_fn"]) != im {
		t.Error("ImageAt(plug_fn) is not the new image")
	}

	// A forked tracker starts from the same images.
	fork := objs.Fork(g.pid())
	if len(fork.Images()) != len(objs.Images()) {
		t.Errorf("Fork: %d images, want %d", len(fork.Images()), len(objs.Images()))
	}

	g.send("dlclose")
	g.read2("closed")
	ch, err = objs.Refresh()
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Removed) != 1 || ch.Removed[0] != im || len(ch.Added) != 0 {
		t.Errorf("Refresh after dlclose: Added %v Removed %v", ch.Added, ch.Removed)
	}
	if imageByPath(t, objs.Images(), so) != nil {
		t.Error("libplug.so still tracked after dlclose")
	}
	// The fork did not see the Refresh.
	if imageByPath(t, fork.Images(), so) == nil {
		t.Error("Fork shares state with its parent")
	}
	g.send("quit")
	g.wait()
}

// read2 waits for an exact line.
func (g *guest) read2(want string) {
	g.t.Helper()
	select {
	case l := <-g.lines:
		if l != want {
			g.t.Fatalf("guest printed %q, want %q", l, want)
		}
	case <-time.After(20 * time.Second):
		g.t.Fatal("timed out waiting for the guest")
	}
}

// TestRuntimeGo: the address of a Go function (reflect's code pointer)
// and of a global, in a static non-PIE and a PIE Go binary.
func TestRuntimeGo(t *testing.T) {
	cache := NewCache([]string{})
	defer cache.Close()
	for _, pie := range []bool{false, true} {
		t.Run(fmt.Sprint("pie=", pie), func(t *testing.T) {
			path := goSync(t, pie)
			g := startGuest(t, path, "-block")
			want := g.read()
			objs := NewObjects(cache, g.pid())
			ch, err := objs.Refresh()
			if err != nil || len(ch.Errors) != 0 {
				t.Fatalf("Refresh: %v %v", err, ch.Errors)
			}
			main := imageByPath(t, objs.Images(), path)
			if main == nil {
				t.Fatalf("no image of %s in %v", path, objs.Images())
			}
			if !main.Object.IsGo {
				t.Error("IsGo false")
			}
			if pie && main.Bias == 0 && aslrOn() {
				t.Error("Go PIE bias 0")
			}
			if !pie && (main.Bias != 0 || len(objs.Images()) != 1) {
				t.Errorf("static Go: bias %#x, images %v", main.Bias, objs.Images())
			}
			if f := main.Funcs("main.incr"); !slices.Equal(f, []uint64{want["incr"]}) {
				t.Errorf("Funcs(main.incr) = %#x, program says %#x", f, want["incr"])
			}
			if a, size, ok := main.Data("main.counter"); !ok || a != want["counter"] || size != 8 {
				t.Errorf("Data(main.counter) = %#x, %d, %v; program says %#x", a, size, ok, want["counter"])
			}
			inl, err := main.Inlined("sync.(*Mutex).Lock")
			if err != nil {
				t.Fatal(err)
			}
			inIncr := 0
			for _, a := range inl {
				if s, _ := main.FuncAt(a); s.Name == "main.incr" {
					inIncr++
					if a <= want["incr"] || a >= want["incr"]+s.Size {
						t.Errorf("inlined Lock at %#x outside main.incr [%#x, +%d)", a, want["incr"], s.Size)
					}
				}
			}
			if inIncr != 1 {
				t.Errorf("%d inlined sync.(*Mutex).Lock copies in main.incr, want 1", inIncr)
			}
			g.send("")
			g.wait()
		})
	}
}

// TestDeletedBinary: a binary deleted while it runs is read through
// /proc/PID/map_files (root), or reported once as unusable.
func TestDeletedBinary(t *testing.T) {
	cache := NewCache([]string{})
	defer cache.Close()
	cp := filepath.Join(t.TempDir(), "addrs_copy")
	if err := os.WriteFile(cp, mustRead(t, addrsPIE(t)), 0o755); err != nil {
		t.Fatal(err)
	}
	g := startGuest(t, cp)
	want := g.read()
	if err := os.Remove(cp); err != nil {
		t.Fatal(err)
	}
	objs := NewObjects(cache, g.pid())
	ch, err := objs.Refresh()
	if err != nil {
		t.Fatal(err)
	}
	var main *Image
	for _, im := range objs.Images() {
		if im.Path == cp {
			main = im
		}
	}
	if os.Geteuid() == 0 {
		if main == nil || !main.Mappings[0].Deleted {
			t.Fatalf("deleted binary not tracked: images %v, errors %v", objs.Images(), ch.Errors)
		}
		if f := main.Funcs("worker"); !slices.Equal(f, []uint64{want["worker"]}) {
			t.Errorf("Funcs(worker) = %#x, program says %#x", f, want["worker"])
		}
		if !strings.Contains(main.Object.Path, "/map_files/") {
			t.Errorf("object opened as %s, want via map_files", main.Object.Path)
		}
	} else {
		if main != nil || len(ch.Errors) != 1 {
			t.Errorf("not root: image %v, errors %v; want one error", main, ch.Errors)
		}
	}
	g.send("quit")
	g.wait()
}

// TestObjectsUpdateSynthetic: files mapped as data or not ELF are
// skipped silently; a file that cannot be opened is reported once.
func TestObjectsUpdateSynthetic(t *testing.T) {
	cache := NewCache([]string{})
	defer cache.Close()
	mapping := func(path string, start uint64, perm Perm) Mapping {
		var st syscall.Stat_t
		if err := syscall.Stat(path, &st); err != nil {
			t.Fatal(err)
		}
		return Mapping{Start: start, End: start + 0x1000, Perm: perm, Dev: st.Dev, Inode: st.Ino, Path: path}
	}
	text := filepath.Join(t.TempDir(), "locale-archive")
	os.WriteFile(text, []byte("not ELF"), 0o644)
	maps := []Mapping{
		mapping(addrsPIE(t), 0x7f0000000000, PermRead), // an ELF file mmapped as data
		mapping(text, 0x7f0000100000, PermRead),        // not ELF
		{Start: 0x7f0000200000, End: 0x7f0000201000, Perm: PermRead | PermExec, Inode: 12345, Path: "/nonexistent/lib.so"},
	}
	objs := NewObjects(cache, os.Getpid())
	ch := objs.Update(maps)
	if len(ch.Added) != 0 || len(ch.Errors) != 1 || !strings.Contains(ch.Errors[0].Error(), "/nonexistent/lib.so") || strings.Contains(ch.Errors[0].Error(), "\n") {
		t.Errorf("first Update: Added %v, Errors %q; want one one-line error for /nonexistent/lib.so", ch.Added, ch.Errors)
	}
	if ch := objs.Update(maps); len(ch.Errors) != 0 {
		t.Errorf("second Update reports again: %v", ch.Errors)
	}
}
