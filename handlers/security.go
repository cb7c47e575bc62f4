package handlers

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"tally/models"
	"tally/views"
)

// Sessions lists the signed-in user's sessions and marks this one.
func (h *Handlers) Sessions(c *fiber.Ctx) error {
	ss, err := models.UserSessions(h.db, currentUser(c).ID)
	if err != nil {
		return err
	}
	return h.render(c, page{Title: "Your sessions", Body: views.SessionsPage(ss, currentAuthSession(c).ID)})
}

// RevokeSession ends one of the user's sessions; ending this one signs out.
func (h *Handlers) RevokeSession(c *fiber.Ctx) error {
	u, id := currentUser(c), c.Params("id")
	err := models.EndUserSession(h.db, u.ID, id)
	if errors.Is(err, models.ErrNotFound) {
		return fiber.NewError(fiber.StatusNotFound, "That session does not exist or has already ended.")
	} else if err != nil {
		return err
	}
	if err := h.recordEvent(c, h.db, u.ID, models.EventSessionRevoked, "", nil); err != nil {
		return err
	}
	if id == currentAuthSession(c).ID {
		if err := currentSession(c).destroy(); err != nil {
			return err
		}
		return h.redirect(c, "/login?logged_out=1")
	}
	h.flash(c, "The session has been ended.")
	return h.redirect(c, "/account/sessions")
}

// RevokeOtherSessions ends every session of the user but this one.
func (h *Handlers) RevokeOtherSessions(c *fiber.Ctx) error {
	u := currentUser(c)
	n, err := models.EndUserSessions(h.db, u.ID, currentAuthSession(c).ID)
	if err != nil {
		return err
	}
	if n > 0 {
		if err := h.recordEvent(c, h.db, u.ID, models.EventSessionRevoked, "all other sessions", nil); err != nil {
			return err
		}
	}
	h.flash(c, "You are now signed out everywhere else.")
	return h.redirect(c, "/account/sessions")
}

// Security shows the user's passkeys and last 50 security events.
func (h *Handlers) Security(c *fiber.Ctx) error {
	return h.renderSecurity(c, fiber.StatusOK, views.PasskeysView{})
}

// renderSecurity renders the page with a refused passkey form (failed's Removal or Rename); htmx
// gets the passkeys section alone.
func (h *Handlers) renderSecurity(c *fiber.Ctx, status int, failed views.PasskeysView) error {
	es, err := models.UserEvents(h.db, currentUser(c).ID, 50)
	if err != nil {
		return err
	}
	pk, err := h.passkeysView(c, failed)
	if err != nil {
		return err
	}
	return h.render(c, page{Title: "Security activity", Status: status, Body: views.SecurityPage(es, pk),
		Fragment: views.PasskeysSection(pk)})
}
