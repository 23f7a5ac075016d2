package replay

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// What a failure was judged by. A run is saved because its outcome failed
// the session's classification: exit statuses that mean success
// (-expect-exit), and regular expressions its output had to match
// (-failure) or not match (-ignore). The seed file records them so that a
// replay judges the run the same way:
//
//	expect-exit: 0,3               statuses that mean success (absent: 0)
//	failure: "assertion"           Go-quoted regular expression
//	ignore: "ECONNRESET"           Go-quoted regular expression

// verdictKey reports whether key is one of the classification keys.
func verdictKey(key string) bool {
	return key == "expect-exit" || key == "failure" || key == "ignore"
}

// parseVerdict parses a classification key into f.
func (p *parser) parseVerdict(f *SeedFile, key, val string) error {
	switch key {
	case "expect-exit":
		codes, err := ParseExitList(val)
		if err != nil {
			return p.errf("bad expect-exit %q: %v", trunc(val), err)
		}
		f.ExpectExit = codes
		return nil
	}
	re, err := p.quoted(key, val)
	if err != nil {
		return err
	}
	if _, err := regexp.Compile(re); err != nil {
		return p.errf("bad %s %s: not a regular expression", key, trunc(val))
	}
	if key == "failure" {
		f.Failure = re
	} else {
		f.Ignore = re
	}
	return nil
}

// encodeVerdict writes the classification keys that are set.
func (f *SeedFile) encodeVerdict(kv func(key, val string)) error {
	if len(f.ExpectExit) > 0 {
		s := make([]string, len(f.ExpectExit))
		for i, c := range f.ExpectExit {
			if c < 0 || c > 255 {
				return fmt.Errorf("encode seed file: expect-exit status %d is not in 0..255", c)
			}
			s[i] = strconv.Itoa(c)
		}
		kv("expect-exit", strings.Join(s, ","))
	}
	for _, re := range []struct{ key, val string }{{"failure", f.Failure}, {"ignore", f.Ignore}} {
		if re.val == "" {
			continue
		}
		if _, err := regexp.Compile(re.val); err != nil {
			return fmt.Errorf("encode seed file: %s: %v", re.key, err)
		}
		kv(re.key, strconv.Quote(re.val))
	}
	return nil
}

// ParseExitList parses a comma-separated list of exit statuses (0..255),
// as -expect-exit and the expect-exit key take it.
func ParseExitList(s string) ([]int, error) {
	var out []int
	for _, e := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(e))
		if err != nil || v < 0 || v > 255 {
			return nil, fmt.Errorf("want exit statuses 0..255, comma-separated")
		}
		out = append(out, v)
	}
	return out, nil
}

// MaxCPUs is the largest CPU count a seed file records.
const MaxCPUs = maxCPUs
