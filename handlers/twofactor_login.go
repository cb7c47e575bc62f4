package handlers

import (
	"errors"
	"net/url"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"tally/models"
	"tally/views"
)

// The second step of a sign-in. After the right password of an account with two-factor on,
// nobody is signed in yet: the session holds a pending sign-in (who, since when, how many wrong
// codes, "keep me signed in", where to go next) and the form asks for a code. Only a right code
// renews the session id again and signs in. A pending sign-in lasts pendingTTL and survives
// pendingMaxFails wrong codes; then the password is asked for again.

// Session keys of a pending sign-in.
const (
	keyPendingUser     = "2fa_user"
	keyPendingAt       = "2fa_at"
	keyPendingFails    = "2fa_fails"
	keyPendingRemember = "2fa_remember"
	keyPendingNext     = "2fa_next"
)

var pendingKeys = []string{keyPendingUser, keyPendingAt, keyPendingFails, keyPendingRemember, keyPendingNext}

const (
	pendingTTL      = 5 * time.Minute
	pendingMaxFails = 5
)

type pendingSignIn struct {
	userID   uint
	at       time.Time
	fails    int
	remember bool
	next     string
}

// pendingSignIn reads the session's pending sign-in; nil when there is none.
func (h *Handlers) pendingSignIn(c *fiber.Ctx) *pendingSignIn {
	ws := currentSession(c)
	id, err := strconv.ParseUint(ws.getString(keyPendingUser), 10, 32)
	if err != nil || id == 0 {
		return nil
	}
	at, _ := strconv.ParseInt(ws.getString(keyPendingAt), 10, 64)
	fails, _ := strconv.Atoi(ws.getString(keyPendingFails))
	return &pendingSignIn{userID: uint(id), at: time.Unix(at, 0), fails: fails,
		remember: ws.getString(keyPendingRemember) != "", next: ws.getString(keyPendingNext)}
}

func (p *pendingSignIn) expired(now time.Time) bool {
	return now.Sub(p.at) > pendingTTL || p.at.After(now.Add(time.Minute))
}

func endPendingSignIn(ws *webSession) {
	for _, k := range pendingKeys {
		ws.del(k)
	}
}

// askForCode starts the second step for u, whose password was right: a new session id (a
// session id planted before the password was typed must not carry the pending sign-in), and
// nobody signed in meanwhile. The browser it came from, if signed in, is signed out, as a
// sign-in would.
func (h *Handlers) askForCode(c *fiber.Ctx, u *models.User, remember bool, next string) error {
	ws := currentSession(c)
	old := ws.getString(keyAuthSession)
	if err := ws.renew(); err != nil {
		return err
	}
	if old != "" {
		if err := models.EndAuthSession(h.db, old); err != nil {
			return err
		}
	}
	c.Locals(localUser, models.Anonymous())
	c.Locals(localAuthSession, nil)
	ws.set(keyPendingUser, strconv.FormatUint(uint64(u.ID), 10))
	ws.set(keyPendingAt, strconv.FormatInt(h.now().Unix(), 10))
	ws.set(keyPendingFails, "0")
	if remember {
		ws.set(keyPendingRemember, "1")
	}
	if next != "" {
		ws.set(keyPendingNext, next)
	}
	return nil
}

