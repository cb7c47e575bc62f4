package handlers

import (
	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"tally/models"
)

// recordEvent writes a security event about userID for the current request: its IP and
// device, and the acting staff member when one is impersonating or administering.
func (h *Handlers) recordEvent(c *fiber.Ctx, db *gorm.DB, userID uint, kind, detail string, actor *models.User) error {
	e := h.event(c, userID, kind, detail, actor)
	return models.RecordEvent(db, &e)
}

// event is the security event about userID for the current request, not yet recorded.
func (h *Handlers) event(c *fiber.Ctx, userID uint, kind, detail string, actor *models.User) models.SecurityEvent {
	if actor == nil {
		actor = impersonator(c)
	}
	e := models.SecurityEvent{
		UserID: userID, Kind: kind, Detail: detail, CreatedAt: h.now(),
		IP: h.clientIP(c), Device: models.DeviceName(c.Get(fiber.HeaderUserAgent)),
	}
	if actor != nil && actor.ID != 0 && actor.ID != userID {
		e.ActorID = &actor.ID
	}
	return e
}
