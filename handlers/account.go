package handlers

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

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

func (h *Handlers) verifyMail(u *models.User) views.Mail {
	return views.VerifyMail(u.FirstName, h.link("/verify", models.PurposeVerify, u), h.cfg.VerifyTTL)
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

// emailFormHandlers serve the resend and forgot forms: same page whatever the address.
func (h *Handlers) emailForm(p views.EmailFormPage, what string, send func(ctx context.Context, tx *gorm.DB, u *models.User) error) (get, post fiber.Handler) {
	render := func(c *fiber.Ctx, status int, f views.EmailForm) error {
		return h.render(c, page{Title: p.Heading, Status: status, Narrow: true,
			Body: views.EmailFormView(p, f), Fragment: views.EmailFormFragment(p, f)})
	}
	get = func(c *fiber.Ctx) error { return render(c, fiber.StatusOK, views.EmailForm{}) }
	post = func(c *fiber.Ctx) error {
		f := views.EmailForm{Email: models.NormalizeEmail(form(c, "email"))}
		if f.Email == "" {
			f.AddError("email", "Enter your email address.")
		} else if msg := models.ValidateEmail(f.Email); msg != "" {
			f.AddError("email", msg)
		}
		if !f.Valid() {
			return render(c, fiber.StatusUnprocessableEntity, f)
		}
		// The answer must not tell whether the address has an account, by its words or by its
		// time: the lookup and the mail (a durable write) happen after it.
		email := f.Email
		if !h.later.add(p.ID, func() error { return h.mailIfAccount(email, send) }) {
			h.log.Warn("mail request turned away: too much work waiting", "form", p.ID)
		}
		done := views.MailSent(p.ID, f.Email, what)
		return h.render(c, page{Title: "Check your inbox", Narrow: true, Body: done, Fragment: done})
	}
	return get, post
}

// mailIfAccount runs send for the account with this address, if there is one.
func (h *Handlers) mailIfAccount(email string, send func(ctx context.Context, tx *gorm.DB, u *models.User) error) error {
	err := models.Transaction(h.db, func(tx *gorm.DB) error {
		u, err := models.FindUserByEmail(tx, email)
		if errors.Is(err, models.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		return send(context.Background(), tx, u)
	})
	if err == nil {
		h.outbox.Wake()
	}
	return err
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

// sendReset queues a reset link for an active account.
func (h *Handlers) sendReset(ctx context.Context, tx *gorm.DB, u *models.User) error {
	if !u.IsActive {
		return nil
	}
	if ok, err := h.mailAllowed(tx, u.Email, models.MailReset); !ok || err != nil {
		return err
	}
	return h.queueMail(ctx, tx, u, u.Email, models.MailReset, h.resetMail(u))
}

func (h *Handlers) resetMail(u *models.User) views.Mail {
	return views.ResetMail(u.FirstName, h.link("/password/reset", models.PurposeReset, u), h.cfg.ResetTTL)
}

// ResetPage moves a token from the URL into the session and redirects, so it cannot leak
// through Referer or history; then it shows the form if the token is still good.
func (h *Handlers) ResetPage(c *fiber.Ctx) error {
	if token := c.Query("token"); token != "" {
		currentSession(c).set(keyResetToken, strings.Clone(token))
		return c.Redirect("/password/reset", fiber.StatusSeeOther)
	}
	if u, err := h.resetUser(c); u == nil {
		return err
	}
	return h.renderPassword(c, fiber.StatusOK, views.PasswordForm{})
}

// resetUser returns the user of the session's reset token; without one it has rendered the
// link problem page (or failed) and returns a nil user.
func (h *Handlers) resetUser(c *fiber.Ctx) (*models.User, error) {
	u, err := h.userFromToken(currentSession(c).getString(keyResetToken), models.PurposeReset)
	if isTokenError(err) {
		currentSession(c).del(keyResetToken)
		return nil, h.linkProblem(c, models.PurposeReset)
	}
	return u, err
}

func (h *Handlers) renderPassword(c *fiber.Ctx, status int, f views.PasswordForm) error {
	title := "Choose a new password"
	if f.Change {
		title = "Change your password"
	}
	return h.render(c, page{Title: title, Status: status, Narrow: true,
		Body: views.PasswordPage(f), Fragment: views.PasswordFormView(f)})
}

// Reset sets a new password from a reset link. It ends every session of the user, never signs
// anyone in, and tells the owner by mail.
func (h *Handlers) Reset(c *fiber.Ctx) error {
	u, err := h.resetUser(c)
	if u == nil {
		return err
	}
	var f views.PasswordForm
	password := form(c, "password")
	checkNewPassword(&f.Form, "password", "password_confirm", password, form(c, "password_confirm"), u.Attrs())
	if !f.Valid() {
		return h.renderPassword(c, fiber.StatusUnprocessableEntity, f)
	}
	if err := h.setPassword(c, u, password, "", models.EventPasswordReset); err != nil {
		return err
	}
	// A reset proves control of the mailbox: it lifts a lockout of the account.
	if err := models.ClearKey(h.db, models.UserKey(u)); err != nil {
		return err
	}
	currentSession(c).del(keyResetToken)
	h.flash(c, "Your password has been changed. Log in with the new one.")
	return h.redirect(c, "/login")
}

// setPassword stores the new password, ends the user's sessions except keep, records the event
// and queues the notice, in one transaction (account.SetPassword, which the command line uses
// too).
func (h *Handlers) setPassword(c *fiber.Ctx, u *models.User, password, keep, event string) error {
	hash, err := h.hashPassword(c, password)
	if err != nil {
		return err
	}
	if _, err := account.SetPassword(c.UserContext(), h.db, h.cfg, u, hash, keep, h.event(c, u.ID, event, "", nil)); err != nil {
		return err
	}
	h.outbox.Wake()
	return nil
}

func (h *Handlers) ChangePasswordPage(c *fiber.Ctx) error {
	return h.renderPassword(c, fiber.StatusOK, views.PasswordForm{Change: true})
}

// ChangePassword changes the signed-in user's password after checking the current one. The
// current session stays, with a new id; every other session ends.
func (h *Handlers) ChangePassword(c *fiber.Ctx) error {
	u := currentUser(c)
	f := views.PasswordForm{Change: true}
	password := form(c, "new_password")
	if err := h.confirmPassword(c, &f.Form, "current_password", form(c, "current_password"), u); err != nil {
		return err
	}
	checkNewPassword(&f.Form, "new_password", "new_password_confirm", password, form(c, "new_password_confirm"), u.Attrs())
	if !f.Valid() {
		return h.renderPassword(c, fiber.StatusUnprocessableEntity, f)
	}
	ws := currentSession(c)
	if err := h.setPassword(c, u, password, ws.getString(keyAuthSession), models.EventPasswordChange); err != nil {
		return err
	}
	if err := h.switchIdentity(c, 0); err != nil {
		return err
	}
	h.flash(c, "Your password has been changed. Your other sessions were signed out.")
	return h.redirect(c, "/dashboard")
}
