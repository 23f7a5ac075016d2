package sandbox

import (
	"fmt"
	"os"
	"strings"
)

// virtualBootTime is /proc/stat's btime in a sandbox: the virtual
// CLOCK_REALTIME when the virtual CLOCK_MONOTONIC was 0 (package sched
// starts runs at monotonic 1000 s, realtime 2025-01-01).
const virtualBootTime = 1_735_689_600 - 1_000

// cpuFiles returns the files that tell a guest it has n CPUs, by the
// path they cover: the sysfs lists glibc's get_nprocs and get_nprocs_conf
// read (sysconf(_SC_NPROCESSORS_ONLN) and _CONF), /proc/cpuinfo made of n
// copies of the host's first processor, and a /proc/stat with n cpu lines
// whose counters are all zero (the host's move with time and load).
func cpuFiles(n int, hostCPUInfo []byte) map[string][]byte {
	list := "0\n"
	if n > 1 {
		list = fmt.Sprintf("0-%d\n", n-1)
	}
	return map[string][]byte{
		"/sys/devices/system/cpu/online":   []byte(list),
		"/sys/devices/system/cpu/possible": []byte(list),
		"/sys/devices/system/cpu/present":  []byte(list),
		"/proc/cpuinfo":                    cpuInfo(n, hostCPUInfo),
		"/proc/stat":                       procStat(n),
	}
}

// cpuInfo makes /proc/cpuinfo for n CPUs from the host's: its first
// processor's block, renumbered, as n cores of one package.
func cpuInfo(n int, host []byte) []byte {
	first, _, _ := strings.Cut(string(host), "\n\n")
	var b strings.Builder
	for i := 0; i < n; i++ {
		for _, line := range strings.Split(first, "\n") {
			key, _, ok := strings.Cut(line, ":")
			if ok {
				switch strings.TrimSpace(key) {
				case "processor", "core id", "apicid", "initial apicid":
					line = key + ": " + fmt.Sprint(i)
				case "siblings", "cpu cores":
					line = key + ": " + fmt.Sprint(n)
				case "physical id":
					line = key + ": 0"
				}
			}
			b.WriteString(line)
			b.WriteByte('\n')
		}
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// procStat makes /proc/stat for n CPUs, every counter zero.
func procStat(n int) []byte {
	const zeros = " 0 0 0 0 0 0 0 0 0 0\n"
	var b strings.Builder
	b.WriteString("cpu " + zeros)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "cpu%d%s", i, zeros)
	}
	b.WriteString("intr 0\nctxt 0\n")
	fmt.Fprintf(&b, "btime %d\n", virtualBootTime)
	b.WriteString("processes 1\nprocs_running 1\nprocs_blocked 0\nsoftirq 0 0 0 0 0 0 0 0 0 0 0\n")
	return []byte(b.String())
}

func readHostCPUInfo() []byte {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return []byte("processor\t: 0\n")
	}
	return b
}
