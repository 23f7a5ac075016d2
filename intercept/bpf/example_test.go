package bpf_test

import (
	"encoding/binary"
	"fmt"

	"github.com/schedfuzz/schedfuzz/intercept/bpf"
)

// A seccomp-style program that fails getpid (39) with EPERM and allows
// everything else, built with labels, validated, disassembled and run on
// two inputs (the first word of struct seccomp_data is the call number).
func ExampleProgramBuilder() {
	b := bpf.NewProgramBuilder()
	b.AddStmt(bpf.Ld|bpf.W|bpf.Abs, 0) // A = seccomp_data.nr
	b.AddJump(bpf.Jmp|bpf.Jeq|bpf.K, 39, bpf.Label("deny"), bpf.Skip(0))
	b.AddReturn(0x7fff0000) // SECCOMP_RET_ALLOW
	b.SetLabel("deny")
	b.AddReturn(0x00050001) // SECCOMP_RET_ERRNO|EPERM
	prog, err := b.Build()
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := bpf.Validate(prog); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(bpf.Disassemble(prog))
	data := make([]byte, 64)
	for _, nr := range []uint32{39, 1} {
		binary.LittleEndian.PutUint32(data, nr)
		ret, err := bpf.Exec(prog, data)
		fmt.Printf("nr %d: %#08x %v\n", nr, ret, err)
	}
	// Output:
	//    0: ld [0]
	//    1: jeq #39, 3, 2
	//    2: ret #0x7fff0000
	//    3: ret #0x50001
	// nr 39: 0x00050001 <nil>
	// nr 1: 0x7fff0000 <nil>
}
