package memsites

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

var buildDir string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "memsites-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	buildDir = d
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

type built struct {
	once sync.Once
	path string
	err  error
}

var builds sync.Map

// build runs argv in dir once per name ($OUT is the output path).
func build(t testing.TB, name, dir string, env []string, argv ...string) string {
	t.Helper()
	v, _ := builds.LoadOrStore(name, new(built))
	b := v.(*built)
	b.once.Do(func() {
		out := filepath.Join(buildDir, name)
		argv = append([]string(nil), argv...)
		for i := range argv {
			argv[i] = strings.ReplaceAll(argv[i], "$OUT", out)
		}
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env...)
		if msg, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, msg)
			return
		}
		b.path = out
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// cVariants are the builds of testdata/access.c the tests use: -O0 keeps
// rbp as a frame pointer everywhere, -O1 and -O2 use it as a register.
var cVariants = map[string][]string{
	"O0":        {"-O0"},
	"O1":        {"-O1"},
	"O2":        {"-O2"},
	"O2-static": {"-O2", "-static"},
	"O2-nopie":  {"-O2", "-no-pie", "-fno-omit-frame-pointer"},
}

func accessC(t testing.TB, variant string) string {
	flags := cVariants[variant]
	if flags == nil {
		t.Fatalf("no variant %s", variant)
	}
	argv := append([]string{"gcc", "-std=c11", "-g", "-pthread", "-Wall", "-Wextra", "-Werror", "-o", "$OUT", "access.c"}, flags...)
	return build(t, "access-"+variant, "testdata", nil, argv...)
}

func goAccess(t testing.TB) string {
	dir, err := filepath.Abs("testdata/goaccess")
	if err != nil {
		t.Fatal(err)
	}
	return build(t, "goaccess", dir, []string{"GOWORK=off", "CGO_ENABLED=0", "GOFLAGS=-mod=mod"},
		"go", "build", "-trimpath", "-buildvcs=false", "-o", "$OUT", ".")
}

func libc(t testing.TB) string {
	for _, p := range []string{"/lib/x86_64-linux-gnu/libc.so.6", "/usr/lib/x86_64-linux-gnu/libc.so.6", "/lib64/libc.so.6"} {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return r
		}
	}
	t.Fatal("no libc.so.6")
	return ""
}

// markers returns the line numbers of "SITE(name)" comments in a source.
func markers(t testing.TB, file string) map[string]int {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`SITE\((\w+)\)`)
	out := map[string]int{}
	for i, l := range strings.Split(string(src), "\n") {
		if m := re.FindStringSubmatch(l); m != nil {
			out[m[1]] = i + 1
		}
	}
	return out
}

// An objdump instruction, AT&T syntax.
type odInsn struct {
	addr    uint64
	fn      string   // the symbol objdump files it under
	prefix  []string // lock, rep, notrack, segment overrides...
	mnem    string
	ops     []string // operands in AT&T order (source first)
	comment string   // after '#': "4010 <counter>"
}

var (
	odFunc = regexp.MustCompile(`^([0-9a-f]+) <(.+)>:$`)
	odInsR = regexp.MustCompile(`^\s*([0-9a-f]+):\t(.*)$`)
	odPref = map[string]bool{"lock": true, "rep": true, "repz": true, "repe": true, "repnz": true, "repne": true,
		"notrack": true, "bnd": true, "data16": true, "addr32": true, "cs": true, "ds": true, "es": true,
		"ss": true, "fs": true, "gs": true, "xacquire": true, "xrelease": true, "rex": true, "rex.W": true}
)

// objdump disassembles path with GNU objdump.
func objdump(t testing.TB, path string) []odInsn {
	t.Helper()
	if _, err := exec.LookPath("objdump"); err != nil {
		t.Skip("objdump not installed (binutils): the classification is checked against it")
	}
	cmd := exec.Command("objdump", "-d", "-w", "--no-show-raw-insn", path)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("objdump -d %s: %v", path, err)
	}
	var insns []odInsn
	fn := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := odFunc.FindStringSubmatch(line); m != nil {
			fn = m[2]
			continue
		}
		m := odInsR.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		addr, _ := strconv.ParseUint(m[1], 16, 64)
		text, comment, _ := strings.Cut(m[2], "#")
		in := odInsn{addr: addr, fn: fn, comment: strings.TrimSpace(comment)}
		fields := strings.Fields(text)
		for len(fields) > 0 && (odPref[fields[0]] || strings.HasPrefix(fields[0], "rex")) {
			in.prefix = append(in.prefix, fields[0])
			fields = fields[1:]
		}
		if len(fields) == 0 {
			continue
		}
		in.mnem = fields[0]
		if len(fields) > 1 {
			in.ops = splitOperands(strings.Join(fields[1:], " "))
		}
		insns = append(insns, in)
	}
	return insns
}

