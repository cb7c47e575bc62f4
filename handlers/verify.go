package handlers

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"tally/models"
	"tally/views"
)

// A sign-up's link says which sign-up it confirms and which browser made it. The registration
// leaves a random key in its browser's session (keyRegistered) and signs into the link's token
// the sign-up (0: the account as it was created; else a models.Registration, a later sign-up
// for the same unconfirmed address) and the hash of that key. Opened in that browser, the link
// confirms the address and signs in. Opened anywhere else it first asks for the password that
// sign-up chose, and offers "this was not me": the owner of an address, who alone receives its
// links, then never confirms an account whose password somebody else chose (pre-hijacking), and
// a link sent to someone else signs nobody in as its sender (login CSRF). A link mailed again
// (resend, admin) names no browser and always asks: anyone may ask for it, for any address, so
// the browser that asked has chosen no password.

// verifyMail is a link for the account as it stands, opened anywhere with its password.
func (h *Handlers) verifyMail(u *models.User) views.Mail {
	return h.signUpMail(u, u.FirstName, "")
}

// signUpMail is the verification mail for a sign-up: extra is signUpExtra's, or "".
func (h *Handlers) signUpMail(u *models.User, name, extra string) views.Mail {
	token := h.tokens.Make(u, models.PurposeVerify, extra, h.now())
	return views.VerifyMail(name, h.cfg.AbsURL("/verify?token="+url.QueryEscape(token)), h.cfg.VerifyTTL)
}

// signUpExtra is what a registration's link carries besides the account: the sign-up (0 for
// the account itself) and the hash of the key in the registering browser's session.
func signUpExtra(registrationID uint, key string) string {
	return strconv.FormatUint(uint64(registrationID), 10) + "." + keyHash(key)
}

func keyHash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// signUp is what a valid verification link confirms.
type signUp struct {
	user *models.User
	reg  *models.Registration // nil: the account as it stands
	// browser is the hash of the registering browser's key; "" for a link mailed again.
	browser string
}

func (s *signUp) username() string {
	if s.reg != nil {
		return s.reg.Username
	}
	return s.user.Username
}

func (s *signUp) passwordHash() string {
	if s.reg != nil {
		return s.reg.PasswordHash
	}
	return s.user.PasswordHash
}

// signUpFromToken checks a verification link: its account must still be unconfirmed and the
// sign-up it names still kept.
func (h *Handlers) signUpFromToken(token string) (*signUp, error) {
	u, err := h.userFromToken(token, models.PurposeVerify)
	if err != nil {
		return nil, err
	}
	if u.IsVerified() {
		return nil, models.ErrTokenInvalid
	}
	p, err := h.tokens.Parse(token, models.PurposeVerify)
	if err != nil {
		return nil, err
	}
	s := &signUp{user: u}
	if p.Extra == "" {
		return s, nil
	}
	id, browser, _ := strings.Cut(p.Extra, ".")
	regID, err := strconv.ParseUint(id, 10, 32)
	if err != nil || browser == "" {
		return nil, models.ErrTokenInvalid
	}
	s.browser = browser
	if regID != 0 {
		s.reg, err = models.FindRegistration(h.db, u.ID, uint(regID))
		if errors.Is(err, models.ErrNotFound) {
			return nil, models.ErrTokenInvalid // another sign-up's link was followed, or "not me"
		} else if err != nil {
			return nil, err
		}
	}
	return s, nil
}

// openedWhereMade reports whether this browser made the sign-up.
func (s *signUp) openedWhereMade(c *fiber.Ctx) bool {
	key := currentSession(c).getString(keyRegistered)
	return s.browser != "" && key != "" && subtle.ConstantTimeCompare([]byte(keyHash(key)), []byte(s.browser)) == 1
}

// Verify follows a verification link: in the browser that signed up it confirms the address and
// signs in; anywhere else it asks for the sign-up's password first (ConfirmAddress).
func (h *Handlers) Verify(c *fiber.Ctx) error {
	token := c.Query("token")
	s, err := h.signUpFromToken(token)
	if isTokenError(err) {
		return h.linkProblem(c, models.PurposeVerify)
	} else if err != nil {
		return err
	}
	if s.openedWhereMade(c) {
		return h.confirmSignUp(c, s)
	}
	return h.renderConfirmSignUp(c, fiber.StatusOK, confirmSignUpForm(s, token))
}

func confirmSignUpForm(s *signUp, token string) views.ConfirmSignUpForm {
	return views.ConfirmSignUpForm{Token: token, Username: s.username(), Email: s.user.Email,
		CanReject: s.reg != nil || s.user.IsPending()}
}

