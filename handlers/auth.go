package handlers

import (
	"cmp"
	"context"
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"
	"gorm.io/gorm"

	"tally/models"
	"tally/views"
)

func (h *Handlers) RegisterPage(c *fiber.Ctx) error {
	if currentUser(c).IsAuthenticated() {
		return h.redirect(c, "/dashboard")
	}
	return h.renderRegister(c, fiber.StatusOK, views.RegisterForm{})
}

func (h *Handlers) renderRegister(c *fiber.Ctx, status int, f views.RegisterForm) error {
	return h.render(c, page{Title: "Create account", Status: status, Narrow: true,
		Body: views.RegisterPage(f), Fragment: views.RegisterFormView(f)})
}

// keyRegisteredEmail keeps the address a browser registered, for the page after the redirect.
const keyRegisteredEmail = "registered_email"

// Register validates the form and creates the account; any problem answers 422 with every
// error beside its field and nothing stored.
func (h *Handlers) Register(c *fiber.Ctx) error {
	var in struct {
		views.RegisterForm
		Password string `form:"password,raw"`
		Confirm  string `form:"password_confirm,raw"`
	}
	if err := decodeForm(c, &in); err != nil {
		return err
	}
	f, password := in.RegisterForm, in.Password
	f.Email = models.NormalizeEmail(f.Email)
	validateRegistration(&f, password, in.Confirm)
	if f.Valid() {
		// The key this browser keeps to show that it made the sign-up (see verify.go). It is
		// stored whatever the address: for one that has an account it is worth nothing, but an
		// answer that set a session only for new addresses would tell them apart by its headers.
		key := randomToken(32)
		err := h.register(c, f, password, key)
		if errors.Is(err, models.ErrUsernameTaken) {
			f.AddError("username", "This username is taken. Try another one.")
		} else if err != nil {
			return err
		} else {
			ws := currentSession(c)
			ws.set(keyRegistered, key)
			ws.set(keyRegisteredEmail, f.Email)
		}
	}
	if !f.Valid() {
		return h.renderRegister(c, fiber.StatusUnprocessableEntity, f)
	}
	h.outbox.Wake()
	if isHTMX(c) {
		return h.render(c, page{Fragment: views.RegisterDone(f.Email)})
	}
	return c.Redirect("/register/done", fiber.StatusSeeOther)
}

// register creates an inactive account and queues its verification mail in one transaction;
// key is the registering browser's (see verify.go). An address that already has an account
// gets a mail instead of an error, so the form never reveals which addresses are registered;
// the password is hashed either way, so neither does the response time. A taken username is
// refused before the address is looked at: usernames are public, addresses are not, so the
// answer to a taken username is the same whatever the address.
func (h *Handlers) register(c *fiber.Ctx, f views.RegisterForm, password, key string) error {
	hash, err := h.hashPassword(c, password)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	n := models.NewUser{Username: f.Username, Email: f.Email, FirstName: f.FirstName, LastName: f.LastName, PasswordHash: hash}
	return models.Transaction(h.db, func(tx *gorm.DB) error {
		if taken, err := models.UsernameTaken(tx, f.Username); err != nil || taken {
			return cmp.Or(err, models.ErrUsernameTaken)
		}
		existing, err := models.FindUserByEmail(tx, f.Email)
		if err == nil {
			return h.mailExistingAccount(ctx, tx, existing, n, key)
		}
		if !errors.Is(err, models.ErrNotFound) {
			return err
		}
		u, err := models.CreateUser(tx, n, h.now())
		if errors.Is(err, models.ErrEmailTaken) {
			return nil // registered by a concurrent request: the same answer, no second mail
		} else if err != nil {
			return err
		}
		return h.queueMail(ctx, tx, u, u.Email, models.MailVerify, h.signUpMail(u, u.FirstName, signUpExtra(0, key)))
	})
}

// mailExistingAccount answers a registration for a registered address. A deactivated account
// gets a note without a reset link (like "forgot password", which sends it nothing); an active
// one a note with a reset link. An account never confirmed gets the new sign-up n, kept beside
// it, and its link: following that link makes n the account (see verify.go), so a first
// sign-up by somebody other than the address's owner cannot keep the address. All are rate
// limited.
func (h *Handlers) mailExistingAccount(ctx context.Context, tx *gorm.DB, u *models.User, n models.NewUser, key string) error {
	purpose := models.MailNotice
	if !u.Deactivated && !u.IsVerified() {
		purpose = models.MailVerify
	}
	if ok, err := h.mailAllowed(tx, u.Email, purpose); !ok || err != nil {
		return err
	}
	var m views.Mail
	switch {
	case u.Deactivated:
		m = views.DeactivatedAccountExistsMail(u.FirstName)
	case !u.IsVerified():
		now := h.now()
		r, err := models.AddRegistration(tx, u, n, now, now.Add(-h.cfg.VerifyTTL))
		if err != nil {
			return err
		}
		m = h.signUpMail(u, n.FirstName, signUpExtra(r.ID, key))
	default:
		m = views.AccountExistsMail(u.FirstName, h.link("/password/reset", models.PurposeReset, u), h.cfg.ResetTTL)
	}
	return h.queueMail(ctx, tx, u, u.Email, purpose, m)
}