// splitOperands splits AT&T operands at commas outside parentheses.
func splitOperands(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}

var (
	odMem    = regexp.MustCompile(`^(%([a-z]s):)?(-?0x[0-9a-f]+|-?[0-9]+)?\((%[a-z0-9]+)?(,(%[a-z0-9]+))?(,([0-9]))?\)(\{%k[0-7]\})?(\{z\})?$`)
	odAbsMem = regexp.MustCompile(`^(%([a-z]s):)?(0x[0-9a-f]+|[0-9]+)$`)
)

// odOperand is a parsed AT&T memory operand.
type odOperand struct {
	seg, base, index string
	disp             int64
	scale            uint8
}

func parseODMem(op string) (odOperand, bool) {
	if m := odMem.FindStringSubmatch(op); m != nil {
		d, _ := strconv.ParseInt(strings.Replace(m[3], "0x", "", 1), hexOrDec(m[3]), 64)
		if strings.HasPrefix(m[3], "-0x") {
			d, _ = strconv.ParseInt("-"+m[3][3:], 16, 64)
		}
		sc, _ := strconv.Atoi(m[8])
		return odOperand{seg: m[2], base: strings.TrimPrefix(m[4], "%"), index: strings.TrimPrefix(m[6], "%"), disp: d, scale: uint8(sc)}, true
	}
	if m := odAbsMem.FindStringSubmatch(op); m != nil {
		d, _ := strconv.ParseUint(strings.TrimPrefix(m[3], "0x"), hexOrDec(m[3]), 64)
		return odOperand{seg: m[2], disp: int64(d)}, true
	}
	return odOperand{}, false
}

func hexOrDec(s string) int {
	if strings.Contains(s, "0x") {
		return 16
	}
	return 10
}

// odRegs maps AT&T address registers to Reg.
var odRegs = func() map[string]Reg {
	m := map[string]Reg{"": NoReg, "rip": RIP, "eip": RIP}
	for r := RAX; r <= R15; r++ {
		m[r.String()] = r
	}
	e32 := []string{"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"}
	for i, n := range e32 {
		m[n] = RAX + Reg(i)
	}
	for i := 8; i < 16; i++ {
		m["r"+strconv.Itoa(i)+"d"] = RAX + Reg(i)
	}
	return m
}()

// odSuffix strips an AT&T operand-size suffix when what remains is in set.
func odSuffix(mnem string, set map[string]bool) bool {
	if set[mnem] {
		return true
	}
	if n := len(mnem); n > 1 && strings.ContainsRune("bwlq", rune(mnem[n-1])) {
		return set[mnem[:n-1]]
	}
	return false
}

var (
	odNoAccess = []string{"lea", "nop", "prefetch", "call", "jmp", "ljmp", "lcall", "clflush", "fxsave",
		"fxrstor", "xsave", "xrstor", "ldmxcsr", "stmxcsr", "vldmxcsr", "vstmxcsr", "fldcw", "fnstcw", "fldenv", "fnstenv"}
	odReadOnly = map[string]bool{"cmp": true, "test": true, "bt": true, "push": true, "ucomiss": true,
		"ucomisd": true, "comiss": true, "comisd": true, "vucomiss": true, "vucomisd": true, "vcomiss": true,
		"vcomisd": true, "ptest": true, "vptest": true, "cmps": true, "scas": true, "lods": true, "verr": true, "verw": true}
)

