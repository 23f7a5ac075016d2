package symbols

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The test binaries are built once per test process into buildDir.
var buildDir string

func TestMain(m *testing.M) {
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		fmt.Println("symbols tests need linux/amd64")
		os.Exit(0)
	}
	d, err := os.MkdirTemp("", "symbols-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	buildDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

type buildResult struct {
	once sync.Once
	path string
	err  error
}

var builds sync.Map // name -> *buildResult

// build runs the command (with "$OUT" replaced by the output path) once
// per name and returns the output path.
func build(t testing.TB, name string, dir string, env []string, argv ...string) string {
	t.Helper()
	v, _ := builds.LoadOrStore(name, new(buildResult))
	b := v.(*buildResult)
	b.once.Do(func() {
		out := filepath.Join(buildDir, name)
		args := make([]string, len(argv))
		for i, a := range argv {
			args[i] = strings.ReplaceAll(a, "$OUT", out)
		}
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env...)
		if msg, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("%s: %v\n%s", strings.Join(args, " "), err, msg)
			return
		}
		b.path = out
	})
	if b.err != nil {
		t.Fatalf("build %s: %v", name, b.err)
	}
	return b.path
}

func testdata(t testing.TB, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", rel))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var cflags = []string{"-std=c11", "-O1", "-g", "-pthread", "-Wall", "-Wextra", "-Werror"}

// C program variants of testdata/addrs.c.
func addrsPIE(t testing.TB) string {
	return buildC(t, "addrs_pie", []string{"addrs.c"}, "-fPIE", "-pie", "-ldl")
}
func addrsNoPIE(t testing.TB) string {
	return buildC(t, "addrs_nopie", []string{"addrs.c"}, "-no-pie", "-ldl")
}
func addrsStatic(t testing.TB) string {
	return buildC(t, "addrs_static", []string{"addrs.c"}, "-static", "-DSTATIC_BUILD")
}
func addrsStripped(t testing.TB) string {
	src := addrsPIE(t)
	return build(t, "addrs_stripped", buildDir, nil, "strip", "-o", "$OUT", src)
}
func plugSO(t testing.TB) string {
	return buildC(t, "libplug.so", []string{"plug.c"}, "-shared", "-fPIC")
}
func dupProg(t testing.TB) string {
	return buildC(t, "dup", []string{"dup/main.c", "dup/x/same.c", "dup/y/same.c"})
}

func buildC(t testing.TB, name string, srcs []string, flags ...string) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Fatalf("gcc not found: %v", err)
	}
	argv := append([]string{"gcc"}, cflags...)
	argv = append(argv, "-o", "$OUT")
	argv = append(argv, srcs...)
	argv = append(argv, flags...)
	return build(t, name, testdata(t, "."), nil, argv...)
}

// goSync builds testdata/gosync (static, non-PIE) or its PIE variant.
func goSync(t testing.TB, pie bool) string {
	t.Helper()
	gotool := "go" // the one on PATH, which runs these tests
	name, args := "gosync", []string{gotool, "build", "-trimpath", "-buildvcs=false", "-o", "$OUT", "."}
	if pie {
		name = "gosync_pie"
		args = []string{gotool, "build", "-trimpath", "-buildvcs=false", "-buildmode=pie", "-o", "$OUT", "."}
	}
	return build(t, name, testdata(t, "gosync"), []string{"GOWORK=off", "CGO_ENABLED=0"}, args...)
}

// libcPath is the C library the dynamic test programs load.
func libcPath(t testing.TB) string {
	t.Helper()
	for _, p := range []string{"/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/lib64/libc.so.6", "/usr/lib64/libc.so.6"} {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return r
		}
	}
	t.Fatal("cannot find libc.so.6")
	return ""
}

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, msg)
	}
	return string(out)
}

// readelfSym is one row of `readelf -W -s`.
type readelfSym struct {
	table string // ".symtab" or ".dynsym"
	value uint64
	size  uint64
	typ   string // FUNC, OBJECT, TLS, IFUNC, NOTYPE, ...
	bind  string
	ndx   string
	name  string // as printed, with @VER / @@VER
}

var (
	readelfTable = regexp.MustCompile(`^Symbol table '([^']+)'`)
	readelfRow   = regexp.MustCompile(`^\s*\d+: ([0-9a-f]+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+) ?(.*)$`)
	readelfVer   = regexp.MustCompile(` \(\d+\)$`)
)

func readelfSyms(t testing.TB, path string) []readelfSym {
	t.Helper()
	var out []readelfSym
	table := ""
	sc := bufio.NewScanner(strings.NewReader(run(t, "readelf", "-W", "-s", path)))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := readelfTable.FindStringSubmatch(line); m != nil {
			table = m[1]
			continue
		}
		m := readelfRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		v, err := strconv.ParseUint(m[1], 16, 64)
		if err != nil {
			t.Fatalf("readelf value %q", m[1])
		}
		size, err := strconv.ParseUint(m[2], 0, 64)
		if err != nil {
			t.Fatalf("readelf size %q", m[2])
		}
		out = append(out, readelfSym{table: table, value: v, size: size, typ: m[3], bind: m[4],
			ndx: m[6], name: readelfVer.ReplaceAllString(m[7], "")})
	}
	return out
}

func baseName(n string) string {
	if i := strings.IndexByte(n, '@'); i > 0 {
		return n[:i]
	}
	return n
}

// lineRow is one row of `objdump --dwarf=decodedline`.
type lineRow struct {
	file string // as printed (base name, or a path for some tables)
	line int
	addr uint64
	stmt bool
}

var decodedRow = regexp.MustCompile(`^(\S+)\s+(\d+)\s+(0x[0-9a-f]+)(?:\s+(\d+))?(?:\s+(\d+))?\s*(x?)\s*$`)

func decodedLines(t testing.TB, path string) []lineRow {
	t.Helper()
	var out []lineRow
	for _, line := range strings.Split(run(t, "objdump", "--dwarf=decodedline", path), "\n") {
		m := decodedRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[2])
		a, _ := strconv.ParseUint(m[3], 0, 64)
		out = append(out, lineRow{file: m[1], line: n, addr: a, stmt: m[6] == "x"})
	}
	if len(out) == 0 {
		t.Fatalf("objdump --dwarf=decodedline %s: no rows parsed", path)
	}
	return out
}

// addr2line returns addr2line -f -i output for a link-time address:
// function and file:line pairs, innermost first.
func addr2line(t testing.TB, path string, addr uint64) []string {
	t.Helper()
	out := run(t, "addr2line", "-f", "-i", "-e", path, fmt.Sprintf("%#x", addr))
	return strings.Split(strings.TrimSpace(out), "\n")
}

// markedLine returns the number of the line of testdata/file that
// contains "LINE(tag)".
func markedLine(t testing.TB, file, tag string) int {
	t.Helper()
	data, err := os.ReadFile(testdata(t, file))
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range bytes.Split(data, []byte("\n")) {
		if bytes.Contains(l, []byte("LINE("+tag+")")) {
			return i + 1
		}
	}
	t.Fatalf("%s: no LINE(%s)", file, tag)
	return 0
}

// disasm returns objdump -d output for [lo, hi).
func disasm(t testing.TB, path string, lo, hi uint64) string {
	t.Helper()
	return run(t, "objdump", "-d", "--no-show-raw-insn", fmt.Sprintf("--start-address=%#x", lo), fmt.Sprintf("--stop-address=%#x", hi), path)
}

func mustOpen(t testing.TB, path string) *Object {
	t.Helper()
	o, err := Open(path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
