package syscalls

import "strconv"

// flag names one bit pattern of a flag word, or one value of an enum.
type flag struct {
	v    uint64
	name string
}

// appendHex appends v like C's %#x: 0 for zero, 0x... otherwise.
func appendHex(b []byte, v uint64) []byte {
	if v == 0 {
		return append(b, '0')
	}
	return strconv.AppendUint(append(b, "0x"...), v, 16)
}

// appendPtr appends an address: NULL or 0x...
func appendPtr(b []byte, v uint64) []byte {
	if v == 0 {
		return append(b, "NULL"...)
	}
	return strconv.AppendUint(append(b, "0x"...), v, 16)
}

// appendOctal appends a mode like strace: 0644, 007, 000.
func appendOctal(b []byte, v uint64) []byte {
	var tmp [24]byte
	d := strconv.AppendUint(tmp[:0], v, 8)
	b = append(b, '0')
	for i := len(d); i < 2; i++ {
		b = append(b, '0')
	}
	return append(b, d...)
}

func appendInt(b []byte, v int64) []byte   { return strconv.AppendInt(b, v, 10) }
func appendUint(b []byte, v uint64) []byte { return strconv.AppendUint(b, v, 10) }

// appendFlags appends the names of the bit patterns of tab set in v, in
// table order, joined by '|', then any remaining bits in hex. A zero v is
// shown as zero (or "0" if zero is empty).
func appendFlags(b []byte, v uint64, tab []flag, zero string) []byte {
	if v == 0 {
		if zero == "" {
			return append(b, '0')
		}
		return append(b, zero...)
	}
	first := true
	for _, f := range tab {
		if f.v != 0 && v&f.v == f.v {
			if !first {
				b = append(b, '|')
			}
			b = append(b, f.name...)
			first = false
			v &^= f.v
		}
	}
	if v != 0 {
		if !first {
			b = append(b, '|')
		}
		b = appendHex(b, v)
	}
	return b
}

// lookupFlag returns the name of value v in tab.
func lookupFlag(v uint64, tab []flag) (string, bool) {
	for _, f := range tab {
		if f.v == v {
			return f.name, true
		}
	}
	return "", false
}

// appendEnum appends the name of v in tab, or v in decimal (as an int32 if
// signed) or hex.
func appendEnum(b []byte, v uint64, tab []flag, hex bool) []byte {
	if name, ok := lookupFlag(v, tab); ok {
		return append(b, name...)
	}
	if hex {
		return appendHex(b, v)
	}
	return appendInt(b, int64(int32(v)))
}

const hexDigits = "0123456789abcdef"

// appendQuoted appends data as a C string literal: printable ASCII as is,
// \n \t \r \v \f \" \\ escaped, everything else as \xNN; "..." follows the
// closing quote when cut is set.
func appendQuoted(b []byte, data []byte, cut bool) []byte {
	b = append(b, '"')
	for _, c := range data {
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\t':
			b = append(b, '\\', 't')
		case '\r':
			b = append(b, '\\', 'r')
		case '\v':
			b = append(b, '\\', 'v')
		case '\f':
			b = append(b, '\\', 'f')
		default:
			if c >= 0x20 && c < 0x7f {
				b = append(b, c)
			} else {
				b = append(b, '\\', 'x', hexDigits[c>>4], hexDigits[c&15])
			}
		}
	}
	b = append(b, '"')
	if cut {
		b = append(b, "..."...)
	}
	return b
}
