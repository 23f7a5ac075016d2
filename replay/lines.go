package replay

import (
	"bufio"
	"os"
	"strings"
)

// KeyLine returns the number (1-based) of the first line of the seed file
// at path that holds key with a value val accepts (nil: any), or 0. It
// lets a caller that checks a parsed value (a strategy, a point spec)
// name the line of a bad one, as Parse's own errors do.
func KeyLine(path, key string, val func(string) bool) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLineSize+2)
	for n := 1; sc.Scan(); n++ {
		k, v, ok := cutKey(strings.TrimSuffix(sc.Text(), "\r"))
		if ok && k == key && (val == nil || val(v)) {
			return n
		}
	}
	return 0
}
