package handlers

import (
	"context"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"tally/models"
	"tally/views"
)

func (h *Handlers) verifyMail(u *models.User) views.Mail {
	return views.VerifyMail(u.FirstName, h.link("/verify", models.PurposeVerify, u), h.cfg.VerifyTTL)
}

// Verify activates the account named by the link. It signs the account in only in the browser
// that registered it: anyone can register an account and send its link to someone else, and a
// link that signed in wherever it was opened would sign that person in as the sender, who could
// then read whatever they entered (login CSRF). Elsewhere the link confirms and asks to log in.
func (h *Handlers) Verify(c *fiber.Ctx) error {
	u, err := h.userFromToken(c.Query("token"), models.PurposeVerify)
	if err == nil && u.IsVerified() {
		err = models.ErrTokenInvalid
	}
	if isTokenError(err) {
		return h.linkProblem(c, models.PurposeVerify)
	} else if err != nil {
		return err
	}
	if err := models.ActivateUser(h.db, u, h.now()); err != nil {
		return err
	}
	if err := h.recordEvent(c, h.db, u.ID, models.EventEmailVerified, "", nil); err != nil {
		return err
	}
	if currentSession(c).getString(keyRegistered) != strconv.FormatUint(uint64(u.ID), 10) {
		if currentUser(c).IsAuthenticated() { // someone else's link: theirs to log in with
			h.flash(c, "The address "+u.Email+" is confirmed: its account can log in now.")
			return h.redirect(c, "/dashboard")
		}
		h.flash(c, "Your email address is confirmed. Log in to start using Tally.")
		return h.redirect(c, "/login")
	}
	if err := h.startSession(c, u, false, nil); err != nil {
		return err
	}
	h.flash(c, "Your email address is confirmed. Welcome to Tally!")
	return h.redirect(c, "/dashboard")
}

// sendVerification queues a fresh activation link for an account that was never verified.
func (h *Handlers) sendVerification(ctx context.Context, tx *gorm.DB, u *models.User) error {
	if u.IsVerified() {
		return nil
	}
	if ok, err := h.mailAllowed(tx, u.Email, models.MailVerify); !ok || err != nil {
		return err
	}
	return h.queueMail(ctx, tx, u, u.Email, models.MailVerify, h.verifyMail(u))
}
