// Package account holds the operations on a user's account that the pages and the command line
// both perform, so the two paths cannot drift apart: the same rows written, the same event
// recorded, the same mail queued.
package account

import (
	"context"
	"net/url"
	"time"

	"gorm.io/gorm"

	"tally/config"
	"tally/mail"
	"tally/models"
	"tally/views"
)

// TokenLink is an absolute URL to path carrying a fresh token for u.
func TokenLink(cfg config.Config, path, purpose string, u *models.User, now time.Time) string {
	token := models.Tokens{Secret: cfg.Secret}.Make(u, purpose, "", now)
	return cfg.AbsURL(path + "?token=" + url.QueryEscape(token))
}

// SetPassword stores a new password hash for u, ends every session of u except keep (an auth
// session id, or "" for all), records ev (its UserID is set here) and queues the "your password
// was changed" notice, in one transaction. It returns how many sessions ended. The caller wakes
// the outbox if it has one; a running server's outbox finds the mail within a minute otherwise.
func SetPassword(ctx context.Context, db *gorm.DB, cfg config.Config, u *models.User, hash, keep string, ev models.SecurityEvent) (ended int64, err error) {
	err = models.Transaction(db, func(tx *gorm.DB) error {
		if err := models.SetPassword(tx, u, hash); err != nil {
			return err
		}
		ev.UserID = u.ID
		if err := models.RecordEvent(tx, &ev); err != nil {
			return err
		}
		if ended, err = models.EndUserSessions(tx, u.ID, keep); err != nil {
			return err
		}
		m := views.PasswordChangedMail(u.FirstName, cfg.AbsURL("/password/forgot"))
		return mail.Queue(ctx, tx, u, u.Email, models.MailChanged, m, ev.CreatedAt)
	})
	return ended, err
}
