//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package backup

import "os"

// flock does nothing where flock(2) is missing: there, stop the server before a restore.
func flock(*os.File, bool) error { return nil }
