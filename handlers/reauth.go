package handlers

import (
	"encoding/json"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"tally/models"
	"tally/views"
)

// Signing in again in place. A session can end under an open page (idle or absolute limit,
// revoked from another device); the htmx request that meets the end is answered 401 with a
// sign-in dialog instead of a redirect to the login page, which would throw away the page and
// whatever was typed on it. static/app.js holds that request, opens the dialog, and sends the
// request again once the page's own user has signed in through LoginAgain. Without JavaScript
// there are no htmx requests, and a form meets the login page as before.

// signedInEvent is the HX-Trigger event of a sign-in from the dialog.
const signedInEvent = "tally:signed-in"

// askToSignInAgain answers an htmx request that needs a session it no longer has. The dialog's
// username is left for app.js to fill from the page, which shows it already: the server keeps
// nothing about who the browser was, so the dialog tells another person at this browser no
// more than the page it appears on.
func (h *Handlers) askToSignInAgain(c *fiber.Ctx) error {
	c.Set("HX-Retarget", "#reauth")
	c.Set("HX-Reswap", "innerHTML")
	f := views.LoginForm{Next: safeNext(currentPage(c), ""), RememberOffered: h.cfg.RememberMe}
	return h.render(c, page{Status: fiber.StatusUnauthorized, Fragment: views.ReauthDialog(f)})
}

// LoginAgain signs in from the dialog exactly as Login does (throttling, the hash gate, a new
// session and CSRF token), and answers htmx with the event that carries the new token and who
// signed in: app.js sends the held requests only when that is the page's user. A failed
// sign-in redraws the dialog's form; without JavaScript it is the login page.
func (h *Handlers) LoginAgain(c *fiber.Ctx) error {
	if c.FormValue("step") == "code" {
		return h.loginAgainCode(c)
	}
	f, password, err := h.loginForm(c)
	if err != nil {
		return err
	}
	var user *models.User
	if f.Valid() {
		u, guard, err := h.authenticate(c, &f, password)
		if err != nil {
			return err
		}
		second := false
		if u != nil {
			if second, err = h.hasSecondFactor(u); err != nil {
				return err
			}
		}
		if second {
			// The dialog's second step: its form becomes the code's (or the passkey's).
			if err := h.askForCode(c, u, f.Remember, f.Next); err != nil {
				return err
			}
			if !isHTMX(c) {
				return c.Redirect("/login/2fa", fiber.StatusSeeOther)
			}
			return h.render(c, page{Fragment: views.ReauthCodeFormView(views.LoginCodeForm{PasskeyOnly: !u.TwoFactor})})
		}
		if u != nil {
			err = h.startSession(c, u, f.Remember, func(tx *gorm.DB) error { return h.loginSucceeded(c, tx, guard, u) })
			if err != nil {
				return err
			}
			user = u
		}
	}
	if user == nil {
		return h.renderReauthLogin(c, f)
	}
	return h.signedInAgain(c, user, f.Next)
}

func (h *Handlers) renderReauthLogin(c *fiber.Ctx, f views.LoginForm) error {
	return h.render(c, page{Title: "Log in", Status: fiber.StatusUnprocessableEntity, Narrow: true,
		Body: views.LoginPage(f), Fragment: views.ReauthFormView(f)})
}

// loginAgainCode is the dialog's second step: the code of the pending sign-in (secondStep).
// When the pending sign-in is over, the dialog asks for the password again.
func (h *Handlers) loginAgainCode(c *fiber.Ctx) error {
	var f views.LoginCodeForm
	user, next, restart, err := h.secondStep(c, &f)
	if err != nil {
		return err
	}
	if restart != "" {
		lf := views.LoginForm{Next: safeNext(next, ""), RememberOffered: h.cfg.RememberMe}
		lf.NonFieldError = restart
		return h.renderReauthLogin(c, lf)
	}
	if user == nil {
		return h.render(c, page{Title: "Log in", Status: fiber.StatusUnprocessableEntity, Narrow: true,
			Body: views.LoginCodePage(f), Fragment: views.ReauthCodeFormView(f)})
	}
	return h.signedInAgain(c, user, next)
}

// signedInAgain answers a sign-in from the dialog: htmx gets the event with the new token and
// the user; a browser without JavaScript goes on to next.
func (h *Handlers) signedInAgain(c *fiber.Ctx, user *models.User, next string) error {
	if !isHTMX(c) {
		return c.Redirect(h.afterSignIn(user, next), fiber.StatusSeeOther)
	}
	event, err := json.Marshal(map[string]any{signedInEvent: map[string]any{
		"csrf": currentSession(c).csrfToken(), "user": user.ID,
	}})
	if err != nil {
		return err
	}
	c.Set("HX-Trigger", string(event))
	return c.SendStatus(fiber.StatusNoContent)
}
