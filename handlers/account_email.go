package handlers

import (
	"context"
	"errors"
	"net/url"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"tally/models"
	"tally/views"
)

// confirmPostedPassword is confirmPassword for the "password" field of the posted form: the
// forms that ask the signed-in user for theirs (email change, export, deletion).
func (h *Handlers) confirmPostedPassword(c *fiber.Ctx, f *views.Form, u *models.User) error {
	var in struct {
		Password string `form:"password,raw"`
	}
	if err := decodeForm(c, &in); err != nil {
		return err
	}
	return h.confirmPassword(c, f, "password", in.Password, u)
}

// confirmPassword records an error on field unless password is u's current password. The check
// goes through the hashing gate like a login's. A wrong password counts against the session
// that typed it, and at the lockout threshold that session ends: a stolen session cookie buys
// only a few guesses, while nobody else's failures (guessing at the login form, a shared
// network) can keep the owner from these forms.
func (h *Handlers) confirmPassword(c *fiber.Ctx, f *views.Form, field, password string, u *models.User) error {
	if password == "" {
		f.AddError(field, "Enter your password.")
		return nil
	}
	var ok bool
	if len(password) <= 1024 {
		var err error
		if ok, err = h.checkPassword(c, u, password); err != nil {
			return err
		}
	}
	if ok {
		return nil
	}
	f.AddError(field, "Your password is not correct.")
	return h.wrongPasswordConfirmation(c, u)
}

// errGuessedInSession answers the wrong password that ended its session.
var errGuessedInSession = fiber.NewError(fiber.StatusUnauthorized,
	"Too many wrong passwords: this session has been signed out. Log in again to continue.")

// wrongPasswordConfirmation counts a wrong password against the current session, records it
// on the account, and ends the session at the lockout threshold (errGuessedInSession).
func (h *Handlers) wrongPasswordConfirmation(c *fiber.Ctx, u *models.User) error {
	return h.wrongConfirmation(c, u, models.EventLoginFailure, "Wrong password on "+c.Path())
}

// wrongConfirmation is wrongPasswordConfirmation for any wrong answer (a two-factor code, too):
// the session's wrong passwords and codes count together.
func (h *Handlers) wrongConfirmation(c *fiber.Ctx, u *models.User, kind, detail string) error {
	aid := currentAuthSession(c).ID
	n, err := h.recordFailure(c, h.now(), u, kind, detail, "session:"+aid)
	if err != nil || n < int64(h.cfg.LockoutThreshold) {
		return err
	}
	if err := models.EndAuthSession(h.db, aid); err != nil {
		return err
	}
	if err := h.recordEvent(c, h.db, u.ID, models.EventSessionRevoked, "After repeated wrong passwords", nil); err != nil {
		return err
	}
	if err := currentSession(c).destroy(); err != nil {
		return err
	}
	return errGuessedInSession
}

func (h *Handlers) EmailChangePage(c *fiber.Ctx) error {
	u := currentUser(c)
	return h.renderEmailChange(c, fiber.StatusOK, views.EmailChangeForm{Current: u.Email, TwoFactor: u.TwoFactor})
}

func (h *Handlers) renderEmailChange(c *fiber.Ctx, status int, f views.EmailChangeForm) error {
	return h.render(c, page{Title: "Change your email address", Status: status, Narrow: true,
		Body: views.EmailChangePage(f), Fragment: views.EmailChangeFormView(f)})
}

// ChangeEmail starts an address change: a link to the new address, a notice to the current
// one. The answer is the same whether or not the new address already has an account, so the
// form cannot be used to find out which addresses are registered.
func (h *Handlers) ChangeEmail(c *fiber.Ctx) error {
	u := currentUser(c)
	f := views.EmailChangeForm{Current: u.Email, TwoFactor: u.TwoFactor}
	if err := decodeForm(c, &f); err != nil {
		return err
	}
	f.NewEmail = models.NormalizeEmail(f.NewEmail)
	if f.NewEmail == "" {
		f.AddError("new_email", "Enter the new address.")
	} else if msg := models.ValidateEmail(f.NewEmail); msg != "" {
		f.AddError("new_email", msg)
	} else if f.NewEmail == u.Email {
		f.AddError("new_email", "This is already your address.")
	}
	if err := h.confirmStepUp(c, &f.Form, u); err != nil {
		return err
	}
	if !f.Valid() {
		return h.renderEmailChange(c, fiber.StatusUnprocessableEntity, f)
	}
	err := models.Transaction(h.db, func(tx *gorm.DB) error {
		if err := h.mailEmailChange(c.UserContext(), tx, u, f.NewEmail); err != nil {
			return err
		}
		return h.recordEvent(c, tx, u.ID, models.EventEmailChangeRequested, "To "+f.NewEmail, nil)
	})
	if err != nil {
		return err
	}
	h.outbox.Wake()
	sent := views.EmailChangeSent(f.NewEmail)
	return h.render(c, page{Title: "Check the new inbox", Narrow: true, Body: sent, Fragment: sent})
}

