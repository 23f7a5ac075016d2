package symbols

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Objects tracks the ELF images mapped in one process: the main
// executable, the dynamic loader, shared libraries (those ld.so maps at
// start-up and those dlopen maps later). Feed it fresh mappings with
// Update (or Refresh, which reads /proc/PID/maps) and it says which images
// appeared and which went away since the last call.
//
// An Objects belongs to one process and is not safe for concurrent use
// (the tracer thread owns it). After an execve the address space is new:
// start a new Objects. After a fork the child has the parent's mappings:
// Fork copies the state for it.
type Objects struct {
	cache  *Cache
	pid    int
	images []*Image // sorted by Start
	objs   map[fileID]*Object
	bad    map[fileID]bool // unusable files, reported (or ignored) once
}

type fileID struct {
	major, minor uint32
	ino          uint64
}

func mappingID(m Mapping) fileID {
	return fileID{unix.Major(m.Dev), unix.Minor(m.Dev), m.Inode}
}

func (k FileKey) id() fileID { return fileID{unix.Major(k.Dev), unix.Minor(k.Dev), k.Ino} }

// Changes is what an Update found.
type Changes struct {
	Added   []*Image // newly mapped images, sorted by address
	Removed []*Image // images no longer mapped (dlclose, munmap)
	// Errors are ELF files (or files that could not be opened) that
	// could not be used; each file is reported once per Objects.
	// Mapped files that are not ELF (locale archives, data files) are
	// skipped silently.
	Errors []error
}

// NewObjects returns a tracker for process pid that parses files through
// cache.
func NewObjects(cache *Cache, pid int) *Objects {
	return &Objects{cache: cache, pid: pid, objs: map[fileID]*Object{}, bad: map[fileID]bool{}}
}

// Fork returns an independent copy of the tracker for a child process
// that starts with the current mappings (fork, vfork, clone without
// CLONE_VM). Threads (CLONE_VM) share the address space: they use this
// tracker, not a fork of it.
func (t *Objects) Fork(pid int) *Objects {
	c := NewObjects(t.cache, pid)
	for _, im := range t.images {
		cp := *im
		cp.Mappings = append([]Mapping(nil), im.Mappings...)
		c.images = append(c.images, &cp)
	}
	for k, v := range t.objs {
		c.objs[k] = v
	}
	for k, v := range t.bad {
		c.bad[k] = v
	}
	return c
}

// Pid is the process the tracker follows.
func (t *Objects) Pid() int { return t.pid }

// Images returns the current images, sorted by address.
func (t *Objects) Images() []*Image { return append([]*Image(nil), t.images...) }

// ImageAt returns the image with a mapping containing the runtime address
// addr, or nil.
func (t *Objects) ImageAt(addr uint64) *Image {
	for _, im := range t.images {
		if im.Contains(addr) {
			return im
		}
	}
	return nil
}

// Refresh reads the process's maps and calls Update.
func (t *Objects) Refresh() (Changes, error) {
	maps, err := ReadMaps(t.pid)
	if err != nil {
		return Changes{}, err
	}
	return t.Update(maps), nil
}

// Update takes the process's complete current mappings. Call it at the
// start (the post-exec stop: the executable and ld.so are mapped) and
// after every mmap or mprotect that made memory executable (ld.so and
// dlopen map a library's text with PROT_EXEC) and after munmap, and
// plant breakpoints for the Added images before the process runs on.
func (t *Objects) Update(maps []Mapping) Changes {
	var ch Changes
	groups := map[fileID][]Mapping{}
	var order []fileID
	for _, m := range maps {
		if !m.IsFile() {
			continue
		}
		id := mappingID(m)
		if _, ok := groups[id]; !ok {
			order = append(order, id)
		}
		groups[id] = append(groups[id], m)
	}

	type imageKey struct {
		id   fileID
		bias uint64
	}
	old := map[imageKey]*Image{}
	for _, im := range t.images {
		old[imageKey{mappingID(im.Mappings[0]), im.Bias}] = im
	}
	var now []*Image
	for _, id := range order {
		ms := groups[id]
		o, err := t.object(id, ms)
		if err != nil {
			if !errors.Is(err, ErrNotELF) {
				ch.Errors = append(ch.Errors, err)
			}
			continue
		}
		for _, im := range LoadImages(o, ms) {
			k := imageKey{id, im.Bias}
			if prev, ok := old[k]; ok {
				prev.Mappings = im.Mappings
				now = append(now, prev)
				delete(old, k)
				continue
			}
			now = append(now, im)
			ch.Added = append(ch.Added, im)
		}
	}
	for _, im := range old {
		ch.Removed = append(ch.Removed, im)
	}
	// Forget objects whose file is no longer mapped: the inode may be
	// reused by a different file later.
	for id := range t.objs {
		if _, ok := groups[id]; !ok {
			delete(t.objs, id)
		}
	}
	byStart := func(s []*Image) {
		sort.Slice(s, func(i, j int) bool { return s[i].Start() < s[j].Start() })
	}
	byStart(now)
	byStart(ch.Added)
	byStart(ch.Removed)
	t.images = now
	return ch
}

