package intercept

import (
	"encoding/binary"
	"sort"
)

type tmpInsn struct {
	Op     uint16
	Jt, Jf uint8
	K      uint32
}

func tmpBuild(sub Subscription) []tmpInsn {
	const (
		ldAbs = 0x20
		jeq   = 0x15
		ret   = 0x06
		allow = 0x7fff0000
		trace = 0x7ff00000
		archX = 0xc000003e
	)
	p := []tmpInsn{
		{ldAbs, 0, 0, 4},
		{jeq, 1, 0, archX},
		{ret, 0, 0, trace | tagForeign},
		{ldAbs, 0, 0, 0},
	}
	if sub.all {
		return append(p, tmpInsn{ret, 0, 0, trace})
	}
	var nrs []int
	for nr := range sub.nums {
		nrs = append(nrs, nr)
	}
	sort.Ints(nrs)
	for _, nr := range nrs {
		p = append(p, tmpInsn{jeq, 0, 1, uint32(nr)}, tmpInsn{ret, 0, 0, trace})
	}
	return append(p, tmpInsn{ret, 0, 0, allow})
}

func tmpEncode(p []tmpInsn) []byte {
	b := make([]byte, 8*len(p))
	for i, in := range p {
		binary.LittleEndian.PutUint16(b[8*i:], in.Op)
		b[8*i+2] = in.Jt
		b[8*i+3] = in.Jf
		binary.LittleEndian.PutUint32(b[8*i+4:], in.K)
	}
	return b
}