// mailEmailChange queues the notice to the current address and, when the new address is
// free, the confirmation link to it; when another account has it, that account gets a note
// instead and nothing changes.
func (h *Handlers) mailEmailChange(ctx context.Context, tx *gorm.DB, u *models.User, newEmail string) error {
	forgot := h.cfg.AbsURL("/password/forgot")
	if err := h.queueMail(ctx, tx, u, u.Email, models.MailChanged, views.EmailChangeNoticeMail(u.FirstName, newEmail, forgot)); err != nil {
		return err
	}
	other, err := models.FindUserByEmail(tx, newEmail)
	switch {
	case err == nil:
		if ok, err := h.mailAllowed(tx, newEmail, models.MailNotice); !ok || err != nil {
			return err
		}
		return h.queueMail(ctx, tx, other, newEmail, models.MailNotice, views.EmailInUseMail(other.FirstName, forgot))
	case errors.Is(err, models.ErrNotFound):
		if ok, err := h.mailAllowed(tx, newEmail, models.MailEmailChange); !ok || err != nil {
			return err
		}
		token := h.tokens.Make(u, models.PurposeEmailChange, newEmail, h.now())
		link := h.cfg.AbsURL("/account/email/confirm?token=" + url.QueryEscape(token))
		return h.queueMail(ctx, tx, u, newEmail, models.MailEmailChange, views.EmailChangeMail(u.FirstName, newEmail, link, h.cfg.VerifyTTL))
	default:
		return err
	}
}

// emailChangeFromToken checks an address change link and returns its user and new address.
// The token is bound to the account's address, so it stops working once the change is made.
func (h *Handlers) emailChangeFromToken(token string) (*models.User, string, error) {
	p, err := h.tokens.Parse(token, models.PurposeEmailChange)
	if err != nil {
		return nil, "", err
	}
	if models.ValidateEmail(p.Extra) != "" {
		return nil, "", models.ErrTokenInvalid
	}
	u, err := models.FindUser(h.db, p.UserID)
	if errors.Is(err, models.ErrNotFound) {
		return nil, "", models.ErrTokenInvalid
	} else if err != nil {
		return nil, "", err
	}
	// Verify also refuses the link of an account deactivated since: the token is bound to the
	// active flag.
	if err := h.tokens.Verify(p, u, h.now(), h.cfg.VerifyTTL); err != nil {
		return nil, "", err
	}
	return u, p.Extra, nil
}

// ConfirmEmailChange follows the link sent to the new address: the address changes and is
// marked verified. Whoever follows it owns the new inbox, so it needs no session.
func (h *Handlers) ConfirmEmailChange(c *fiber.Ctx) error {
	u, newEmail, err := h.emailChangeFromToken(c.Query("token"))
	if isTokenError(err) {
		return h.emailLinkProblem(c, "The link is incomplete, has expired, or was already used. Links work once, for a limited time.")
	} else if err != nil {
		return err
	}
	old := u.Email
	err = models.Transaction(h.db, func(tx *gorm.DB) error {
		if err := models.SetEmail(tx, u, newEmail, h.now()); err != nil {
			return err
		}
		return h.recordEvent(c, tx, u.ID, models.EventEmailChanged, "From "+old+" to "+newEmail, nil)
	})
	if errors.Is(err, models.ErrEmailTaken) {
		return h.emailLinkProblem(c, "Another account started using this address after you asked for the change, so your address stays as it was.")
	} else if err != nil {
		return err
	}
	// A privilege change: a browser signed in as the user gets a new session id.
	signedIn := currentUser(c).ID == u.ID
	if signedIn {
		if err := h.switchIdentity(c, 0); err != nil {
			return err
		}
	}
	h.flash(c, "Your email address is now "+newEmail+".")
	if signedIn {
		return h.redirect(c, "/profile")
	}
	return h.redirect(c, "/login")
}

func (h *Handlers) emailLinkProblem(c *fiber.Ctx, msg string) error {
	return h.render(c, page{Title: "Link not valid", Status: fiber.StatusBadRequest, Narrow: true,
		Body: views.LinkProblem("This confirmation link does not work", msg, "/account/email", "Ask for a new link")})
}
