package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/schedfuzz/schedfuzz/internal/testenv"
)

// TestVirtualCwd: programs see the directory given with -cwd: pwd prints
// it (even when it does not exist), relative paths are resolved against
// it, cd moves within it, and the real working directory is untouched.
func TestVirtualCwd(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "fscwd")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	tree := filepath.Join(dir, "tree")
	if err := os.MkdirAll(filepath.Join(tree, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tree, "sub", "file"), []byte("content\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	real := t.TempDir()
	for _, c := range []struct {
		cwd  string
		argv []string
		want string
	}{
		{"/anydir", []string{"/bin/pwd"}, "/anydir\n"},
		{tree, []string{"cat", "sub/file"}, "content\n"},
		{tree, []string{"sh", "-c", "cd sub && /bin/pwd && cat file && ls && touch new && ls ../sub"}, tree + "/sub\ncontent\nfile\nfile\nnew\n"},
		{tree, []string{"sh", "-c", "cd nosuch 2>/dev/null || echo refused; /bin/pwd"}, "refused\n" + tree + "\n"},
	} {
		cmd := exec.Command(bin, append([]string{"-cwd", c.cwd, "--"}, c.argv...)...)
		cmd.Dir = real
		out, err := cmd.CombinedOutput()
		if err != nil || string(out) != c.want {
			t.Errorf("fscwd -cwd %s %q: %v, output %q, want %q", c.cwd, c.argv, err, out, c.want)
		}
	}
	if left, _ := os.ReadDir(real); len(left) != 0 {
		t.Errorf("the real working directory changed: %v", left)
	}
}
