package points

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strconv"

	"github.com/schedfuzz/schedfuzz/intercept/symbols"
)

// Resolutions kept on disk. A session's first run resolves the catalog in
// every object it maps (libc's 10 000 symbols with its debug file, a Go
// binary's DWARF for inlined copies); a plan told where (KeepResolutions)
// keeps each object's resolution by build ID and file size, and by the
// catalog's own hash, so that a later session reads the points instead:
// it never has to read the object's symbols at all (symbols.Object reads
// a kept table only when a symbol is looked up). Only plans without
// -yield-at specs keep resolutions (a spec's reasons name paths, and its
// lines need DWARF the key does not cover), and only resolutions made
// without errors.

// resolveFormat names the file format and the resolution rules: bump it
// when resolve changes what it finds.
const resolveFormat = "points-v1"

// KeepResolutions makes the plan keep its resolutions in dir (created on
// first use). Call it before the plan is used.
func (p *Plan) KeepResolutions(dir string) {
	if dir == "" || len(p.specs) > 0 {
		return
	}
	sum := sha256.Sum256([]byte(resolveFormat + fmt.Sprint(p.funcs)))
	p.rdir, p.rkey = dir, hex.EncodeToString(sum[:8])
}

func (p *Plan) resolutionFile(o *symbols.Object) string {
	if p.rdir == "" || o.BuildID == "" {
		return ""
	}
	return filepath.Join(p.rdir, o.BuildID+"-"+strconv.FormatInt(o.Key.Size, 10)+"-"+p.rkey+"."+resolveFormat)
}

// encodeResolution writes points as the format name, a CRC-32 of the
// rest, then uvarints: the number of points, and each point's address
// (the first absolute, the others as the distance from the one before),
// catalog entry (its index in the plan, plus one; 0: none) and names.
func (p *Plan) encodeResolution(pts []Point) []byte {
	var b []byte
	u := func(v uint64) { b = binary.AppendUvarint(b, v) }
	u(uint64(len(pts)))
	var last uint64
	for _, pt := range pts {
		u(pt.Addr - last)
		last = pt.Addr
		u(uint64(p.catalogIndex(pt.Catalog) + 1))
		u(uint64(len(pt.Names)))
		for _, n := range pt.Names {
			u(uint64(len(n)))
			b = append(b, n...)
		}
	}
	out := binary.LittleEndian.AppendUint32([]byte(resolveFormat), crc32.ChecksumIEEE(b))
	return append(out, b...)
}

func (p *Plan) catalogIndex(f *Func) int {
	for i := range p.funcs {
		if f == &p.funcs[i] {
			return i
		}
	}
	return -1
}

// decodeResolution reads what encodeResolution wrote; false if data is
// not that.
func (p *Plan) decodeResolution(data []byte) ([]Point, bool) {
	rest, ok := bytes.CutPrefix(data, []byte(resolveFormat))
	if !ok || len(rest) < 4 || crc32.ChecksumIEEE(rest[4:]) != binary.LittleEndian.Uint32(rest) {
		return nil, false
	}
	rest = rest[4:]
	bad := false
	u := func() uint64 {
		v, n := binary.Uvarint(rest)
		if n <= 0 {
			bad = true
			return 0
		}
		rest = rest[n:]
		return v
	}
	n := u()
	if n > uint64(len(rest)) {
		return nil, false
	}
	pts := make([]Point, n)
	var last uint64
	for i := range pts {
		d, cat, names := u(), u(), u()
		if bad || i > 0 && d == 0 || cat > uint64(len(p.funcs)) || names == 0 || names > uint64(len(rest)) {
			return nil, false
		}
		last += d
		pts[i].Addr = last
		if cat > 0 {
			pts[i].Catalog = &p.funcs[cat-1]
		}
		pts[i].Names = make([]string, names)
		for j := range pts[i].Names {
			l := u()
			if bad || l > uint64(len(rest)) {
				return nil, false
			}
			pts[i].Names[j], rest = string(rest[:l]), rest[l:]
		}
	}
	return pts, !bad && len(rest) == 0
}

// readResolution returns o's kept resolution, if there is one.
func (p *Plan) readResolution(o *symbols.Object) ([]Point, bool) {
	file := p.resolutionFile(o)
	if file == "" {
		return nil, false
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, false
	}
	return p.decodeResolution(data)
}

// keepResolution stores o's resolution, best effort, through a rename so
// that a concurrent reader never sees half a file.
func (p *Plan) keepResolution(o *symbols.Object, pts []Point) {
	file := p.resolutionFile(o)
	if file == "" || os.MkdirAll(p.rdir, 0o755) != nil {
		return
	}
	tmp, err := os.CreateTemp(p.rdir, ".points-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(p.encodeResolution(pts))
	if cerr := tmp.Close(); werr != nil || cerr != nil || os.Rename(tmp.Name(), file) != nil {
		os.Remove(tmp.Name())
	}
}
