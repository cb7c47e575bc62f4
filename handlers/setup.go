package handlers

import (
	"crypto/subtle"
	"errors"
	"sync"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"tally/models"
	"tally/views"
)

// setupLink is the first run's one-time token. It lives in memory only, so it dies with the
// process, and it is spent by the superuser it creates. Its holder is whoever can read the
// server's standard output: the operator.
type setupLink struct {
	mu    sync.Mutex // also makes the form's posts one at a time: the first to succeed spends it
	token string     // "" once spent
}

func newSetupLink() *setupLink { return &setupLink{token: randomToken(32)} }

// current is the unspent token, or "".
func (l *setupLink) current() string {
	if l == nil {
		return ""
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.token
}

// matches says whether tok is the unspent token; l.mu is held.
func (l *setupLink) matches(tok string) bool {
	return l.token != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(l.token)) == 1
}

// errNoSetup is every refusal of the setup page: without the token it does not exist.
var errNoSetup = fiber.ErrNotFound

// openSetup locks the link and checks tok against it, and that there is still no superuser
// (one made from the command line meanwhile spends the link). On success the caller holds the
// lock and must call done.
func (h *Handlers) openSetup(tok string) (done func(), err error) {
	l := h.ops.setup
	if l == nil {
		return nil, errNoSetup
	}
	l.mu.Lock()
	if !l.matches(tok) {
		l.mu.Unlock()
		return nil, errNoSetup
	}
	has, err := models.HasSuperuser(h.db)
	if err != nil || has {
		if has {
			l.token = ""
		}
		l.mu.Unlock()
		if err != nil {
			return nil, err
		}
		return nil, errNoSetup
	}
	return l.mu.Unlock, nil
}

// SetupPage shows the form behind the setup link.
func (h *Handlers) SetupPage(c *fiber.Ctx) error {
	f := views.SetupForm{Token: c.Query("token")}
	done, err := h.openSetup(f.Token)
	if err != nil {
		return err
	}
	done()
	c.Set(fiber.HeaderCacheControl, "no-store")
	return h.renderSetup(c, fiber.StatusOK, f)
}

func (h *Handlers) renderSetup(c *fiber.Ctx, status int, f views.SetupForm) error {
	return h.render(c, page{Title: "Set up Tally", Status: status, Narrow: true,
		Body: views.SetupPage(f), Fragment: views.SetupFormView(f)})
}

// Setup creates the first superuser with the usual validators, spends the link and signs the
// new superuser in.
func (h *Handlers) Setup(c *fiber.Ctx) error {
	var in struct {
		views.SetupForm
		Password string `form:"password,raw"`
		Confirm  string `form:"password_confirm,raw"`
	}
	if err := decodeForm(c, &in); err != nil {
		return err
	}
	done, err := h.openSetup(in.Token)
	if err != nil {
		return err
	}
	defer done()
	f := in.SetupForm
	f.Email = models.NormalizeEmail(f.Email)
	// Registration's validators: username, address, password and its confirmation.
	reg := views.RegisterForm{Username: f.Username, Email: f.Email}
	validateRegistration(&reg, in.Password, in.Confirm)
	f.Form = reg.Form
	if !f.Valid() {
		return h.renderSetup(c, fiber.StatusUnprocessableEntity, f)
	}
	hash, err := h.hashPassword(c, in.Password)
	if err != nil {
		return err
	}
	var u *models.User
	err = models.Transaction(h.db, func(tx *gorm.DB) error {
		if u, err = models.CreateSuperuser(tx, models.NewUser{Username: f.Username, Email: f.Email, PasswordHash: hash}, h.now()); err != nil {
			return err
		}
		return h.recordEvent(c, tx, u.ID, models.EventAdminChange, "Created as superuser through the setup link", nil)
	})
	switch {
	case errors.Is(err, models.ErrUsernameTaken):
		f.AddError("username", "This username is taken. Try another one.")
	case errors.Is(err, models.ErrEmailTaken):
		f.AddError("email", "An account with this email address exists.")
	case err != nil:
		return err
	}
	if !f.Valid() {
		return h.renderSetup(c, fiber.StatusUnprocessableEntity, f)
	}
	h.ops.setup.token = "" // spent (the lock is held)
	h.log.Info("first superuser created through the setup link", "username", u.Username, "ip", h.clientIP(c))
	if err := h.startSession(c, u, false, nil); err != nil {
		return err
	}
	return h.redirect(c, "/dashboard")
}
