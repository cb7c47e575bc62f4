package account

import (
	"context"
	"strconv"

	"gorm.io/gorm"

	"tally/config"
	"tally/mail"
	"tally/models"
	"tally/views"
)

// RemovePasskeys deletes every passkey of u inside tx, records ev (its UserID and Kind are set
// here; ActorID names the administrator who did it) and queues the notice to u. It returns how
// many there were; with none, nothing is recorded or sent. The admin and the command line
// remove them through here.
func RemovePasskeys(ctx context.Context, tx *gorm.DB, cfg config.Config, u *models.User, ev models.SecurityEvent) (int64, error) {
	n, err := models.DeleteUserPasskeys(tx, u.ID)
	if err != nil || n == 0 {
		return 0, err
	}
	ev.UserID, ev.Kind = u.ID, models.EventPasskeyRemoved
	if ev.Detail != "" {
		ev.Detail += ": "
	}
	ev.Detail += "all " + strconv.FormatInt(n, 10)
	if err := models.RecordEvent(tx, &ev); err != nil {
		return 0, err
	}
	m := views.PasskeyRemovedMail(u.FirstName, "", true, cfg.AbsURL("/password/forgot"))
	return n, mail.Queue(ctx, tx, u, u.Email, models.MailChanged, m, ev.CreatedAt)
}