func validateRegistration(f *views.RegisterForm, password, confirm string) {
	if f.Username == "" {
		f.AddError("username", "Choose a username.")
	} else if msg := models.ValidateUsername(f.Username); msg != "" {
		f.AddError("username", msg)
	}
	if f.Email == "" {
		f.AddError("email", "Enter your email address.")
	} else if msg := models.ValidateEmail(f.Email); msg != "" {
		f.AddError("email", msg)
	}
	for name, v := range map[string]string{"first_name": f.FirstName, "last_name": f.LastName} {
		if msg := models.CheckText(v, 150); msg != "" {
			f.AddError(name, msg)
		}
	}
	checkNewPassword(&f.Form, "password", "password_confirm", password, confirm, models.UserAttrs{
		Username: f.Username, Email: f.Email, FirstName: f.FirstName, LastName: f.LastName,
	})
}

// checkNewPassword applies the password validators and the confirmation to a pair of fields.
func checkNewPassword(f *views.Form, field, confirmField, password, confirm string, attrs models.UserAttrs) {
	if password == "" {
		f.AddError(field, "Choose a password.")
	} else if problems := models.ValidatePassword(password, attrs); len(problems) > 0 {
		f.AddError(field, strings.Join(problems, " "))
	}
	if confirm != password {
		f.AddError(confirmField, "The two passwords do not match.")
	}
}

// RegisterDonePage shows the address this browser registered, kept in its session by
// Register: an address taken from the URL would let anyone put words on this page.
func (h *Handlers) RegisterDonePage(c *fiber.Ctx) error {
	email := currentSession(c).getString(keyRegisteredEmail)
	if email == "" {
		return h.redirect(c, "/register")
	}
	return h.render(c, page{Title: "Account created", Narrow: true, Body: views.RegisterDone(email)})
}

func (h *Handlers) LoginPage(c *fiber.Ctx) error {
	next := safeNext(c.Query("next"), "")
	if currentUser(c).IsAuthenticated() {
		return h.redirect(c, safeNext(next, "/dashboard"))
	}
	f := views.LoginForm{Next: next, RememberOffered: h.cfg.RememberMe}
	if c.Query("logged_out") != "" {
		f.Notice = "You have been logged out."
	}
	return h.renderLogin(c, fiber.StatusOK, f)
}

func (h *Handlers) renderLogin(c *fiber.Ctx, status int, f views.LoginForm) error {
	return h.render(c, page{Title: "Log in", Status: status, Narrow: true,
		Body: views.LoginPage(f), Fragment: views.LoginFormView(f)})
}

// loginForm reads and checks the fields of a sign-in (the login page and the sign-in dialog).
// The password is returned apart: it never goes back into a page.
func (h *Handlers) loginForm(c *fiber.Ctx) (views.LoginForm, string, error) {
	var in struct {
		views.LoginForm
		Password string `form:"password,raw"`
	}
	if err := decodeForm(c, &in); err != nil {
		return views.LoginForm{}, "", err
	}
	f, password := in.LoginForm, in.Password
	f.Next = safeNext(f.Next, "")
	f.Remember = h.cfg.RememberMe && f.Remember
	f.RememberOffered = h.cfg.RememberMe
	f.Check(f.Login != "", "login", "Enter your username or email.")
	f.Check(password != "", "password", "Enter your password.")
	if msg := models.CheckText(f.Login, 254); f.Login != "" && msg != "" {
		f.AddError("login", msg)
	}
	if len(password) > 1024 {
		f.AddError("password", "This password is too long.")
	}
	return f, password, nil
}

// errBadLogin is the one message for an unknown login and a wrong password.
const errBadLogin = "That username or email and password do not match an account. Check them and try again."

