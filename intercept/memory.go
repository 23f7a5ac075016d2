package intercept

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Memory is the address space of one guest process. Reads and writes use
// process_vm_readv/writev (one syscall, no ptrace stop needed) and fall back
// to /proc/PID/mem, which also reaches pages the process cannot write itself
// (text, read-only data), as a debugger must.
//
// Memory implements io.ReaderAt and io.WriterAt with the guest virtual
// address as the offset, so formatters and tools can be tested against any
// ReaderAt. A read that stops at an unmapped page returns the bytes read so
// far and an error, like /proc/PID/mem.
type Memory struct {
	pid  int
	file *os.File // /proc/PID/mem, opened on first fallback
}

func newMemory(pid int) *Memory { return &Memory{pid: pid} }

// ErrFault is returned when guest memory is not mapped.
var ErrFault = errors.New("guest memory not mapped")

// ReadAt reads len(p) bytes of guest memory at addr.
func (m *Memory) ReadAt(p []byte, addr int64) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	local := []unix.Iovec{{Base: &p[0], Len: uint64(len(p))}}
	remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: len(p)}}
	n, err := unix.ProcessVMReadv(m.pid, local, remote, 0)
	if err == nil && n == len(p) {
		return n, nil
	}
	if err == unix.EFAULT || (err == nil && n < len(p)) {
		// process_vm_readv stops at the first unmapped page; fall
		// back to /proc/PID/mem for an exact partial read.
		return m.procMem(p, addr, false)
	}
	if err == unix.ENOSYS || err == unix.EPERM {
		return m.procMem(p, addr, false)
	}
	return 0, fmt.Errorf("read pid %d at %#x: %w", m.pid, addr, err)
}

// WriteAt writes p into guest memory at addr. Read-only mappings are written
// through /proc/PID/mem (FOLL_FORCE), as ptrace POKE would.
func (m *Memory) WriteAt(p []byte, addr int64) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	local := []unix.Iovec{{Base: &p[0], Len: uint64(len(p))}}
	remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: len(p)}}
	n, err := unix.ProcessVMWritev(m.pid, local, remote, 0)
	if err == nil && n == len(p) {
		return n, nil
	}
	return m.procMem(p, addr, true)
}

// writeForce writes p at addr through /proc/PID/mem, which reaches
// read-only mappings (text) that process_vm_writev cannot.
func (m *Memory) writeForce(p []byte, addr int64) (int, error) { return m.procMem(p, addr, true) }

func (m *Memory) procMem(p []byte, addr int64, write bool) (int, error) {
	if m.file == nil {
		f, err := os.OpenFile(fmt.Sprintf("/proc/%d/mem", m.pid), os.O_RDWR, 0)
		if err != nil {
			return 0, fmt.Errorf("open guest memory: %w", err)
		}
		m.file = f
	}
	var n int
	var err error
	if write {
		n, err = m.file.WriteAt(p, addr)
	} else {
		n, err = m.file.ReadAt(p, addr)
	}
	if err != nil && n < len(p) {
		if errors.Is(err, io.EOF) || errors.Is(err, unix.EIO) || errors.Is(err, unix.EFAULT) {
			err = ErrFault
		}
		return n, fmt.Errorf("access pid %d at %#x: %w", m.pid, addr, err)
	}
	return n, nil
}

// pokeText writes one byte through /proc/PID/mem, which reaches read-only
// text (FOLL_FORCE) without trying process_vm_writev first.
func (m *Memory) pokeText(addr uint64, b byte) error {
	_, err := m.procMem([]byte{b}, int64(addr), true)
	return err
}

// writeUnforced writes one word with process_vm_writev only: it fails
// where the guest itself could not write (read-only or unmapped pages), as
// an emulated store must.
func (m *Memory) writeUnforced(addr uint64, v uint64) error {
	b := unsafe.Slice((*byte)(unsafe.Pointer(&v)), 8)
	local := []unix.Iovec{{Base: &b[0], Len: 8}}
	remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: 8}}
	n, err := unix.ProcessVMWritev(m.pid, local, remote, 0)
	if err == nil && n != 8 {
		err = ErrFault
	}
	return err
}

// readUnforced reads a little-endian word of n (4 or 8) bytes with
// process_vm_readv only: it fails where the guest itself could not read.
func (m *Memory) readUnforced(addr uint64, n int) (uint64, error) {
	var v uint64
	b := unsafe.Slice((*byte)(unsafe.Pointer(&v)), 8)
	local := []unix.Iovec{{Base: &b[0], Len: uint64(n)}}
	remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: n}}
	got, err := unix.ProcessVMReadv(m.pid, local, remote, 0)
	if err == nil && got != n {
		err = ErrFault
	}
	return v, err
}

// ReadString reads a NUL-terminated string of at most max bytes at addr.
// The bool reports whether the terminator was found within max bytes.
func (m *Memory) ReadString(addr uint64, max int) (string, bool, error) {
	var buf []byte
	chunk := make([]byte, 256)
	for len(buf) < max {
		// Never read across a page boundary in one go: the next page
		// may be unmapped although the string ends before it.
		n := 4096 - int(addr%4096)
		n = min(n, len(chunk), max-len(buf))
		got, err := m.ReadAt(chunk[:n], int64(addr))
		for i := 0; i < got; i++ {
			if chunk[i] == 0 {
				return string(append(buf, chunk[:i]...)), true, nil
			}
		}
		buf = append(buf, chunk[:got]...)
		if err != nil {
			return string(buf), false, err
		}
		addr += uint64(got)
	}
	return string(buf), false, nil
}

// ReadUint64 reads one little-endian word.
func (m *Memory) ReadUint64(addr uint64) (uint64, error) {
	var v uint64
	b := unsafe.Slice((*byte)(unsafe.Pointer(&v)), 8)
	_, err := m.ReadAt(b, int64(addr))
	return v, err
}

// WriteUint64 writes one little-endian word.
func (m *Memory) WriteUint64(addr uint64, v uint64) error {
	b := unsafe.Slice((*byte)(unsafe.Pointer(&v)), 8)
	_, err := m.WriteAt(b, int64(addr))
	return err
}

// ReadUint32 reads one little-endian 32-bit word.
func (m *Memory) ReadUint32(addr uint64) (uint32, error) {
	var b [4]byte
	_, err := m.ReadAt(b[:], int64(addr))
	return binary.LittleEndian.Uint32(b[:]), err
}

// WriteUint32 writes one little-endian 32-bit word.
func (m *Memory) WriteUint32(addr uint64, v uint32) error {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	_, err := m.WriteAt(b[:], int64(addr))
	return err
}

// WriteString writes s and a terminating NUL at addr.
func (m *Memory) WriteString(addr uint64, s string) error {
	_, err := m.WriteAt(append([]byte(s), 0), int64(addr))
	return err
}

// Close releases the /proc/PID/mem handle, if any.
func (m *Memory) Close() error {
	if m.file == nil {
		return nil
	}
	err := m.file.Close()
	m.file = nil
	return err
}
