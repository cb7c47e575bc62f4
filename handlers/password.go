package handlers

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"tally/account"
	"tally/models"
	"tally/views"
)

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
		// Checked before it is kept: a forged link must not cost a session row.
		if _, err := h.userFromToken(token, models.PurposeReset); isTokenError(err) {
			return h.linkProblem(c, models.PurposeReset)
		} else if err != nil {
			return err
		}
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
	var in struct {
		Password string `form:"password,raw"`
		Confirm  string `form:"password_confirm,raw"`
	}
	if err := decodeForm(c, &in); err != nil {
		return err
	}
	password := in.Password
	checkNewPassword(&f.Form, "password", "password_confirm", password, in.Confirm, u.Attrs())
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
	return h.renderPassword(c, fiber.StatusOK, views.PasswordForm{Change: true, TwoFactor: currentUser(c).TwoFactor})
}

// ChangePassword changes the signed-in user's password after checking the current one. The
// current session stays, with a new id; every other session ends.
func (h *Handlers) ChangePassword(c *fiber.Ctx) error {
	u := currentUser(c)
	f := views.PasswordForm{Change: true, TwoFactor: u.TwoFactor}
	var in struct {
		Current string `form:"current_password,raw"`
		New     string `form:"new_password,raw"`
		Confirm string `form:"new_password_confirm,raw"`
	}
	if err := decodeForm(c, &in); err != nil {
		return err
	}
	password := in.New
	if err := h.confirmPassword(c, &f.Form, "current_password", in.Current, u); err != nil {
		return err
	}
	checkNewPassword(&f.Form, "new_password", "new_password_confirm", password, in.Confirm, u.Attrs())
	if err := h.confirmSecondFactor(c, &f.Form, u); err != nil {
		return err
	}
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