// secondStep checks the posted code of the pending sign-in. It returns the user it signed in
// (with a new session, like Login) and where they go next; or no user and the error on f (a
// wrong code); or no user and restart, a message for the password form: the pending sign-in is
// over (too old, too many wrong codes, locked) and the password comes first again.
func (h *Handlers) secondStep(c *fiber.Ctx, f *views.LoginCodeForm) (u *models.User, next, restart string, err error) {
	ws := currentSession(c)
	p := h.pendingSignIn(c)
	if p == nil || p.expired(h.now()) {
		if p != nil {
			next = p.next
		}
		endPendingSignIn(ws)
		return nil, next, "Signing in took too long. Enter your password again.", nil
	}
	code := form(c, "code")
	if models.NormalizeCode(code) == "" {
		f.AddError("code", "Enter the code from your authenticator app, or a recovery code.")
		return nil, "", "", nil
	}
	u, err = models.FindUser(h.db, p.userID)
	if errors.Is(err, models.ErrNotFound) || (err == nil && !u.IsActive) {
		endPendingSignIn(ws)
		return nil, p.next, "Enter your username and password again.", nil
	} else if err != nil {
		return nil, "", "", err
	}
	if second, err := h.hasSecondFactor(u); err != nil {
		return nil, "", "", err
	} else if !second {
		endPendingSignIn(ws)
		return nil, p.next, "Enter your username and password again.", nil
	}
	g, locked, err := h.guardUser(c, u)
	if err != nil {
		return nil, "", "", err
	}
	if locked {
		endPendingSignIn(ws)
		return nil, p.next, errLocked, nil
	}
	res, err := h.useSecondFactor(c, u, code)
	if err != nil {
		return nil, "", "", err
	}
	if !res.ok {
		p.fails++
		detail := "At sign-in, " + strconv.Itoa(p.fails) + " of " + strconv.Itoa(pendingMaxFails) + " in a row"
		if err := h.loginFailedAs(c, g, models.EventTwoFactorFailure, detail); err != nil {
			return nil, "", "", err
		}
		if p.fails >= pendingMaxFails {
			endPendingSignIn(ws)
			return nil, p.next, "Too many wrong codes. Enter your password again.", nil
		}
		ws.set(keyPendingFails, strconv.Itoa(p.fails))
		f.AddError("code", errWrongCode)
		return nil, "", "", nil
	}
	// startSession renews the session, which drops the pending sign-in with the rest.
	if err := h.startSession(c, u, p.remember, func(tx *gorm.DB) error { return h.loginSucceeded(c, tx, g, u) }); err != nil {
		return nil, "", "", err
	}
	if res.recovery {
		h.flash(c, recoveryNotice(res.left))
	}
	return u, p.next, "", nil
}

// afterSignIn is where a browser goes once signed in: enrolment first when TALLY_REQUIRE_2FA
// applies and two-factor is off, else next.
func (h *Handlers) afterSignIn(u *models.User, next string) string {
	if h.mustEnrol(u) {
		return "/account/2fa"
	}
	return safeNext(next, "/dashboard")
}

// LoginCodePage shows the code step to a browser without JavaScript (Login sends it here).
func (h *Handlers) LoginCodePage(c *fiber.Ctx) error {
	if currentUser(c).IsAuthenticated() {
		return h.redirect(c, "/dashboard")
	}
	if p := h.pendingSignIn(c); p == nil || p.expired(h.now()) {
		return h.redirect(c, "/login")
	}
	return h.renderLoginCode(c, fiber.StatusOK, views.LoginCodeForm{})
}

// renderLoginCode shows the second step: a code, or only the passkey for an account whose
// second factor is a passkey alone.
func (h *Handlers) renderLoginCode(c *fiber.Ctx, status int, f views.LoginCodeForm) error {
	if p := h.pendingSignIn(c); p != nil {
		u, err := models.FindUser(h.db, p.userID)
		if err != nil && !errors.Is(err, models.ErrNotFound) {
			return err
		}
		f.PasskeyOnly = err == nil && !u.TwoFactor
	}
	return h.render(c, page{Title: "Log in", Status: status, Narrow: true,
		Body: views.LoginCodePage(f), Fragment: views.LoginCodeFormView(f)})
}

// LoginCode is the code step's form (POST /login/2fa); it takes a recovery code too.
func (h *Handlers) LoginCode(c *fiber.Ctx) error {
	var f views.LoginCodeForm
	u, next, restart, err := h.secondStep(c, &f)
	if err != nil {
		return err
	}
	if restart != "" {
		// A page, not a fragment: the login form's token is gone with the step that renewed the
		// session, and the page the code form sits in still carries it.
		h.flash(c, restart)
		to := "/login"
		if next = safeNext(next, ""); next != "" {
			to += "?next=" + url.QueryEscape(next)
		}
		return h.redirect(c, to)
	}
	if u == nil {
		return h.renderLoginCode(c, fiber.StatusUnprocessableEntity, f)
	}
	return h.redirect(c, h.afterSignIn(u, next))
}
