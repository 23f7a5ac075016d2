package replay

import (
	"fmt"
	"strconv"
	"strings"
)

// The keys of a run's world (schedfuzz 0.3 and later):
//
//	hermetic: yes              the run had a sandbox of its own (no: it had not)
//	net: host                  ... but kept the host's network (-net host)
//	stdin: "/src/in.txt"       the guest's standard input (absent: /dev/null)
//	stdin-sha256: 9f86d0...    its SHA-256 when recorded

// encodeWorld writes the world's keys.
func (f *SeedFile) encodeWorld(kv func(key, val string)) error {
	switch f.Hermetic {
	case "", "yes", "no":
	default:
		return fmt.Errorf("encode seed file: hermetic %q: want yes or no", f.Hermetic)
	}
	switch f.Net {
	case "", "host":
	default:
		return fmt.Errorf("encode seed file: net %q: want host or nothing", f.Net)
	}
	if f.StdinSHA256 != "" && !isHex256(f.StdinSHA256) {
		return fmt.Errorf("encode seed file: stdin-sha256 %q is not 64 hex digits", f.StdinSHA256)
	}
	if f.Hermetic != "" {
		kv("hermetic", f.Hermetic)
	}
	if f.Net != "" {
		kv("net", f.Net)
	}
	if f.Stdin != "" {
		kv("stdin", strconv.Quote(f.Stdin))
	}
	if f.StdinSHA256 != "" {
		kv("stdin-sha256", f.StdinSHA256)
	}
	return nil
}

// worldField parses one of the world's keys.
func (p *parser) worldField(f *SeedFile, key, val string) error {
	var err error
	switch key {
	case "hermetic":
		if val != "yes" && val != "no" {
			return p.errf("bad hermetic %q: want yes or no", trunc(val))
		}
		f.Hermetic = val
	case "net":
		if val != "host" {
			return p.errf("bad net %q: want host", trunc(val))
		}
		f.Net = val
	case "stdin":
		f.Stdin, err = p.quoted(key, val)
	case "stdin-sha256":
		if !isHex256(strings.ToLower(val)) {
			return p.errf("bad stdin-sha256 %q: want 64 hex digits", trunc(val))
		}
		f.StdinSHA256 = strings.ToLower(val)
	}
	return err
}
