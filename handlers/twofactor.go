package handlers

import (
	"bytes"
	"encoding/base64"
	"errors"
	"image/png"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"tally/account"
	"tally/config"
	"tally/models"
	"tally/views"
)

// Two-factor sign-in, the account's side: enrolment, recovery codes, turning it off, and the
// code asked for besides the password before what matters (step-up). The sign-in's side is in
// twofactor_login.go.

// keyEnrolSecret holds the secret of an enrolment in progress, sealed for its user: it becomes
// the account's only once a code from the app proves the app has it, so nobody is locked out by
// a secret their phone never stored.
const keyEnrolSecret = "2fa_enrol"

// twoFactorKeys derives the sealing and code-hashing keys. It runs on two-factor requests only
// and costs microseconds (two HKDF expansions and an AES key schedule), so nothing is kept.
func (h *Handlers) twoFactorKeys() (*models.TwoFactorKeys, error) {
	return models.NewTwoFactorKeys(h.cfg.Secret)
}

// twoFactorRequired says whether TALLY_REQUIRE_2FA applies to u.
func (h *Handlers) twoFactorRequired(u *models.User) bool {
	switch h.cfg.RequireTwoFactor {
	case config.RequireTwoFactorAll:
		return u.IsAuthenticated()
	case config.RequireTwoFactorStaff:
		return u.IsAdmin()
	}
	return false
}

// mustEnrol says whether u has to turn two-factor on (or add a passkey) before going further.
// A failed look-up holds the user back rather than let them through.
func (h *Handlers) mustEnrol(u *models.User) bool {
	if u.TwoFactor || !h.twoFactorRequired(u) {
		return false
	}
	has, err := h.hasSecondFactor(u)
	return err != nil || !has
}

// hasSecondFactor says whether signing in as u takes a second step after the password: an
// authenticator app, or a passkey (a passkey is something the user has, and one without user
// verification is accepted only as that step). Passkeys count only where they work: at a base
// URL where they are off, nobody could finish the step with one.
func (h *Handlers) hasSecondFactor(u *models.User) (bool, error) {
	if u.TwoFactor {
		return true, nil
	}
	if h.passkeys.wa == nil || !u.IsAuthenticated() {
		return false, nil
	}
	n, err := models.CountUserPasskeys(h.db, u.ID)
	return n > 0, err
}

// toEnrolment sends a user who must enrol to the enrolment page.
func (h *Handlers) toEnrolment(c *fiber.Ctx) error { return h.redirect(c, "/account/2fa") }

// enrolSecret is the secret of u's enrolment in progress, or "" when there is none; with start,
// a new one is made and kept in the session when there is none.
func (h *Handlers) enrolSecret(c *fiber.Ctx, u *models.User, start bool) (string, error) {
	k, err := h.twoFactorKeys()
	if err != nil {
		return "", err
	}
	ws := currentSession(c)
	if sealed, err := base64.RawStdEncoding.DecodeString(ws.getString(keyEnrolSecret)); err == nil && len(sealed) > 0 {
		if secret, err := k.Open(u.ID, sealed); err == nil {
			return secret, nil
		}
	}
	if !start {
		return "", nil
	}
	secret, err := models.NewTOTPSecret()
	if err != nil {
		return "", err
	}
	ws.set(keyEnrolSecret, base64.RawStdEncoding.EncodeToString(k.Seal(u.ID, secret)))
	return secret, nil
}

