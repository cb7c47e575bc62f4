package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// rssSampler records a process's peak resident memory during one scenario: VmHWM at the end
// after resetting it at the start (clear_refs 5), so each scenario gets its own peak rather than
// the process's lifetime peak, and VmRSS polled meanwhile. The poll is the measurement only
// where the reset is refused; otherwise it runs once a second, for the open descriptors, since
// frequent reads of /proc take the load generator's CPU (docs/performance.md).
type rssSampler struct {
	pid      int
	hwmReset bool
	peakKiB  int64
	peakFDs  int // open descriptors: mostly connections
	cpu0     cpuSnap
	stopc    chan struct{}
	done     chan struct{}
}

func sampleRSS(pid int) *rssSampler {
	r := &rssSampler{pid: pid, stopc: make(chan struct{}), done: make(chan struct{})}
	r.hwmReset = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
	r.cpu0 = readCPU(pid)
	go func() {
		defer close(r.done)
		every := time.Second
		if !r.hwmReset {
			every = 100 * time.Millisecond
		}
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			r.peakKiB = max(r.peakKiB, procStatusKiB(pid, "VmRSS"))
			if fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
				r.peakFDs = max(r.peakFDs, len(fds))
			}
			select {
			case <-r.stopc:
				return
			case <-tick.C:
			}
		}
	}()
	return r
}

// cpuUse is CPU time over a run, in cores: the server's (pid), the bench's own (load generator),
// everything else on the machine (other load), and steal: time the VM's host ran something
// else while this machine wanted its CPUs, which the run did not get.
type cpuUse struct {
	server, bench, other, steal float64
	serverFaults, benchFaults   int64 // minor page faults
}

// stop ends sampling and returns the peak RSS in MiB, the peak of open descriptors, and the
// CPU used meanwhile.
func (r *rssSampler) stop() (rssMiB float64, fds int, cpu cpuUse) {
	close(r.stopc)
	<-r.done
	peak := r.peakKiB
	if r.hwmReset {
		peak = max(peak, procStatusKiB(r.pid, "VmHWM"))
	}
	c := readCPU(r.pid)
	if total := c.total - r.cpu0.total; total > 0 {
		cores := func(ticks int64) float64 { return max(0, float64(ticks)/float64(total)*float64(runtime.NumCPU())) }
		cpu.server, cpu.bench = cores(c.server-r.cpu0.server), cores(c.self-r.cpu0.self)
		cpu.serverFaults, cpu.benchFaults = c.serverFlt-r.cpu0.serverFlt, c.selfFlt-r.cpu0.selfFlt
		cpu.steal = cores(c.steal - r.cpu0.steal)
		cpu.other = cores((c.busy - r.cpu0.busy) - (c.steal - r.cpu0.steal) - (c.self - r.cpu0.self) - (c.server - r.cpu0.server))
	}
	return float64(peak) / 1024, r.peakFDs, cpu
}

// cpuSnap holds clock ticks: the machine's busy, steal and total time (/proc/stat; steal is part
// of busy), this process's and pid's (/proc/<pid>/stat utime+stime; pid may be this process).
type cpuSnap struct{ busy, steal, total, self, server, selfFlt, serverFlt int64 }

func readCPU(pid int) cpuSnap {
	var s cpuSnap
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := strings.Cut(string(b), "\n")
		s.busy, s.steal, s.total = machineTicks(line)
	}
	s.self, s.selfFlt = procTicks(os.Getpid())
	if pid != os.Getpid() {
		s.server, s.serverFlt = procTicks(pid)
	}
	return s
}

// machineTicks reads the "cpu" line of /proc/stat: user nice system idle iowait irq softirq
// steal (guest time is already inside user). Busy is all but idle and iowait.
func machineTicks(line string) (busy, steal, total int64) {
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return 0, 0, 0
	}
	for i, f := range fields[1:] {
		if i >= 8 {
			break
		}
		n, _ := strconv.ParseInt(f, 10, 64)
		total += n
		if i != 3 && i != 4 {
			busy += n
		}
		if i == 7 {
			steal = n
		}
	}
	return busy, steal, total
}

func procTicks(pid int) (ticks, minflt int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0
	}
	// Fields after the command name, which may hold spaces and parentheses.
	f := strings.Fields(string(b[bytes.LastIndex(b, []byte(") "))+1:]))
	if len(f) < 13 {
		return 0, 0
	}
	flt, _ := strconv.ParseInt(f[7], 10, 64)
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return utime + stime, flt
}

// splitPeak returns pid's peak RSS (VmHWM) since its last reset, in MiB, and resets it; zero
// where the kernel refuses the reset.
func splitPeak(pid int) float64 {
	peak := procStatusKiB(pid, "VmHWM")
	if os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) != nil {
		return 0
	}
	return float64(peak) / 1024
}

func currentRSSMiB(pid int) float64 { return float64(procStatusKiB(pid, "VmRSS")) / 1024 }

// procStatusKiB reads one "Field:   123 kB" line of /proc/<pid>/status; 0 when unreadable.
func procStatusKiB(pid int, field string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if ok && name == field {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