// odClassify is classify on objdump's text: the same rules, an
// independent decoder.
func odClassify(in odInsn, ctx fnContext) (Site, bool) {
	for _, p := range odNoAccess {
		if strings.HasPrefix(in.mnem, p) {
			return Site{}, false
		}
	}
	mi := -1
	var m odOperand
	for i := len(in.ops) - 1; i >= 0; i-- { // the first in Intel order
		if mm, ok := parseODMem(in.ops[i]); ok {
			m, mi = mm, i
			break
		}
	}
	if mi < 0 || m.seg == "fs" || m.seg == "gs" || slicesContains(in.prefix, "fs") || slicesContains(in.prefix, "gs") {
		return Site{}, false
	}
	base, okb := odRegs[m.base]
	index, oki := odRegs[m.index]
	if !okb || !oki {
		return Site{}, false
	}
	s := Site{Vaddr: in.addr}
	s.Write = mi == len(in.ops)-1 && !odSuffix(in.mnem, odReadOnly)
	switch {
	case slicesContains(in.prefix, "lock") || strings.HasPrefix(in.mnem, "xchg") || strings.HasPrefix(in.mnem, "cmpxchg"):
		s.Class, s.Write = Atomic, true
	case base == RIP:
		target, err := strconv.ParseUint(strings.Fields(in.comment + " x")[0], 16, 64)
		if err != nil || !ctx.global(target) {
			return Site{}, false
		}
		s.Class = Global
	case base == NoReg:
		if !ctx.global(uint64(m.disp)) {
			return Site{}, false
		}
		s.Class = Global
	case ctx.stack(base):
		return Site{}, false
	default:
		if t, ok := ctx.pointsAt(base, index, m.scale); ok {
			if !ctx.global(t + uint64(m.disp)) {
				return Site{}, false
			}
			s.Class = Global
			break
		}
		s.Class = Pointer
	}
	return s, true
}

func slicesContains(a []string, s string) bool {
	for _, x := range a {
		if x == s {
			return true
		}
	}
	return false
}

// odSites classifies objdump's instructions of the chunks o scans, with
// the same per-function context and Go rules as Scan.
func odSites(t testing.TB, path string, scope Scope, insns []odInsn) []Site {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	o := mustObject(t, f, scope)
	chunkOf := func(a uint64) (chunk, bool) {
		i := sort.Search(len(o.chunks), func(i int) bool { return o.chunks[i].hi > a })
		if i < len(o.chunks) && o.chunks[i].lo <= a {
			return o.chunks[i], true
		}
		return chunk{}, false
	}
	// Frames per chunk, from objdump's text.
	frame := map[uint64]bool{}
	for _, in := range insns {
		if in.mnem == "mov" && len(in.ops) == 2 && in.ops[0] == "%rsp" && in.ops[1] == "%rbp" {
			if c, ok := chunkOf(in.addr); ok {
				frame[c.lo] = true
			}
		}
	}
	// Jump targets per chunk, as the walk forgets at each.
	targets := map[uint64]bool{}
	for _, in := range insns {
		if st := odStep(in); st.jump != 0 {
			if c, ok := chunkOf(in.addr); ok && st.jump >= c.lo && st.jump < c.hi {
				targets[st.jump] = true
			}
		}
	}
	var out []Site
	wb := false
	var k known
	cur := uint64(1)
	for _, in := range insns {
		c, ok := chunkOf(in.addr)
		if !ok || !o.wanted(c) {
			continue
		}
		if c.lo != cur {
			cur, k, wb = c.lo, known{}, false
		}
		if targets[in.addr] {
			k = known{}
		}
		st := odStep(in)
		skip := false
		if o.isGo {
			switch {
			case strings.HasPrefix(in.mnem, "call"):
				wb = strings.Contains(in.ops[0], "<runtime.gcWriteBarrier")
			case wb && odMov(in):
				if mm, ok := parseODMem(in.ops[len(in.ops)-1]); ok && mm.base == "r11" {
					skip = true
				}
			default:
				wb = false
			}
		}
		ctx := fnContext{frame: frame[c.lo], goABI: o.isGo, global: o.global, known: &k}
		if !skip {
			if s, ok := odClassify(in, ctx); ok {
				out = append(out, s)
			}
		}
		k.apply(st)
	}
	if o.isGo && scope == ScopeProgram {
		if d, err := o.ef.DWARF(); err == nil {
			lib := goInlinedLibrary(d, out, o.goUser)
			out = deleteIn(out, lib)
		}
	}
	return out
}

