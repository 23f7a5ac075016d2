package sandbox

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// envUserNS marks the process Reexec started; it is removed from the
// environment at start-up, so guests never see it.
const envUserNS = "SCHEDFUZZ_SANDBOX_USERNS"

// inOwnUserNS is set when this process is the one Reexec started: it has
// the capabilities namespaces need as ambient capabilities, which a
// guest must not inherit.
var inOwnUserNS = func() bool {
	v, ok := os.LookupEnv(envUserNS)
	os.Unsetenv(envUserNS)
	return ok && v == "1"
}()

// InOwnUserNS reports whether this process runs in the user namespace
// Reexec made for it.
func InOwnUserNS() bool { return inOwnUserNS }

// Reexec runs this program again with the same arguments, standard files
// and environment, in a user namespace and a mount namespace of its own,
// as the same user (the uid and gid are mapped to themselves) but with
// every capability in that namespace as an ambient capability: what an
// unprivileged user needs to give runs namespaces of their own. It forwards SIGINT, SIGTERM, SIGHUP and SIGQUIT,
// and returns the program's exit code (128+N if signal N killed it).
// It fails if the kernel refuses unprivileged user namespaces.
func Reexec() (int, error) {
	cmd := exec.Command("/proc/self/exe", os.Args[1:]...)
	cmd.Args[0] = os.Args[0]
	cmd.Env = append(os.Environ(), envUserNS+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	uid, gid := os.Getuid(), os.Getgid()
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:                 unix.CLONE_NEWUSER | unix.CLONE_NEWNS,
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}},
		GidMappingsEnableSetgroups: false,
		AmbientCaps:                allCaps(),
		Pdeathsig:                  syscall.SIGKILL,
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("user namespace: %w", err)
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 0, err
	}
	return 0, nil
}

// allCaps lists every capability the kernel knows: in a user namespace of
// our own they cost nothing outside it, and overlayfs, mounts and
// namespaces need several (CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_SYS_CHROOT,
// CAP_DAC_OVERRIDE, CAP_FOWNER...).
func allCaps() []uintptr {
	last := uintptr(unix.CAP_LAST_CAP)
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n > 0 && n < 64 {
			last = uintptr(n)
		}
	}
	var caps []uintptr
	for c := uintptr(0); c <= last; c++ {
		caps = append(caps, c)
	}
	return caps
}

// Unprivileged reports, without trying, that this process cannot make
// the namespaces a sandbox needs itself: CAP_SYS_ADMIN, which unshare
// checks, is not in its effective set. A false answer promises nothing
// (a seccomp policy may refuse all the same): Privileged tries.
func Unprivileged() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return data[unix.CAP_SYS_ADMIN/32].Effective&(1<<(unix.CAP_SYS_ADMIN%32)) == 0
}

// Privileged reports whether this process may make the namespaces a
// sandbox needs without a user namespace of its own (it has
// CAP_SYS_ADMIN in its user namespace): a throwaway thread tries.
func Privileged() bool { return privileged() }

var privileged = sync.OnceValue(func() bool {
	ch := make(chan bool, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread may have left our namespaces
		ch <- unix.Unshare(unix.CLONE_FS|unix.CLONE_NEWNS|unix.CLONE_NEWPID|unix.CLONE_NEWUTS) == nil
	}()
	return <-ch
})
