package handlers

import (
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v2"

	"tally/backup"
	"tally/views"
)

// requireSuperuserFor follows requireStaff on pages only superusers may use: staff, who know
// the admin exists, get 403 with msg.
func (h *Handlers) requireSuperuserFor(msg string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if !currentUser(c).IsSuperuser {
			return fiber.NewError(fiber.StatusForbidden, msg)
		}
		return c.Next()
	}
}

// AdminBackups shows the schedule, the latest failure and the backups in the backup dir.
func (h *Handlers) AdminBackups(c *fiber.Ctx) error {
	v := views.AdminBackups{}
	if s := h.ops.backups; s != nil {
		sched, st := s.Schedule(), s.Status()
		v.Enabled, v.Dir, v.KeepDays = true, sched.Dir, int(sched.Keep.Hours()/24)
		v.At = fmt.Sprintf("%02d:%02d UTC", int(sched.At.Hours()), int(sched.At.Minutes())%60)
		v.Next = st.Next.UTC().Format("2006-01-02 15:04 UTC")
		if st.Last.Err != nil {
			v.LastError, v.LastErrorAt = st.Last.Err.Error(), st.Last.Started.UTC().Format("2006-01-02 15:04 UTC")
		}
		list, err := s.Backups()
		if err != nil {
			v.ListError = err.Error()
		}
		for _, b := range list {
			v.Backups = append(v.Backups, views.BackupRow{Name: b.Name, Created: b.Created.UTC().Format("2006-01-02 15:04:05"),
				Size: byteSize(b.Size), Verified: b.Verified, Sessions: b.Sessions, Rows: b.Rows, Problem: b.Err})
		}
	}
	return h.render(c, page{Title: "Backups", Body: views.AdminBackupsPage(v)})
}

// StartBackup makes a backup now and comes back to the page, which shows how it went.
func (h *Handlers) StartBackup(c *fiber.Ctx) error {
	s := h.ops.backups
	if s == nil {
		return fiber.NewError(fiber.StatusConflict, "Backups are off: set TALLY_BACKUP_DIR.")
	}
	info, err := s.BackUp(c.UserContext(), "started by "+currentUser(c).Username)
	switch {
	case errors.Is(err, backup.ErrBusy):
		h.flash(c, "A backup is being made already; it shows here once it is done.")
	case err != nil:
		// The page shows the failure; the scheduler has logged it.
	default:
		h.flash(c, fmt.Sprintf("Backup %s made and verified (%s).", info.Name, byteSize(info.Size)))
	}
	return h.redirect(c, "/admin/backups")
}

// byteSize is a size for people: 512 B, 14.2 MB.
func byteSize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
