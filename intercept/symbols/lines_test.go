package symbols

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestLineAtAgainstAddr2line: the line of every function entry (and a few
// bytes in) of C programs built with -g, non-PIE, PIE and static, is what
// addr2line says.
func TestLineAtAgainstAddr2line(t *testing.T) {
	if _, err := exec.LookPath("addr2line"); err != nil {
		t.Skip("addr2line not installed")
	}
	for _, path := range []string{addrsPIE(t), addrsNoPIE(t)} {
		o, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		var addrs []uint64
		for _, s := range o.table().all() {
			if s.Kind == KindFunc && s.Size > 4 && s.Name != "" && !strings.HasPrefix(s.Name, "_") {
				addrs = append(addrs, s.Value, s.Value+4)
			}
		}
		args := []string{"-e", path}
		for _, a := range addrs {
			args = append(args, fmt.Sprintf("%#x", a))
		}
		out, err := exec.Command("addr2line", args...).Output()
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		checked := 0
		for i, a := range addrs {
			file, num, _ := strings.Cut(lines[i], ":")
			num, _, _ = strings.Cut(num, " ")
			n, err := strconv.Atoi(num)
			if err != nil || file == "??" {
				continue // addr2line knows no line either
			}
			got, ok := o.LineAt(a)
			if !ok || filepath.Base(got.File) != filepath.Base(file) || got.Line != n {
				t.Errorf("%s %#x: LineAt = %v %v, addr2line %s:%d", filepath.Base(path), a, got, ok, file, n)
			}
			checked++
		}
		if checked < 4 {
			t.Errorf("%s: only %d addresses checked", path, checked)
		}
	}
}
