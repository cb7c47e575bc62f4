//go:build !linux

package handlers

// lowerThreadPriority is a no-op where threads have no nice value of their own.
func lowerThreadPriority() {}