func (h *Handlers) renderConfirmSignUp(c *fiber.Ctx, status int, f views.ConfirmSignUpForm) error {
	return h.render(c, page{Title: "Confirm your email address", Status: status, Narrow: true,
		Body: views.ConfirmSignUpPage(f), Fragment: views.ConfirmSignUpFormView(f)})
}

// ConfirmAddress answers the page Verify shows outside the registering browser: the sign-up's
// password confirms the address and signs in; "this was not me" removes the sign-up.
func (h *Handlers) ConfirmAddress(c *fiber.Ctx) error {
	var in struct {
		Token    string `form:"token"`
		NotMe    string `form:"not_me"`
		Password string `form:"password,raw"`
	}
	if err := decodeForm(c, &in); err != nil {
		return err
	}
	token := in.Token
	s, err := h.signUpFromToken(token)
	if isTokenError(err) {
		return h.linkProblem(c, models.PurposeVerify)
	} else if err != nil {
		return err
	}
	if in.NotMe != "" {
		return h.rejectSignUp(c, s)
	}
	f := confirmSignUpForm(s, token)
	password := in.Password
	ok := false
	if password == "" {
		f.AddError("password", "Enter the password you chose when you signed up.")
	} else if len(password) <= 1024 {
		if ok, err = h.checkPassword(c, &models.User{PasswordHash: s.passwordHash()}, password); err != nil {
			return err
		}
	}
	if !ok {
		f.AddError("password", "This is not the password chosen at sign-up.")
		return h.renderConfirmSignUp(c, fiber.StatusUnprocessableEntity, f)
	}
	return h.confirmSignUp(c, s)
}

// confirmSignUp confirms the address with the sign-up's username and password and signs in,
// unless an administrator deactivated the account: confirming never undoes that.
func (h *Handlers) confirmSignUp(c *fiber.Ctx, s *signUp) error {
	u := s.user
	err := models.Transaction(h.db, func(tx *gorm.DB) error {
		if err := models.ConfirmSignUp(tx, u, s.reg, h.now()); err != nil {
			return err
		}
		return h.recordEvent(c, tx, u.ID, models.EventEmailVerified, "", nil)
	})
	if errors.Is(err, models.ErrNotFound) {
		return h.linkProblem(c, models.PurposeVerify)
	} else if errors.Is(err, models.ErrUsernameTaken) {
		return h.render(c, page{Title: "Link not valid", Status: fiber.StatusConflict, Narrow: true,
			Body: views.LinkProblem("This username was taken", "Someone else took the username "+s.username()+
				" after you signed up. Sign up again with another one.", "/register", "Sign up again")})
	} else if err != nil {
		return err
	}
	if !u.IsActive {
		h.flash(c, "Your email address is confirmed, but this account has been deactivated. Contact the administrator of this Tally.")
		return h.redirect(c, "/login")
	}
	if err := h.startSession(c, u, false, nil); err != nil {
		return err
	}
	h.flash(c, "Your email address is confirmed. Welcome to Tally!")
	return h.redirect(c, "/dashboard")
}

// rejectSignUp removes the sign-up whose link was opened: a later one on its own, or the
// account while it waits for its first confirmation.
func (h *Handlers) rejectSignUp(c *fiber.Ctx, s *signUp) error {
	err := models.Transaction(h.db, func(tx *gorm.DB) error {
		if s.reg != nil {
			return models.DeleteRegistration(tx, s.reg)
		}
		return models.DeleteUnconfirmedAccount(tx, s.user)
	})
	if errors.Is(err, models.ErrNotFound) {
		return h.linkProblem(c, models.PurposeVerify)
	} else if err != nil {
		return err
	}
	h.forgetDeletedPages(s.user.ID) // nothing of the sign-up, the address included, stays in a WAL
	done := views.SignUpRemoved()
	return h.render(c, page{Title: "Sign-up removed", Narrow: true, Body: done, Fragment: done})
}

// sendVerification queues a fresh activation link for an account that was never verified and
// that no administrator deactivated: confirming would not let it in, so it gets nothing, as
// "forgot password" sends a deactivated account nothing.
func (h *Handlers) sendVerification(ctx context.Context, tx *gorm.DB, u *models.User) error {
	if u.IsVerified() || u.Deactivated {
		return nil
	}
	if ok, err := h.mailAllowed(tx, u.Email, models.MailVerify); !ok || err != nil {
		return err
	}
	return h.queueMail(ctx, tx, u, u.Email, models.MailVerify, h.verifyMail(u))
}
