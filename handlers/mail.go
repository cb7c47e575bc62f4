package handlers

import (
	"context"

	"gorm.io/gorm"

	"tally/mail"
	"tally/models"
	"tally/views"
)

// queueMail adds m to the outbox inside tx; the outbox sends it once tx has committed.
func (h *Handlers) queueMail(ctx context.Context, tx *gorm.DB, u *models.User, to, purpose string, m views.Mail) error {
	return mail.Queue(ctx, tx, u, to, purpose, m, h.now())
}

// mailAllowed applies the per-address mail limits.
func (h *Handlers) mailAllowed(tx *gorm.DB, to, purpose string) (bool, error) {
	return mail.Allowed(tx, h.cfg, to, purpose, h.now())
}