// odPlain are the mnemonics (without an AT&T size suffix) that write no
// general-purpose register but their last operand: provenance.go's
// plainWrite as objdump spells them.
var odPlain = map[string]bool{"mov": true, "movabs": true, "lea": true, "add": true, "sub": true,
	"and": true, "or": true, "xor": true, "shl": true, "shr": true, "sar": true, "sal": true, "inc": true,
	"dec": true, "neg": true, "not": true, "cmp": true, "test": true, "bt": true, "nop": true,
	"movzbw": true, "movzbl": true, "movzbq": true, "movzwl": true, "movzwq": true, "movsbw": true,
	"movsbl": true, "movsbq": true, "movswl": true, "movswq": true, "movslq": true}

// odGPR64 maps every general-purpose register name to its 64-bit register.
var odGPR64 = func() map[string]Reg {
	m := map[string]Reg{}
	names := [][]string{
		{"rax", "eax", "ax", "al", "ah"}, {"rcx", "ecx", "cx", "cl", "ch"}, {"rdx", "edx", "dx", "dl", "dh"},
		{"rbx", "ebx", "bx", "bl", "bh"}, {"rsp", "esp", "sp", "spl"}, {"rbp", "ebp", "bp", "bpl"},
		{"rsi", "esi", "si", "sil"}, {"rdi", "edi", "di", "dil"}}
	for i, ns := range names {
		for _, n := range ns {
			m[n] = RAX + Reg(i)
		}
	}
	for i := 8; i < 16; i++ {
		for _, suf := range []string{"", "d", "w", "b"} {
			m["r"+strconv.Itoa(i)+suf] = RAX + Reg(i)
		}
	}
	return m
}()

// odStep is stepOf on objdump's text.
func odStep(in odInsn) step {
	s := step{pc: in.addr}
	mn := in.mnem
	if strings.HasPrefix(mn, "j") || strings.HasPrefix(mn, "call") || strings.HasPrefix(mn, "loop") || mn == "xbegin" {
		s.reset = true
		if len(in.ops) == 1 {
			if v, err := strconv.ParseUint(strings.Fields(in.ops[0])[0], 16, 64); err == nil {
				s.jump = v
			}
		}
		return s
	}
	vec := strings.Contains(strings.Join(in.ops, ","), "%xmm") || strings.Contains(strings.Join(in.ops, ","), "%mm")
	dest := func() Reg {
		if len(in.ops) == 0 || !strings.HasPrefix(in.ops[len(in.ops)-1], "%") {
			return NoReg
		}
		return odGPR64[strings.TrimPrefix(in.ops[len(in.ops)-1], "%")]
	}
	switch {
	case odSuffix(mn, map[string]bool{"lea": true}) && len(in.ops) == 2:
		m, ok := parseODMem(in.ops[0])
		d := dest()
		if ok && m.base == "rip" && m.index == "" && d != NoReg && strings.HasPrefix(in.ops[1], "%r") && !strings.HasSuffix(in.ops[1], "d") {
			if t, err := strconv.ParseUint(strings.Fields(in.comment + " x")[0], 16, 64); err == nil {
				s.leaReg, s.leaTarget = d, t
				return s
			}
		}
		s.dest = d
	case !vec && (odSuffix(mn, odPlain) || mn == "imul" && len(in.ops) >= 2 || odSuffix(mn, map[string]bool{"imul": true}) && len(in.ops) >= 2 ||
		strings.HasPrefix(mn, "cmov") || strings.HasPrefix(mn, "set")):
		s.dest = dest()
	default:
		s.reset = true
	}
	return s
}

// odMov reports a general-purpose mov (x86asm's MOV): objdump adds a
// size suffix when no register says the size, and calls SSE moves movq
// and movd too.
func odMov(in odInsn) bool {
	switch in.mnem {
	case "mov", "movb", "movw", "movl", "movq", "movabs":
		return !strings.Contains(strings.Join(in.ops, ","), "%xmm") && !strings.Contains(strings.Join(in.ops, ","), "%mm")
	}
	return false
}

func mustObject(t testing.TB, f *os.File, scope Scope) *object {
	t.Helper()
	ef, err := elf.NewFile(f)
	if err != nil {
		t.Fatal(err)
	}
	o, err := newObject(ef, f, scope)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func deleteIn(ss []Site, rs ranges) []Site {
	var out []Site
	for _, s := range ss {
		if !rs.contains(s.Vaddr) {
			out = append(out, s)
		}
	}
	return out
}
