package handlers

import "syscall"

// lowerThreadPriority sets the calling OS thread's nice value to 10. On Linux a thread id
// given to setpriority affects that thread only.
func lowerThreadPriority() {
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), 10)
}
