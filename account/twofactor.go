package account

import (
	"context"

	"gorm.io/gorm"

	"tally/config"
	"tally/mail"
	"tally/models"
	"tally/views"
)

// DisableTwoFactor turns u's two-factor sign-in off inside tx, records ev (its UserID and Kind
// are set here; ActorID names an administrator who did it) and queues the notice to u. It
// reports whether it was on; when it was not, nothing is recorded or sent. The user's own page,
// the admin and the command line all turn it off through here.
func DisableTwoFactor(ctx context.Context, tx *gorm.DB, cfg config.Config, u *models.User, ev models.SecurityEvent, byAdmin bool) (bool, error) {
	was, err := models.DisableTwoFactor(tx, u.ID)
	if err != nil || !was {
		return false, err
	}
	u.TwoFactor = false
	ev.UserID, ev.Kind = u.ID, models.EventTwoFactorDisabled
	if err := models.RecordEvent(tx, &ev); err != nil {
		return false, err
	}
	m := views.TwoFactorDisabledMail(u.FirstName, byAdmin, cfg.AbsURL("/password/forgot"))
	return true, mail.Queue(ctx, tx, u, u.Email, models.MailChanged, m, ev.CreatedAt)
}
