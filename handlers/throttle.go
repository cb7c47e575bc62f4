package handlers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"tally/models"
	"tally/views"
)

// The known-device cookie marks a browser that has signed in to an account before. A lock
// caused by someone else's guessing does not apply to it (it counts its own failures), so an
// attacker cannot lock the owner out.
func (h *Handlers) deviceCookieName() string {
	if h.cfg.Prod {
		return "__Host-tally_device"
	}
	return "tally_device"
}

func (h *Handlers) deviceMAC(deviceID string, userID uint) string {
	mac := hmac.New(sha256.New, h.cfg.Secret)
	mac.Write([]byte("tally-device-v1\x00" + deviceID + "\x00" + strconv.FormatUint(uint64(userID), 10)))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// knownDevice returns the device id when the request carries a valid cookie for u.
func (h *Handlers) knownDevice(c *fiber.Ctx, u *models.User) string {
	if u == nil {
		return ""
	}
	parts := strings.Split(c.Cookies(h.deviceCookieName()), ".")
	if len(parts) != 3 || parts[1] != strconv.FormatUint(uint64(u.ID), 10) ||
		!hmac.Equal([]byte(parts[2]), []byte(h.deviceMAC(parts[0], u.ID))) {
		return ""
	}
	return strings.Clone(parts[0])
}

func (h *Handlers) setKnownDevice(c *fiber.Ctx, u *models.User, deviceID string) {
	if deviceID == "" {
		deviceID = randomToken(16)
	}
	c.Cookie(&fiber.Cookie{
		Name: h.deviceCookieName(), Value: deviceID + "." + strconv.FormatUint(uint64(u.ID), 10) + "." + h.deviceMAC(deviceID, u.ID),
		Path: "/", MaxAge: 400 * 24 * 3600, Expires: h.now().Add(400 * 24 * time.Hour),
		Secure: h.cfg.Prod, HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode,
	})
}

// loginGuard is what throttling decided about one login attempt.
type loginGuard struct {
	ip, identity, failKey string
	user                  *models.User
	device                string
}

var errLocked = "Too many failed attempts. Logging in to this account is paused for a while; try again later or reset your password."

// guardLogin refuses an IP over its failure limit (429) and reports a locked identity (or
// device). The answer never depends on whether the account exists.
func (h *Handlers) guardLogin(c *fiber.Ctx, login string) (*loginGuard, bool, error) {
	now := h.now()
	g, err := h.guardNetwork(c, now)
	if err != nil {
		return nil, false, err
	}
	if g.identity, g.user, err = models.IdentityKey(h.db, login); err != nil {
		return nil, false, err
	}
	return h.guardIdentity(c, g, now)
}

// guardUser is guardLogin for the second step of a sign-in, whose account is known: the same
// network limit and the same lock of the account (or of this known device), so wrong codes
// count like wrong passwords.
func (h *Handlers) guardUser(c *fiber.Ctx, u *models.User) (*loginGuard, bool, error) {
	now := h.now()
	g, err := h.guardNetwork(c, now)
	if err != nil {
		return nil, false, err
	}
	g.identity, g.user = models.UserKey(u), u
	return h.guardIdentity(c, g, now)
}

// guardNetwork refuses a client network over its failure limit (429).
func (h *Handlers) guardNetwork(c *fiber.Ctx, now time.Time) (*loginGuard, error) {
	g := &loginGuard{ip: "ip:" + h.clientNetwork(c)}
	n, err := models.CountLoginFailures(h.db, g.ip, now.Add(-h.cfg.LockoutWindow))
	if err != nil {
		return nil, err
	}
	if n >= int64(h.cfg.IPLoginLimit) {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(h.cfg.LockoutWindow.Seconds())))
		return nil, fiber.NewError(fiber.StatusTooManyRequests,
			"Too many failed logins from your network. Please wait 15 minutes and try again.")
	}
	return g, nil
}

// guardIdentity picks the key failures count against (the known device, else the identity)
// and reports whether it is locked.
func (h *Handlers) guardIdentity(c *fiber.Ctx, g *loginGuard, now time.Time) (*loginGuard, bool, error) {
	g.failKey = g.identity
	if g.device = h.knownDevice(c, g.user); g.device != "" {
		g.failKey = "device:" + g.device
	}
	until, err := models.LockedUntil(h.db, g.failKey, now)
	return g, !until.IsZero(), err
}

// recordFailure commits one wrong password (or code) at now: a failure row under key and each
// of more and, for an existing account (u not nil), its event of kind (a failed sign-in, a
// wrong code). They are one commit, so a wrong password for a real account waits for the disk
// as often as one for a name without an account: a second commit's fsync would tell them apart
// by timing. It returns key's failures within the lockout window, this one included.
func (h *Handlers) recordFailure(c *fiber.Ctx, now time.Time, u *models.User, kind, detail, key string, more ...string) (int64, error) {
	err := models.Transaction(h.db, func(tx *gorm.DB) error {
		if err := models.RecordLoginFailure(tx, now, append([]string{key}, more...)...); err != nil || u == nil {
			return err
		}
		return h.recordEvent(c, tx, u.ID, kind, detail, nil)
	})
	if err != nil {
		return 0, err
	}
	return models.CountLoginFailures(h.db, key, now.Add(-h.cfg.LockoutWindow))
}

// loginFailed counts a failure and locks the identity (or device) at the threshold, from the
// failure's time; the owner of an account locked by failures from unknown devices gets one
// mail per lock.
func (h *Handlers) loginFailed(c *fiber.Ctx, g *loginGuard) error {
	return h.loginFailedAs(c, g, models.EventLoginFailure, "")
}

// loginFailedAs is loginFailed with the failure's event: a wrong code at sign-in counts like a
// wrong password, under its own kind.
func (h *Handlers) loginFailedAs(c *fiber.Ctx, g *loginGuard, kind, detail string) error {
	now := h.now()
	n, err := h.recordFailure(c, now, g.user, kind, detail, g.failKey, g.ip)
	if err != nil || n < int64(h.cfg.LockoutThreshold) {
		return err
	}
	locked, err := models.Lock(h.db, g.failKey, now, now.Add(h.cfg.LockoutDuration))
	if err != nil || !locked {
		return err
	}
	h.countLockout()
	if g.user == nil {
		return nil
	}
	if err := h.recordEvent(c, h.db, g.user.ID, models.EventLockout, "", nil); err != nil {
		return err
	}
	if g.device != "" {
		return nil
	}
	m := views.LockoutMail(g.user.FirstName, h.cfg.AbsURL("/password/forgot"), h.cfg.LockoutDuration)
	if err := h.queueMail(c.UserContext(), h.db, g.user, g.user.Email, models.MailLockout, m); err != nil {
		return err
	}
	h.outbox.Wake()
	return nil
}

// loginSucceeded clears the counters and marks the browser as a known device.
func (h *Handlers) loginSucceeded(c *fiber.Ctx, tx *gorm.DB, g *loginGuard, u *models.User) error {
	if err := models.ClearKey(tx, models.UserKey(u)); err != nil {
		return err
	}
	if g.device != "" {
		if err := models.ClearKey(tx, "device:"+g.device); err != nil {
			return err
		}
	}
	h.setKnownDevice(c, u, g.device)
	return h.recordEvent(c, tx, u.ID, models.EventLoginSuccess, "", nil)
}
