package memsites

// insnLen is an x86-64 instruction length decoder: prefixes, REX, VEX,
// EVEX, the one-, two- and three-byte opcode maps, ModRM, SIB,
// displacement and immediate. It says where the next instruction starts
// and nothing else. Scan uses it as the authority on instruction
// boundaries because x86asm (v0.33.0) gets a few wrong and a linear sweep
// never recovers from a wrong length by itself: it decodes endbr64 (f3 0f
// 1e fa, the first instruction of most functions built with CET) as a
// one-byte rep, gives vzeroupper (c5 f8 77) a ModRM byte it does not
// have, and does not know rdssp, incssp, rdpkru or wrpkru. An instruction
// whose length x86asm gets wrong is skipped whole and is never a site.
// TestObjdump checks the boundaries against GNU objdump on all of libc, a
// static glibc binary and a Go binary's runtime.
func insnLen(code []byte) (int, bool) {
	i := 0
	opsize, addrsize := false, false
	for ; i < len(code) && i < 14; i++ {
		switch code[i] {
		case 0x66:
			opsize = true
			continue
		case 0x67:
			addrsize = true
			continue
		case 0xf0, 0xf2, 0xf3, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65:
			continue
		}
		break
	}
	if i >= len(code) {
		return 0, false
	}
	rexW := false
	if b := code[i]; b >= 0x40 && b <= 0x4f {
		rexW = b&8 != 0
		i++
		if i >= len(code) {
			return 0, false
		}
	}
	op := code[i]
	i++
	switch op {
	case 0xc5: // two-byte VEX: map 0F
		if i+2 > len(code) {
			return 0, false
		}
		return tail(code, i+2, mapVEX0F, code[i+1], false)
	case 0xc4: // three-byte VEX
		if i+3 > len(code) {
			return 0, false
		}
		m := code[i] & 0x1f
		if m < 1 || m > 3 {
			return 0, false
		}
		return tail(code, i+3, opMap(m), code[i+2], false)
	case 0x62: // EVEX
		if i+4 > len(code) {
			return 0, false
		}
		m := code[i] & 0x07
		switch m {
		case 1, 2, 3:
			return tail(code, i+4, opMap(m), code[i+3], false)
		case 5, 6: // AVX512-FP16 maps: ModRM, no immediate
			return modrmLen(code, i+4, 0)
		}
		return 0, false
	case 0x0f:
		if i >= len(code) {
			return 0, false
		}
		op2 := code[i]
		i++
		switch op2 {
		case 0x38:
			if i >= len(code) {
				return 0, false
			}
			return modrmLen(code, i+1, 0)
		case 0x3a:
			if i >= len(code) {
				return 0, false
			}
			return modrmLen(code, i+1, 1)
		}
		return tail(code, i, map0F, op2, opsize)
	}
	// One-byte map.
	switch {
	case op < 0x40 && op&7 == 4: // ALU al, imm8
		return fits(code, i+1)
	case op < 0x40 && op&7 == 5: // ALU eax, imm16/32
		return fits(code, i+immZ(opsize))
	case op < 0x40 && op&7 < 4:
		return modrmLen(code, i, 0)
	case op < 0x40: // segment pushes and BCD: invalid in 64-bit mode
		return fits(code, i)
	case op >= 0x50 && op <= 0x5f, op >= 0x6c && op <= 0x6f, op >= 0x90 && op <= 0x99,
		op >= 0x9b && op <= 0x9f, op >= 0xa4 && op <= 0xa7, op >= 0xaa && op <= 0xaf:
		return fits(code, i)
	case op == 0x63 || op >= 0x84 && op <= 0x8f || op >= 0xd0 && op <= 0xd3 || op >= 0xd8 && op <= 0xdf ||
		op == 0xfe || op == 0xff:
		return modrmLen(code, i, 0)
	case op == 0x68:
		return fits(code, i+immZ(opsize))
	case op == 0x69, op == 0x81, op == 0xc7:
		return modrmLen(code, i, immZ(opsize))
	case op == 0x6a, op >= 0x70 && op <= 0x7f, op == 0xa8, op >= 0xb0 && op <= 0xb7, op == 0xcd,
		op >= 0xe0 && op <= 0xe7, op == 0xeb:
		return fits(code, i+1)
	case op == 0x6b, op == 0x80, op == 0x83, op == 0xc0, op == 0xc1, op == 0xc6:
		return modrmLen(code, i, 1)
	case op >= 0xa0 && op <= 0xa3: // mov moffs
		if addrsize {
			return fits(code, i+4)
		}
		return fits(code, i+8)
	case op == 0xa9:
		return fits(code, i+immZ(opsize))
	case op >= 0xb8 && op <= 0xbf:
		if rexW {
			return fits(code, i+8)
		}
		return fits(code, i+immZ(opsize))
	case op == 0xc2, op == 0xca:
		return fits(code, i+2)
	case op == 0xc8:
		return fits(code, i+3)
	case op == 0xe8, op == 0xe9:
		return fits(code, i+4)
	case op == 0xf6, op == 0xf7:
		if i >= len(code) {
			return 0, false
		}
		imm := 0
		if reg := code[i] >> 3 & 7; reg < 2 { // test r/m, imm
			imm = 1
			if op == 0xf7 {
				imm = immZ(opsize)
			}
		}
		return modrmLen(code, i, imm)
	}
	// c3 c9 cb cc cf d7 ec-ef f1 f4 f5 f8-fd and the invalid ones.
	return fits(code, i)
}