// groupKey writes a base32 key in groups of four, for typing.
func groupKey(key string) string {
	var b strings.Builder
	for i, r := range key {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// TwoFactorPage is /account/2fa: the state and management of two-factor sign-in, or its
// enrolment while it is off.
func (h *Handlers) TwoFactorPage(c *fiber.Ctx) error {
	return h.renderTwoFactor(c, fiber.StatusOK, views.TwoFactorPage{})
}

func (h *Handlers) renderTwoFactor(c *fiber.Ctx, status int, p views.TwoFactorPage) error {
	u := currentUser(c)
	var err error
	if p.Status, err = models.FindTwoFactorStatus(h.db, u.ID); err != nil {
		return err
	}
	p.Required = h.twoFactorRequired(u)
	if !p.Status.Enabled {
		secret, err := h.enrolSecret(c, u, true)
		if err != nil {
			return err
		}
		key, err := models.TOTPKey(u.Username, secret)
		if err != nil {
			return err
		}
		p.Key, p.URI, p.ServerTime = groupKey(secret), key.URL(), h.now()
	}
	return h.render(c, page{Title: "Two-factor sign-in", Status: status, Narrow: true, Body: views.TwoFactorView(p)})
}

// TwoFactorQR is the QR code of the enrolment in progress, as a PNG from this origin: the
// page's CSP allows images from here only, and the secret never leaves the server in a URL.
func (h *Handlers) TwoFactorQR(c *fiber.Ctx) error {
	u := currentUser(c)
	secret, err := h.enrolSecret(c, u, false)
	if err != nil {
		return err
	}
	if secret == "" || u.TwoFactor {
		return fiber.ErrNotFound
	}
	key, err := models.TOTPKey(u.Username, secret)
	if err != nil {
		return err
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "image/png")
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(buf.Bytes())
}

// errWrongCode answers a code that did not work, whatever the reason (wrong, used, too old).
const errWrongCode = "That code did not work. Codes work once: wait for the next one, or use a recovery code."

// EnableTwoFactor confirms an enrolment with a code from the app: only then is two-factor on,
// and the recovery codes are shown, once.
func (h *Handlers) EnableTwoFactor(c *fiber.Ctx) error {
	u := currentUser(c)
	if u.TwoFactor {
		return h.redirect(c, "/account/2fa")
	}
	secret, err := h.enrolSecret(c, u, false)
	if err != nil {
		return err
	}
	if secret == "" {
		h.flash(c, "Your setup had expired: here is a new key. Add it to your app, then enter its code.")
		return h.redirect(c, "/account/2fa")
	}
	var f views.Form
	code := models.NormalizeCode(form(c, "code"))
	step, ok := models.MatchTOTP(secret, code, h.now())
	switch {
	case code == "":
		f.AddError("code", "Enter the 6-digit code your app shows.")
	case !ok:
		f.AddError("code", "That code does not match. Check that the app shows a code for Tally and that your phone's clock is right, then enter the code it shows now.")
	}
	if !f.Valid() {
		return h.renderTwoFactor(c, fiber.StatusUnprocessableEntity, views.TwoFactorPage{Enrol: f})
	}
	k, err := h.twoFactorKeys()
	if err != nil {
		return err
	}
	codes := models.NewRecoveryCodes()
	err = models.Transaction(h.db, func(tx *gorm.DB) error {
		if err := models.EnableTwoFactor(tx, k, u, secret, step, codes, h.now()); err != nil {
			return err
		}
		if err := h.recordEvent(c, tx, u.ID, models.EventTwoFactorEnabled, "", nil); err != nil {
			return err
		}
		m := views.TwoFactorEnabledMail(u.FirstName, h.cfg.AbsURL("/password/forgot"))
		return h.queueMail(c.UserContext(), tx, u, u.Email, models.MailChanged, m)
	})
	if errors.Is(err, models.ErrTwoFactorOn) {
		return h.redirect(c, "/account/2fa")
	} else if err != nil {
		return err
	}
	h.outbox.Wake()
	currentSession(c).del(keyEnrolSecret)
	return h.render(c, page{Title: "Your recovery codes", Narrow: true, Body: views.RecoveryCodesView(codes, true)})
}

// RegenerateRecoveryCodes replaces the whole set of recovery codes, after the password and a
// code.
func (h *Handlers) RegenerateRecoveryCodes(c *fiber.Ctx) error {
	u := currentUser(c)
	if !u.TwoFactor {
		return h.redirect(c, "/account/2fa")
	}
	var f views.Form
	if err := h.confirmStepUp(c, &f, u); err != nil {
		return err
	}
	if !f.Valid() {
		return h.renderTwoFactor(c, fiber.StatusUnprocessableEntity, views.TwoFactorPage{Recovery: f})
	}
	k, err := h.twoFactorKeys()
	if err != nil {
		return err
	}
	codes := models.NewRecoveryCodes()
	err = models.Transaction(h.db, func(tx *gorm.DB) error {
		if err := models.ReplaceRecoveryCodes(tx, k, u.ID, codes, h.now()); err != nil {
			return err
		}
		return h.recordEvent(c, tx, u.ID, models.EventRecoveryCodesNew, "", nil)
	})
	if err != nil {
		return err
	}
	return h.render(c, page{Title: "Your recovery codes", Narrow: true, Body: views.RecoveryCodesView(codes, false)})
}

// DisableTwoFactor turns two-factor off, after the password and a code.
func (h *Handlers) DisableTwoFactor(c *fiber.Ctx) error {
	u := currentUser(c)
	if !u.TwoFactor {
		return h.redirect(c, "/account/2fa")
	}
	var f views.Form
	if err := h.confirmStepUp(c, &f, u); err != nil {
		return err
	}
	if !f.Valid() {
		return h.renderTwoFactor(c, fiber.StatusUnprocessableEntity, views.TwoFactorPage{Disable: f})
	}
	err := models.Transaction(h.db, func(tx *gorm.DB) error {
		_, err := account.DisableTwoFactor(c.UserContext(), tx, h.cfg, u, h.event(c, u.ID, "", "By the account's owner", nil), false)
		return err
	})
	if err != nil {
		return err
	}
	h.outbox.Wake()
	h.flash(c, "Two-factor sign-in is off.")
	return h.redirect(c, "/account/2fa")
}

// confirmStepUp checks the posted password and, with two-factor on, the posted code.
func (h *Handlers) confirmStepUp(c *fiber.Ctx, f *views.Form, u *models.User) error {
	if err := h.confirmPostedPassword(c, f, u); err != nil {
		return err
	}
	return h.confirmSecondFactor(c, f, u)
}

// confirmSecondFactor asks, when u has two-factor on, for a current code (or a recovery code)
// in the posted "code" field besides the password: what a stolen session or a password typed
// on a shared computer must not be enough for. Call it last: the code is checked, and spent,
// only when the rest of f is valid, so a form that fails for another reason leaves the code
// unused. A wrong code counts against the session like a wrong password.
func (h *Handlers) confirmSecondFactor(c *fiber.Ctx, f *views.Form, u *models.User) error {
	return h.confirmCode(c, f, u, form(c, "code"))
}

// confirmCode is confirmSecondFactor for a code already read (the JSON forms send theirs).
func (h *Handlers) confirmCode(c *fiber.Ctx, f *views.Form, u *models.User, code string) error {
	if !u.TwoFactor {
		return nil
	}
	if models.NormalizeCode(code) == "" {
		f.AddError("code", "Enter a code from your authenticator app, or a recovery code.")
		return nil
	}
	if !f.Valid() {
		return nil
	}
	res, err := h.useSecondFactor(c, u, code)
	if err != nil || res.ok {
		return err
	}
	f.AddError("code", errWrongCode)
	return h.wrongConfirmation(c, u, models.EventTwoFactorFailure, "Wrong code on "+c.Path())
}

// secondFactor is what a code did: ok when it was accepted; recovery when it was a recovery
// code, with left unused ones remaining.
type secondFactor struct {
	ok, recovery bool
	left         int64
}

// useSecondFactor spends code for u: an authenticator code of a step not used before, or an
// unused recovery code. Using a recovery code is recorded and mailed to the owner, in the
// transaction that marks it used.
func (h *Handlers) useSecondFactor(c *fiber.Ctx, u *models.User, raw string) (secondFactor, error) {
	k, err := h.twoFactorKeys()
	if err != nil {
		return secondFactor{}, err
	}
	code, now := models.NormalizeCode(raw), h.now()
	if models.IsTOTPCode(code) {
		ok, err := models.UseTOTP(h.db, k, u.ID, code, now)
		if errors.Is(err, models.ErrSealBroken) {
			// Sealed under another TALLY_SECRET: no code works until the secret is back or
			// two-factor is reset; the user is told their code did not work, the operator why.
			h.log.Error("two-factor secret does not open: was TALLY_SECRET changed?", "request_id", requestID(c), "user_id", u.ID)
			return secondFactor{}, nil
		}
		return secondFactor{ok: ok}, err
	}
	var res secondFactor
	err = models.Transaction(h.db, func(tx *gorm.DB) error {
		ok, left, err := models.UseRecoveryCode(tx, k, u.ID, code, now)
		if err != nil || !ok {
			return err
		}
		res = secondFactor{ok: true, recovery: true, left: left}
		if err := h.recordEvent(c, tx, u.ID, models.EventRecoveryCodeUsed, strconv.FormatInt(left, 10)+" left", nil); err != nil {
			return err
		}
		m := views.RecoveryCodeUsedMail(u.FirstName, left, h.cfg.AbsURL("/password/forgot"))
		return h.queueMail(c.UserContext(), tx, u, u.Email, models.MailChanged, m)
	})
	if res.recovery {
		h.outbox.Wake()
	}
	return res, err
}

// recoveryNotice is the message after a recovery code was used.
func recoveryNotice(left int64) string {
	switch left {
	case 0:
		return "You used your last recovery code. Make new ones now, on the two-factor page."
	case 1:
		return "You used a recovery code; 1 is left. Make new ones on the two-factor page."
	}
	return "You used a recovery code; " + strconv.FormatInt(left, 10) + " are left."
}
