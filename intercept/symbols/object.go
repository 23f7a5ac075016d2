package symbols

import (
	"bytes"
	"cmp"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Kind classifies a symbol by what its address means.
type Kind uint8

const (
	// KindOther is anything that is neither code nor data (sections,
	// files, absolute constants, untyped labels).
	KindOther Kind = iota
	// KindFunc is a function (STT_FUNC): Value is its entry.
	KindFunc
	// KindIFunc is a GNU indirect function (STT_GNU_IFUNC): Value is the
	// resolver that ld.so calls to pick the implementation, not code the
	// program runs when it calls the function. Funcs never returns it.
	KindIFunc
	// KindObject is a data object (STT_OBJECT, STT_COMMON): Value is its
	// link-time address and Size its length.
	KindObject
	// KindTLS is a thread-local variable (STT_TLS): Value is an offset
	// in the TLS block, different in every thread; it has no fixed
	// address, so Data refuses it.
	KindTLS
)

func (k Kind) String() string {
	switch k {
	case KindFunc:
		return "func"
	case KindIFunc:
		return "ifunc"
	case KindObject:
		return "object"
	case KindTLS:
		return "tls"
	}
	return "other"
}

// Symbol is one entry of .symtab or .dynsym (or of a separate debug
// file's .symtab), with any glibc version suffix split off.
type Symbol struct {
	Name    string // base name: "pthread_mutex_lock", "sync.(*Mutex).Unlock"
	Version string // "GLIBC_2.3.2" or ""
	Hidden  bool   // a non-default version (name@VER, not name@@VER)
	Kind    Kind
	Bind    elf.SymBind
	Value   uint64 // link-time virtual address (TLS: offset in the block)
	Size    uint64
	Dynamic bool // from .dynsym
}

// VersionedName is the name as readelf prints it: name@@VER for a
// default version, name@VER for a hidden one, name without one.
func (s Symbol) VersionedName() string {
	switch {
	case s.Version == "":
		return s.Name
	case s.Hidden:
		return s.Name + "@" + s.Version
	default:
		return s.Name + "@@" + s.Version
	}
}

// Segment is a PT_LOAD program header.
type Segment struct {
	Vaddr, Memsz uint64
	Off, Filesz  uint64
	Align        uint64
	Flags        elf.ProgFlag
}

// FileKey identifies the content of a file on disk: the cache reuses a
// parsed Object only for the same device, inode, size and mtime.
type FileKey struct {
	Dev, Ino uint64
	Size     int64
	Mtime    int64 // nanoseconds since the epoch
}

// Object is a parsed ELF file. It is immutable after Open except for the
// DWARF indexes and, for an object read from a disk cache, its symbol
// table, which are read on first use under a sync.Once, so an Object may
// be used from several goroutines.
type Object struct {
	// Path is the path the object was opened by.
	Path string
	// Key identifies the file content (see FileKey).
	Key FileKey
	// Type is elf.ET_EXEC (fixed addresses) or elf.ET_DYN (PIE
	// executables and shared libraries: add the load bias).
	Type elf.Type
	// Loads are the PT_LOAD segments in file order.
	Loads []Segment
	// BuildID is the hex GNU build ID (empty if there is none).
	BuildID string
	// DebugFile is the separate debug file whose .symtab was used, if
	// any (found by build ID under the cache's DebugDirs). An object
	// without DWARF of its own reads it from such a file, opened on
	// first use.
	DebugFile string
	// HasSymtab reports whether a full symbol table (.symtab, here or in
	// DebugFile) was found; without one only exported (.dynsym) symbols
	// are known: the binary is stripped.
	HasSymtab bool
	// Executable reports a program rather than a shared library (see
	// isExecutable).
	Executable bool
	// IsGo reports a Go binary (it has a .go.buildinfo section or
	// runtime.main).
	IsGo bool
	// Imports are the names (without versions) of the functions and
	// variables the object takes from others (undefined .dynsym
	// entries): what it calls through its PLT or GOT.
	Imports map[string]bool

	// tab is the symbols (nil: none); with lazy set, read on first
	// use (table).
	tab  *table
	lazy *lazyTable

	dw *dwarfSource // where the DWARF comes from (nil: none)

	dwOnce sync.Once
	dwIdx  *dwarfIndex
	dwErr  error

	lines lineIndex // LineAt (lines.go)
}

// Open parses the ELF file at path: its program headers, build ID and
// symbol tables. DWARF is read lazily by Lines and Inlined. Most callers
// want Cache.Open, which parses each file once.
func Open(path string) (*Object, error) {
	return openObject(path, nil)
}

func openObject(path string, debugDirs []string) (*Object, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	key := keyOf(fi)
	o, err := parse(path, key, f, debugDirs, nil)
	if err != nil {
		f.Close()
		return nil, err
	}
	return o, nil
}

// ErrNotELF is returned (wrapped) for a file that is not an ELF object.
var ErrNotELF = errors.New("not an ELF file")

func parse(path string, key FileKey, f *os.File, debugDirs []string, disk *diskCache) (*Object, error) {
	var magic [4]byte
	if n, _ := f.ReadAt(magic[:], 0); n < 4 || !bytes.Equal(magic[:], []byte(elf.ELFMAG)) {
		return nil, fmt.Errorf("%s: %w", path, ErrNotELF)
	}
	ef, err := elf.NewFile(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if ef.Class != elf.ELFCLASS64 || ef.Machine != elf.EM_X86_64 {
		return nil, fmt.Errorf("%s: %s %s object, want ELFCLASS64 x86-64", path, ef.Class, ef.Machine)
	}
	if ef.Type != elf.ET_EXEC && ef.Type != elf.ET_DYN {
		return nil, fmt.Errorf("%s: ELF type %s is not loadable (want ET_EXEC or ET_DYN)", path, ef.Type)
	}
	o := &Object{Path: path, Key: key, Type: ef.Type, Executable: isExecutable(ef)}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_LOAD {
			o.Loads = append(o.Loads, Segment{Vaddr: p.Vaddr, Memsz: p.Memsz, Off: p.Off, Filesz: p.Filesz, Align: p.Align, Flags: p.Flags})
		}
	}
	if len(o.Loads) == 0 {
		return nil, fmt.Errorf("%s: no PT_LOAD segments", path)
	}
	o.BuildID = buildID(ef)
	o.IsGo = ef.Section(".go.buildinfo") != nil

	if !disk.load(o) {
		if err := o.readSymbols(ef, debugDirs); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		disk.store(o)
	}
	if o.lazy != nil {
		o.lazy.debug, o.lazy.disk = debugDirs, disk
	}
	if hasDWARF(ef) {
		o.dw = &dwarfSource{file: ef, path: path}
	} else if dpath := findDebugFile(o.BuildID, debugDirs); dpath != "" {
		// DWARF from the separate debug file, opened on first use
		// (Object.dwarf): libc's is 4 MB, and most sessions never
		// read a line table.
		o.dw = &dwarfSource{path: dpath, debugID: o.BuildID}
	}
	switch {
	case o.dw != nil && o.dw.debugID == "":
		o.dw.closer = f // (also the lazy table's fallback, below)
		if o.lazy != nil {
			o.lazy.elf = f
		}
	case o.lazy != nil:
		o.lazy.elf, o.lazy.ownELF = f, true
	default:
		// Nothing is read lazily: the file is no longer needed.
		f.Close()
	}
	return o, nil
}

// table returns the object's symbols, reading them on first use if the
// object came from a disk cache (lazyTable). If the kept table cannot be
// read, the symbols are parsed from the object's file (and the table
// kept again); if that fails too, the object has no symbols.
func (o *Object) table() *table {
	lt := o.lazy
	if lt == nil {
		return o.tab
	}
	lt.once.Do(func() {
		t, err := lt.body()
		if err != nil {
			t, err = o.parseTable()
		}
		if err != nil {
			t, _ = newTable(nil, nil)
		}
		o.tab = t
	})
	return o.tab
}

// parseTable reads the symbols from the object's file, as Open does
// without a disk cache.
func (o *Object) parseTable() (*table, error) {
	lt := o.lazy
	if lt.elf == nil {
		return nil, errBadTable
	}
	ef, err := elf.NewFile(lt.elf)
	if err != nil {
		return nil, err
	}
	p := &Object{Path: o.Path, Key: o.Key, BuildID: o.BuildID, IsGo: o.IsGo}
	if err := p.readSymbols(ef, lt.debug); err != nil {
		return nil, err
	}
	lt.disk.store(p)
	return p.tab, nil
}

// Close releases the file descriptors the Object keeps for reading DWARF
// lazily. An Object from a Cache is closed by Cache.Close.
func (o *Object) Close() error {
	var err error
	if o.lazy != nil {
		err = o.lazy.close()
	}
	if o.dw != nil {
		if e := o.dw.close(); err == nil {
			err = e
		}
	}
	return err
}

func hasDWARF(ef *elf.File) bool {
	for _, s := range ef.Sections {
		if s.Name == ".debug_info" || s.Name == ".zdebug_info" {
			return s.Type != elf.SHT_NOBITS
		}
	}
	return false
}

func buildID(ef *elf.File) string {
	for _, s := range ef.Sections {
		if s.Type != elf.SHT_NOTE {
			continue
		}
		data, err := s.Data()
		if err != nil {
			continue
		}
		for len(data) >= 12 {
			order := ef.ByteOrder
			namesz := order.Uint32(data[0:])
			descsz := order.Uint32(data[4:])
			typ := order.Uint32(data[8:])
			data = data[12:]
			nameEnd := align4(uint64(namesz))
			descEnd := nameEnd + align4(uint64(descsz))
			if uint64(len(data)) < descEnd {
				break
			}
			if typ == 3 /* NT_GNU_BUILD_ID */ && namesz == 4 && string(data[:4]) == "GNU\x00" {
				return hex.EncodeToString(data[nameEnd : nameEnd+uint64(descsz)])
			}
			data = data[descEnd:]
		}
	}
	return ""
}

func align4(n uint64) uint64 { return (n + 3) &^ 3 }

// findDebugFile returns the first <dir>/.build-id/<id[:2]>/<id[2:]>.debug
// that exists ("" if none).
func findDebugFile(id string, dirs []string) string {
	if len(id) < 3 {
		return ""
	}
	for _, dir := range dirs {
		p := dir + "/.build-id/" + id[:2] + "/" + id[2:] + ".debug"
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// openDebugFile looks for <dir>/.build-id/<id[:2]>/<id[2:]>.debug.
func openDebugFile(id string, dirs []string) (string, *elf.File, *os.File) {
	if len(id) < 3 {
		return "", nil, nil
	}
	for _, dir := range dirs {
		p := dir + "/.build-id/" + id[:2] + "/" + id[2:] + ".debug"
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		ef, err := elf.NewFile(f)
		if err != nil || buildID(ef) != id {
			f.Close()
			continue
		}
		return p, ef, f
	}
	return "", nil, nil
}

func appendSymbols(dst []Symbol, src []elf.Symbol, dynamic bool) []Symbol {
	for _, s := range src {
		if s.Name == "" || s.Section == elf.SHN_UNDEF {
			continue // imports and unnamed entries
		}
		kind := KindOther
		switch elf.ST_TYPE(s.Info) {
		case elf.STT_FUNC:
			kind = KindFunc
		case elf.STT_GNU_IFUNC:
			kind = KindIFunc
		case elf.STT_OBJECT, elf.STT_COMMON:
			kind = KindObject
		case elf.STT_TLS:
			kind = KindTLS
		}
		if kind == KindOther {
			continue
		}
		sym := Symbol{Kind: kind, Bind: elf.ST_BIND(s.Info), Value: s.Value, Size: s.Size, Dynamic: dynamic}
		sym.Name = s.Name
		if dynamic {
			if s.HasVersion {
				sym.Version = s.Version
				sym.Hidden = s.VersionIndex.IsHidden()
			}
		} else if i := strings.IndexByte(s.Name, '@'); i > 0 {
			// .symtab of a versioned shared library spells the
			// version into the name: name@VER or name@@VER.
			sym.Name = s.Name[:i]
			rest := s.Name[i+1:]
			if v, ok := strings.CutPrefix(rest, "@"); ok {
				sym.Version = v
			} else {
				sym.Version = rest
				sym.Hidden = true
			}
		}
		dst = append(dst, sym)
	}
	return dst
}

// index dedupes the merged symbol list (a function is usually in both
// .symtab and .dynsym) and builds the table: records sorted by (Name,
// Value, VersionedName), and an index of the code and data symbols
// sorted by Value.
func (o *Object) index(syms []Symbol) error {
	syms = sortSymbols(syms)
	out := syms[:0]
	for _, s := range syms {
		if n := len(out); n > 0 {
			p := &out[n-1]
			if p.Name == s.Name && p.Value == s.Value && p.Kind == s.Kind &&
				(p.Version == s.Version || s.Version == "") {
				if s.Size > p.Size {
					p.Size = s.Size
				}
				continue
			}
		}
		out = append(out, s)
	}
	var byAddr []int
	for i, s := range out {
		if s.Kind == KindFunc || s.Kind == KindObject {
			byAddr = append(byAddr, i)
		}
	}
	slices.SortFunc(byAddr, func(i, j int) int {
		a, b := &out[i], &out[j]
		if c := cmp.Compare(a.Value, b.Value); c != 0 {
			return c
		}
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return cmp.Compare(i, j) // stable
	})
	var err error
	o.tab, err = newTable(out, byAddr)
	return err
}

// sortSymbols returns syms sorted by name, address, version, the .dynsym
// copy first, and otherwise in their order: a stable sort of indices
// (sort.SliceStable's reflection-based swaps of whole Symbols were most
// of a session's start-up: libc has 3000 symbols, node 100 000).
func sortSymbols(syms []Symbol) []Symbol {
	order := make([]int, len(syms))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int {
		a, b := &syms[i], &syms[j]
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Value, b.Value); c != 0 {
			return c
		}
		if c := strings.Compare(a.Version, b.Version); c != 0 {
			return c
		}
		if a.Dynamic != b.Dynamic {
			if a.Dynamic {
				return -1 // prefer the .dynsym copy (it has the version flag)
			}
			return 1
		}
		return cmp.Compare(i, j)
	})
	out := make([]Symbol, len(syms))
	for k, i := range order {
		out[k] = syms[i]
	}
	return out
}

// splitVersion splits "name@VER" / "name@@VER" lookups.
func splitVersion(name string) (base, version string, hasVersion bool) {
	i := strings.IndexByte(name, '@')
	if i <= 0 {
		return name, "", false
	}
	return name[:i], strings.TrimLeft(name[i:], "@"), true
}

// Symbols returns every symbol named name (any kind, any version),
// sorted by address. A C++ or Rust path ("ns::Klass::method",
// "crate::module::func") names the mangled symbols that demangle to it
// (see demangle.go). A name with a version ("pthread_cond_wait@GLIBC_2.3.2"
// or with "@@") selects that version only.
func (o *Object) Symbols(name string) []Symbol {
	base, ver, hasVer := splitVersion(name)
	lo, hi := o.named(base)
	var out []Symbol
	if lo == hi && isQualified(base) {
		for _, i := range o.qualified(base) {
			if s := o.table().sym(i); !hasVer || s.Version == ver {
				out = append(out, s)
			}
		}
		return out
	}
	t := o.table()
	for i := lo; i < hi; i++ {
		if !hasVer || t.version(i) == ver {
			out = append(out, t.sym(i))
		}
	}
	return out
}

// named returns the records of the symbols whose base name is name,
// lo to hi-1: a run of the table, found by binary search.
func (o *Object) named(name string) (lo, hi int) {
	t := o.table()
	n := t.len()
	lo = sort.Search(n, func(i int) bool { return t.name(i) >= name })
	for hi = lo; hi < n && t.name(hi) == name; hi++ {
	}
	return lo, hi
}

// hasSymbol reports whether some symbol is named name.
func (o *Object) hasSymbol(name string) bool {
	lo, hi := o.named(name)
	return lo < hi
}

// Funcs returns the link-time entry addresses of the functions named name,
// sorted and without duplicates. A versioned library exports old and new
// implementations under one base name (pthread_cond_wait@GLIBC_2.2.5 and
// pthread_cond_wait@@GLIBC_2.3.2): both are returned unless name selects
// a version. Several local functions of one name (static functions in
// different files) are all returned. IFUNC resolvers are not functions the
// program calls and are left out: see Symbols. An empty result means the
// object does not define the function (or is stripped of it).
func (o *Object) Funcs(name string) []uint64 {
	var out []uint64
	for _, s := range o.Symbols(name) {
		if s.Kind == KindFunc {
			out = append(out, s.Value)
		}
	}
	return dedupSorted(out)
}

func dedupSorted(a []uint64) []uint64 {
	sort.Slice(a, func(i, j int) bool { return a[i] < a[j] })
	out := a[:0]
	for i, v := range a {
		if i == 0 || v != a[i-1] {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// Data returns the link-time address and size of the global variable
// named name. ok is false when there is none, or it is thread-local, or
// the name is ambiguous: DataSymbol says which.
func (o *Object) Data(name string) (addr, size uint64, ok bool) {
	s, err := o.DataSymbol(name)
	if err != nil {
		return 0, 0, false
	}
	return s.Value, s.Size, true
}

// DataSymbol is Data with the reason for a failure: not defined, not a
// data object (a function), thread-local (no single address: each thread
// has its own copy), or several distinct variables of that name (static
// variables in different files).
func (o *Object) DataSymbol(name string) (Symbol, error) {
	var objs []Symbol
	var other Kind
	for _, s := range o.Symbols(name) {
		switch s.Kind {
		case KindObject:
			// Versions of one variable share its address (sys_siglist
			// @GLIBC_2.2.5 and @GLIBC_2.3.3, with 64 and 65 entries):
			// the default version, else the largest, stands for it.
			if n := len(objs); n > 0 && objs[n-1].Value == s.Value {
				if p := &objs[n-1]; p.Hidden && !s.Hidden || p.Hidden == s.Hidden && s.Size > p.Size {
					*p = s
				}
				continue
			}
			objs = append(objs, s)
		case KindTLS:
			other = KindTLS
		default:
			if other != KindTLS {
				other = s.Kind
			}
		}
	}
	switch {
	case len(objs) == 1:
		return objs[0], nil
	case len(objs) > 1:
		addrs := make([]string, len(objs))
		for i, s := range objs {
			addrs[i] = fmt.Sprintf("%#x", s.Value)
		}
		return Symbol{}, fmt.Errorf("%s: %d variables named %s (at %s)", o.Path, len(objs), name, strings.Join(addrs, ", "))
	case other == KindTLS:
		return Symbol{}, fmt.Errorf("%s: %s is a thread-local variable: it has a different address in every thread", o.Path, name)
	case other != KindOther:
		return Symbol{}, fmt.Errorf("%s: %s is a %s, not a variable", o.Path, name, other)
	case !o.HasSymtab:
		return Symbol{}, fmt.Errorf("%s: no variable %s (the object is stripped: only exported symbols are known)", o.Path, name)
	}
	return Symbol{}, fmt.Errorf("%s: no variable %s", o.Path, name)
}

// Names returns the names of all functions and variables that start at
// the link-time address addr, sorted: the aliases of one definition
// (pthread_mutex_lock, __pthread_mutex_lock and ___pthread_mutex_lock in
// static glibc; pthread_spin_init and pthread_spin_unlock share a body).
func (o *Object) Names(addr uint64) []string {
	t := o.table()
	i := sort.Search(t.naddrs(), func(k int) bool { return t.value(t.addr(k)) >= addr })
	var out []string
	for ; i < t.naddrs() && t.value(t.addr(i)) == addr; i++ {
		n := t.name(t.addr(i))
		if len(out) == 0 || out[len(out)-1] != n {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return dedupStrings(out)
}

func dedupStrings(a []string) []string {
	out := a[:0]
	for i, s := range a {
		if i == 0 || s != a[i-1] {
			out = append(out, s)
		}
	}
	return out
}

// FuncAt returns the function whose [Value, Value+Size) contains the
// link-time address addr. Among aliases the global, shortest, then
// alphabetically first name wins (pthread_mutex_lock over
// __pthread_mutex_lock).
func (o *Object) FuncAt(addr uint64) (Symbol, bool) {
	t := o.table()
	i := sort.Search(t.naddrs(), func(k int) bool { return t.value(t.addr(k)) > addr })
	var best Symbol
	found := false
	// The candidates are the functions at the greatest start <= addr
	// that contain it (aliases, possibly of different sizes); if none
	// does, an earlier, enclosing one (rare: nested or overlapping
	// symbols). Look back a bounded distance.
	for j := i - 1; j >= 0 && j >= i-64; j-- {
		s := t.sym(t.addr(j))
		if s.Kind != KindFunc {
			continue
		}
		if found && s.Value != best.Value {
			break
		}
		if addr < s.Value+max(s.Size, 1) && (!found || betterName(s, best)) {
			best, found = s, true
		}
	}
	return best, found
}

func betterName(a, b Symbol) bool {
	ga, gb := a.Bind != elf.STB_LOCAL, b.Bind != elf.STB_LOCAL
	if ga != gb {
		return ga
	}
	ua, ub := strings.HasPrefix(a.Name, "_"), strings.HasPrefix(b.Name, "_")
	if ua != ub {
		return !ua
	}
	if len(a.Name) != len(b.Name) {
		return len(a.Name) < len(b.Name)
	}
	return a.Name < b.Name
}

// overlapsText reports whether the link-time range [lo, hi) overlaps an
// executable PT_LOAD segment.
func (o *Object) overlapsText(lo, hi uint64) bool {
	for _, s := range o.Loads {
		if s.Flags&elf.PF_X != 0 && lo < s.Vaddr+s.Memsz && s.Vaddr < hi {
			return true
		}
	}
	return false
}

// isExecutable reports whether an ELF file is a program rather than a
// shared library: ET_EXEC, or a PIE: ET_DYN with an interpreter and no
// DT_SONAME (libc.so.6 has an interpreter too: it runs and prints its
// version).
func isExecutable(ef *elf.File) bool {
	if ef.Type == elf.ET_EXEC {
		return true
	}
	interp := false
	for _, p := range ef.Progs {
		interp = interp || p.Type == elf.PT_INTERP
	}
	if !interp {
		return false
	}
	soname, err := ef.DynString(elf.DT_SONAME)
	return err == nil && len(soname) == 0
}

// readSymbols reads the object's symbol tables (and a separate debug
// file's, if it has none of its own) and indexes them.
func (o *Object) readSymbols(ef *elf.File, debugDirs []string) error {
	var syms []Symbol
	symtab, err := ef.Symbols()
	switch {
	case err == nil:
		o.HasSymtab = true
		syms = appendSymbols(syms, symtab, false)
	case errors.Is(err, elf.ErrNoSymbols):
	default:
		return fmt.Errorf(".symtab: %w", err)
	}
	dynsym, err := ef.DynamicSymbols()
	switch {
	case err == nil:
		syms = appendSymbols(syms, dynsym, true)
		for _, ds := range dynsym {
			if ds.Section == elf.SHN_UNDEF && ds.Name != "" {
				if o.Imports == nil {
					o.Imports = map[string]bool{}
				}
				o.Imports[ds.Name] = true
			}
		}
	case errors.Is(err, elf.ErrNoSymbols):
	default:
		return fmt.Errorf(".dynsym: %w", err)
	}
	// A stripped object may have a separate debug file (objcopy
	// --only-keep-debug) installed under <debugdir>/.build-id/xx/rest.debug:
	// same link-time addresses, full .symtab and DWARF.
	if !o.HasSymtab && o.BuildID != "" {
		if dpath, df, dfile := openDebugFile(o.BuildID, debugDirs); df != nil {
			if ds, err := df.Symbols(); err == nil {
				o.HasSymtab = true
				syms = appendSymbols(syms, ds, false)
				o.DebugFile = dpath
			}
			dfile.Close()
		}
	}
	if err := o.index(syms); err != nil {
		return err
	}
	if !o.IsGo {
		o.IsGo = o.hasSymbol("runtime.main") && o.hasSymbol("runtime.goexit")
	}
	return nil
}