type opMapID uint8

const (
	map0F opMapID = iota
	mapVEX0F
	map0F38
	map0F3A
)

func opMap(m byte) opMapID {
	switch m {
	case 2:
		return map0F38
	case 3:
		return map0F3A
	}
	return mapVEX0F
}

// tail decodes what follows opcode op of map m, from code[i] on: ModRM,
// displacement and immediate.
func tail(code []byte, i int, m opMapID, op byte, opsize bool) (int, bool) {
	switch m {
	case map0F38:
		return modrmLen(code, i, 0)
	case map0F3A:
		return modrmLen(code, i, 1)
	case mapVEX0F:
		if op == 0x77 { // vzeroupper, vzeroall
			return fits(code, i)
		}
		return modrmLen(code, i, imm0F(op))
	}
	switch {
	case op == 0x05 || op == 0x06 || op == 0x07 || op == 0x08 || op == 0x09 || op == 0x0b || op == 0x0e,
		op >= 0x30 && op <= 0x37, op == 0x77, op == 0xa0, op == 0xa1, op == 0xa2, op == 0xa8, op == 0xa9,
		op == 0xaa, op >= 0xc8 && op <= 0xcf:
		return fits(code, i)
	case op >= 0x80 && op <= 0x8f: // jcc rel32
		return fits(code, i+4)
	case op == 0x0f: // 3DNow!: ModRM, then an opcode byte
		return modrmLen(code, i, 1)
	}
	return modrmLen(code, i, imm0F(op))
}

// imm0F is the immediate size of two-byte opcode op.
func imm0F(op byte) int {
	switch {
	case op >= 0x70 && op <= 0x73, op == 0xa4, op == 0xac, op == 0xba, op == 0xc2, op >= 0xc4 && op <= 0xc6:
		return 1
	}
	return 0
}

// modrmLen decodes a ModRM byte at code[i] (with SIB and displacement)
// followed by imm bytes of immediate.
func modrmLen(code []byte, i, imm int) (int, bool) {
	if i >= len(code) {
		return 0, false
	}
	modrm := code[i]
	i++
	mod, rm := modrm>>6, modrm&7
	if mod != 3 && rm == 4 {
		if i >= len(code) {
			return 0, false
		}
		sib := code[i]
		i++
		if mod == 0 && sib&7 == 5 {
			i += 4
		}
	}
	switch {
	case mod == 0 && rm == 5:
		i += 4 // RIP-relative
	case mod == 1:
		i++
	case mod == 2:
		i += 4
	}
	return fits(code, i+imm)
}

func immZ(opsize bool) int {
	if opsize {
		return 2
	}
	return 4
}

func fits(code []byte, n int) (int, bool) {
	if n > len(code) || n > 15 {
		return 0, false
	}
	return n, true
}
