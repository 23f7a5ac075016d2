package syscalls

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// headerDirs are where distributions install the kernel's asm headers.
var headerDirs = []string{"/usr/include/x86_64-linux-gnu/asm", "/usr/include/asm"}

// readHeader parses "#define __NR_name N" (or "(__X32_SYSCALL_BIT + N)")
// lines. It skips the test if the header is not installed.
func readHeader(t *testing.T, file string) map[string]int {
	t.Helper()
	for _, dir := range headerDirs {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			continue
		}
		re := regexp.MustCompile(`(?m)^#define __NR_(\w+)\s+\(?(?:__X32_SYSCALL_BIT \+ )?(\d+)\)?\s*$`)
		out := map[string]int{}
		for _, m := range re.FindAllStringSubmatch(string(data), -1) {
			n, _ := strconv.Atoi(m[2])
			out[m[1]] = n
		}
		if len(out) < 300 {
			t.Fatalf("%s: parsed only %d syscalls", file, len(out))
		}
		return out
	}
	t.Skipf("%s not installed (linux-libc-dev); the tables are checked against it where it is", file)
	return nil
}

// newerThanHeaders are calls added inside the numbers older headers cover
// (x86-64 only, after Linux 6.1).
var newerThanHeaders = map[string]bool{"uretprobe": true, "uprobe": true}

// TestTablesMatchHeaders checks every number the installed kernel headers
// define against the tables, and that the tables name nothing the headers
// leave out below the headers' highest number. Numbers above it (calls
// newer than the headers) are checked by TestNamesAndNumbers.
func TestTablesMatchHeaders(t *testing.T) {
	for _, c := range []struct {
		arch Arch
		file string
	}{
		{X86_64, "unistd_64.h"},
		{I386, "unistd_32.h"},
		{X32, "unistd_x32.h"},
	} {
		t.Run(c.arch.String(), func(t *testing.T) {
			hdr := readHeader(t, c.file)
			top := 0 // highest number below the x32 range
			byNr := map[int]string{}
			for name, nr := range hdr {
				byNr[nr] = name
				if nr < 512 {
					top = max(top, nr)
				}
				if got := c.arch.Name(nr); got != name {
					t.Errorf("%s: number %d is %q, want %q", c.file, nr, got, name)
				}
				if got, ok := c.arch.Number(name); !ok || got != nr {
					t.Errorf("%s: Number(%q) = %d, %v; want %d", c.file, name, got, ok, nr)
				}
			}
			for nr := 0; nr <= top; nr++ {
				if in := Lookup(c.arch, nr); in != nil && byNr[nr] == "" && !newerThanHeaders[in.Name] {
					t.Errorf("table names %d %q, which %s does not define", nr, in.Name, c.file)
				}
			}
			t.Logf("%s: %d calls up to %d checked", c.file, len(hdr), top)
		})
	}
}