// object opens the file behind mappings ms: by its path if that still
// names the mapped inode, else by that path in the process's own mount
// namespace (/proc/PID/root), else through /proc/PID/map_files (a deleted
// or replaced file, a memfd).
func (t *Objects) object(id fileID, ms []Mapping) (*Object, error) {
	if o, ok := t.objs[id]; ok {
		return o, nil
	}
	if t.bad[id] {
		return nil, fmt.Errorf("%s: %w", ms[0].Path, ErrNotELF) // already reported
	}
	if o := t.cache.lookupMapped(id); o != nil {
		t.objs[id] = o
		t.cache.noteMapped(o)
		return o, nil
	}
	m := ms[0]
	var errs []error
	try := func(path string, sameDev bool) *Object {
		o, err := t.cache.Open(path)
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		if got := o.Key.id(); got != id && (sameDev || got.ino != id.ino) {
			errs = append(errs, fmt.Errorf("%s is no longer the mapped file (inode %d, mapped %d)", path, o.Key.Ino, id.ino))
			return nil
		}
		return o
	}
	var o *Object
	if !m.Deleted {
		// A file seen through an overlay (a sandbox's copy-on-write
		// view of the host's directory) shows the overlay's device in
		// /proc/PID/maps and the host file's inode number: the host
		// file is the mapped one if the inode matches. Keying it by
		// the host file keeps its parse across runs, whose overlays
		// are new mounts.
		o = try(m.Path, false)
		if o == nil && strings.HasPrefix(m.Path, "/") {
			// The path as the process sees it, in its own mount
			// namespace (a file that exists only there). An overlay's
			// stat shows another device than maps for the same file
			// (a per-layer device number): the inode must match.
			o = try(fmt.Sprintf("/proc/%d/root%s", t.pid, m.Path), false)
		}
	}
	if o == nil {
		o = try(fmt.Sprintf("/proc/%d/map_files/%x-%x", t.pid, m.Start, m.End), true)
	}
	if o != nil {
		t.objs[id] = o
		t.cache.noteMapped(o)
		return o, nil
	}
	t.bad[id] = true
	for _, err := range errs {
		if errors.Is(err, ErrNotELF) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("mapped file %s: %w", m.Path, joinLine(errs))
}

// joinLine joins errors into one line (errors.Join uses newlines); the
// first stays available to errors.Is.
func joinLine(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return fmt.Errorf("%w%s", errs[0], strings.TrimPrefix(strings.Join(msgs, "; "), msgs[0]))
}

// Location is a runtime address in an image.
type Location struct {
	Image *Image
	Addr  uint64
}

// Funcs returns the runtime entries of the functions named name in every
// current image, in address order.
func (t *Objects) Funcs(name string) []Location {
	var out []Location
	for _, im := range t.images {
		for _, a := range im.Funcs(name) {
			out = append(out, Location{im, a})
		}
	}
	return out
}

// ResolveFuncs is a one-shot lookup: the runtime entries of the function
// name in every image mapped by process pid now.
func ResolveFuncs(cache *Cache, pid int, name string) ([]Location, error) {
	t := NewObjects(cache, pid)
	ch, err := t.Refresh()
	if err != nil {
		return nil, err
	}
	return t.Funcs(name), joinLine(ch.Errors)
}