// Login signs a user in with a new session id and goes to next when it is a local path.
func (h *Handlers) Login(c *fiber.Ctx) error {
	f, password, err := h.loginForm(c)
	if err != nil {
		return err
	}
	if !f.Valid() {
		return h.renderLogin(c, fiber.StatusUnprocessableEntity, f)
	}
	user, guard, err := h.authenticate(c, &f, password)
	if err != nil {
		return err
	}
	if user == nil {
		return h.renderLogin(c, fiber.StatusUnprocessableEntity, f)
	}
	if second, err := h.hasSecondFactor(user); err != nil {
		return err
	} else if second {
		// Not signed in yet: the form asks for a code or a passkey in place (twofactor_login.go).
		if err := h.askForCode(c, user, f.Remember, f.Next); err != nil {
			return err
		}
		if !isHTMX(c) {
			return c.Redirect("/login/2fa", fiber.StatusSeeOther)
		}
		return h.renderLoginCode(c, fiber.StatusOK, views.LoginCodeForm{})
	}
	err = h.startSession(c, user, f.Remember, func(tx *gorm.DB) error { return h.loginSucceeded(c, tx, guard, user) })
	if err != nil {
		return err
	}
	return h.redirect(c, h.afterSignIn(user, f.Next))
}

// authenticate runs the throttling guard and the password check for a valid form. It returns
// the user who may sign in, or a nil user with the reason set on the form.
func (h *Handlers) authenticate(c *fiber.Ctx, f *views.LoginForm, password string) (*models.User, *loginGuard, error) {
	if err := h.refuseIfBusy(c); err != nil {
		return nil, nil, err
	}
	guard, locked, err := h.guardLogin(c, f.Login)
	if err != nil || locked {
		// The right password does not get in either, and the answer is the same for names
		// without an account.
		f.NonFieldError = errLocked
		return nil, nil, err
	}
	// Only the hash runs on a hashing worker: the user was loaded by the guard, and every write
	// happens afterwards.
	user, ok, rehash := guard.user, false, false
	if err := h.runHashJob(c, func() { ok, rehash = models.VerifyPassword(user, password, h.hash) }); err != nil {
		return nil, nil, err
	}
	switch {
	case !ok:
		f.NonFieldError = errBadLogin
		return nil, nil, h.loginFailed(c, guard)
	case user.IsPending():
		// Only the right password gets here, so this reveals nothing to a guesser.
		f.NonFieldError = "Your email address is not confirmed yet. Follow the link we sent you, or ask for a new one."
		f.UnverifiedEmail = user.Email
		return nil, nil, nil
	case !user.IsActive:
		f.NonFieldError = "This account has been deactivated. Contact the administrator of this Tally."
		return nil, nil, nil
	}
	if rehash {
		hash, err := h.hashPassword(c, password)
		if err != nil {
			return nil, nil, err
		}
		if err := models.SetPassword(h.db, user, hash); err != nil {
			return nil, nil, err
		}
	}
	return user, guard, nil
}

// startSession binds user to a fresh session: new id, empty data, new CSRF token. A session
// the browser was signed in with ends first, durably (a revocation must survive a power cut).
// The new session's writes, and those of also (when given), are one transaction that does not
// wait for the disk: they are sign-in bookkeeping (see models.TransactionWithoutSync), and also
// must keep to that.
func (h *Handlers) startSession(c *fiber.Ctx, user *models.User, remember bool, also func(tx *gorm.DB) error) error {
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
	now := h.now()
	var as *models.AuthSession
	err := models.TransactionWithoutSync(h.db, func(tx *gorm.DB) error {
		var err error
		as, err = models.StartAuthSession(tx, models.NewAuthSession{
			UserID: user.ID, IP: h.clientIP(c), UserAgent: utils.CopyString(c.Get(fiber.HeaderUserAgent)), Remember: remember,
		}, now)
		if err != nil {
			return err
		}
		if err := models.RecordLogin(tx, user, now); err != nil {
			return err
		}
		if also != nil {
			return also(tx)
		}
		return nil
	})
	if err != nil {
		return err
	}
	ws.set(keyAuthSession, as.ID)
	c.Locals(localAuthSession, as)
	ws.remember = remember
	ws.csrfToken()
	c.Locals(localUser, user)
	return nil
}

// Logout ends the session in the store and in the index, expires the cookie, and asks the
// browser to drop cached pages, so neither a replayed cookie nor the back button shows a
// private page.
func (h *Handlers) Logout(c *fiber.Ctx) error {
	ws := currentSession(c)
	if aid := ws.getString(keyAuthSession); aid != "" {
		if err := models.EndAuthSession(h.db, aid); err != nil {
			return err
		}
		u := currentUser(c)
		if admin := impersonator(c); admin != nil {
			// The staff member logs out, not the user they were viewing as.
			if err := h.recordImpersonation(c, h.db, admin, u, "ended by logout"); err != nil {
				return err
			}
			u = admin
		}
		if u.IsAuthenticated() {
			if err := h.recordEvent(c, h.db, u.ID, models.EventLogout, "", nil); err != nil {
				return err
			}
		}
	}
	if err := ws.destroy(); err != nil {
		return err
	}
	c.Set("Clear-Site-Data", `"cache", "storage"`)
	return h.redirect(c, "/login?logged_out=1")
}
