package hunt

import (
	"bufio"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// ResolveTarget finds PROG like a shell and checks, before any run, that
// the kernel can execute it, so that every way it cannot gets one line
// and its exit code instead of a failed run: not found (127), not
// executable (126), a script whose interpreter is missing (127, naming
// it), a file that is not an x86-64 program: an object file, a core
// file, a truncated ELF file, a 32-bit one (2).
func ResolveTarget(prog string) (string, error) {
	path, err := lookTarget(prog)
	if err != nil {
		return "", err
	}
	return path, checkExecutable(prog, path, 0)
}

func lookTarget(prog string) (string, error) {
	path := prog
	if !strings.Contains(prog, "/") {
		p, err := exec.LookPath(prog)
		if err != nil {
			return "", &InputError{ExitNotFound, prog + ": command not found"}
		}
		path = p
	}
	st, err := os.Stat(path)
	if err != nil {
		return "", &InputError{ExitNotFound, prog + ": no such file"}
	}
	if st.IsDir() || st.Mode()&0o111 == 0 || unix.Access(path, unix.X_OK) != nil {
		return "", &InputError{ExitNoExec, prog + ": not executable"}
	}
	return path, nil
}

// checkExecutable checks the file at path (named prog to the user); depth
// counts interpreters followed (the kernel follows 4).
func checkExecutable(prog, path string, depth int) error {
	f, err := os.Open(path)
	if err != nil {
		return &InputError{ExitNoExec, prog + ": " + unwrapPathErr(err).Error()}
	}
	defer f.Close()
	var head [4]byte
	n, _ := io.ReadFull(f, head[:])
	switch {
	case n >= 2 && string(head[:2]) == "#!":
		if depth >= 4 {
			return &InputError{ExitUsage, prog + ": too many levels of #! interpreters"}
		}
		return checkScript(prog, f, depth)
	case n == 4 && string(head[:]) == elf.ELFMAG:
		return checkELF(prog, f)
	}
	return &InputError{ExitUsage, prog + ": not an x86-64 ELF program or script"}
}

// checkScript checks a script's interpreter (its #! line), and through
// /usr/bin/env the program env would run.
func checkScript(prog string, f *os.File, depth int) error {
	if _, err := f.Seek(2, io.SeekStart); err != nil {
		return &InputError{ExitNoExec, prog + ": " + err.Error()}
	}
	line, _ := bufio.NewReader(io.LimitReader(f, 256)).ReadString('\n')
	fields := strings.Fields(strings.TrimSuffix(line, "\n"))
	if len(fields) == 0 {
		return &InputError{ExitUsage, prog + ": script without an interpreter (empty #! line)"}
	}
	// The kernel takes the interpreter as a path (relative to the
	// working directory), never through PATH.
	interp := fields[0]
	path := interp
	if !strings.Contains(interp, "/") {
		path = "./" + interp
	}
	if _, err := lookTarget(path); err != nil {
		return interpErr(prog, interp, "", err)
	}
	if err := checkExecutable(interp, path, depth+1); err != nil {
		return interpErr(prog, interp, "", err)
	}
	if filepath.Base(interp) != "env" || len(fields) < 2 {
		return nil
	}
	// env NAME: the first argument that is not an option or an
	// assignment (the kernel passes "-S a b" as one argument).
	args := fields[1:]
	if args[0] == "-S" || strings.HasPrefix(args[0], "-S") {
		args = strings.Fields(strings.TrimPrefix(strings.Join(args, " "), "-S"))
	}
	for _, a := range args {
		if strings.HasPrefix(a, "-") || strings.Contains(a, "=") {
			continue
		}
		if _, err := lookTarget(a); err != nil {
			return interpErr(prog, a, " (through "+interp+")", err)
		}
		return nil
	}
	return nil
}

func interpErr(prog, interp, via string, err error) error {
	var ie *InputError
	if errors.As(err, &ie) && ie.Code != ExitNotFound {
		return &InputError{ie.Code, fmt.Sprintf("%s: interpreter %s%s: %s", prog, interp, via, strings.TrimPrefix(ie.Msg, interp+": "))}
	}
	return &InputError{ExitNotFound, fmt.Sprintf("%s: interpreter %s%s not found", prog, interp, via)}
}

// checkELF accepts an x86-64 executable or position-independent program
// whose loadable segments are all in the file, and whose program
// interpreter (the dynamic loader) exists.
func checkELF(prog string, f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return &InputError{ExitNoExec, prog + ": " + err.Error()}
	}
	ef, err := elf.NewFile(f)
	if err != nil {
		return &InputError{ExitUsage, prog + ": a truncated or corrupt ELF file"}
	}
	if ef.Class != elf.ELFCLASS64 || ef.Machine != elf.EM_X86_64 {
		return &InputError{ExitUsage, fmt.Sprintf("%s: not an x86-64 ELF program (%v %v)", prog, ef.Class, ef.Machine)}
	}
	switch ef.Type {
	case elf.ET_EXEC, elf.ET_DYN:
	case elf.ET_REL:
		return &InputError{ExitUsage, prog + ": an object file (ELF ET_REL), not a program: link it first"}
	default:
		return &InputError{ExitUsage, fmt.Sprintf("%s: an ELF %v file, not a program", prog, ef.Type)}
	}
	loads := 0
	for _, p := range ef.Progs {
		if p.Off+p.Filesz > uint64(st.Size()) {
			return &InputError{ExitUsage, fmt.Sprintf("%s: a truncated ELF file (a segment ends at byte %d, the file has %d)", prog, p.Off+p.Filesz, st.Size())}
		}
		if p.Type == elf.PT_LOAD {
			loads++
		}
		if p.Type == elf.PT_INTERP {
			b, err := io.ReadAll(p.Open())
			interp := string(bytes.TrimRight(b, "\x00"))
			if err != nil || interp == "" {
				return &InputError{ExitUsage, prog + ": a corrupt ELF file (bad program interpreter)"}
			}
			if _, err := os.Stat(interp); err != nil {
				return &InputError{ExitNotFound, fmt.Sprintf("%s: its ELF interpreter %s not found", prog, interp)}
			}
		}
	}
	if loads == 0 {
		return &InputError{ExitUsage, prog + ": an ELF file with nothing to load, not a program"}
	}
	return nil
}

// Exit statuses of InputErrors: a shell's for a program it cannot run, 2
// for the rest.
const (
	ExitUsage    = 2   // bad input: a seed file, a program that is not one, unsupported guest behaviour
	ExitNoExec   = 126 // the program is not executable
	ExitNotFound = 127 // the program (or its interpreter) was not found
)

// An InputError is bad input rather than a failure of schedfuzz: a
// program that cannot be run or explored, a corrupt seed file. Code is
// the exit status the CLI gives it (ExitUsage, ExitNoExec,
// ExitNotFound); Msg is one line.
type InputError struct {
	Code int
	Msg  string
}

func (e *InputError) Error() string { return e.Msg }

// unwrapPathErr drops the *fs.PathError wrapper when the caller names the
// path itself.
func unwrapPathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
