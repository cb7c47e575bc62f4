package handlers

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"tally/account"
	"tally/models"
	"tally/views"
)

// Session keys: a reset token moved out of the URL; the id of the account this browser
// registered, which its verification link may sign in.
const (
	keyResetToken = "reset"
	keyRegistered = "registered"
)

// link is an absolute URL carrying a fresh token for u.
func (h *Handlers) link(path, purpose string, u *models.User) string {
	return account.TokenLink(h.cfg, path, purpose, u, h.now())
}

// userFromToken checks a token and returns the user it is valid for.
func (h *Handlers) userFromToken(token, purpose string) (*models.User, error) {
	p, err := h.tokens.Parse(token, purpose)
	if err != nil {
		return nil, err
	}
	ttl := h.cfg.ResetTTL
	if purpose == models.PurposeVerify {
		ttl = h.cfg.VerifyTTL
	}
	u, err := models.FindUser(h.db, p.UserID)
	if errors.Is(err, models.ErrNotFound) {
		return nil, models.ErrTokenInvalid
	} else if err != nil {
		return nil, err
	}
	return u, h.tokens.Verify(p, u, h.now(), ttl)
}

func isTokenError(err error) bool {
	return errors.Is(err, models.ErrTokenInvalid) || errors.Is(err, models.ErrTokenExpired)
}

func (h *Handlers) linkProblem(c *fiber.Ctx, purpose string) error {
	body := views.LinkProblem("This link does not work",
		"The link is incomplete, has expired, or was already used. Links work once, for a limited time.",
		"/password/forgot", "Send me a new reset link")
	if purpose == models.PurposeVerify {
		body = views.LinkProblem("This activation link does not work",
			"The link is incomplete, has expired, or was already used. If your account is active, just log in.",
			"/verify/resend", "Send me a new activation link")
	}
	return h.render(c, page{Title: "Link not valid", Status: fiber.StatusBadRequest, Narrow: true, Body: body})
}
