package handlers

import (
	"errors"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"tally/models"
)

// keyImpersonate holds the id of the user a staff member is viewing Tally as. The session's
// own user (keyAuthSession) stays the staff member, so ending their session ends this too.
const keyImpersonate = "imp"

// impersonatorKey is the Locals key of the real, signed-in staff member while they view Tally
// as someone else; currentUser is then the user they view as.
type impersonatorKey struct{}

// impersonator returns the staff member behind this request, or nil when nobody impersonates.
func impersonator(c *fiber.Ctx) *models.User {
	u, _ := c.Locals(impersonatorKey{}).(*models.User)
	return u
}

// canImpersonate says whether admin may view Tally as target: an active account admin may act
// on (canManage: superusers anyone, staff only users without admin rights); nobody views as
// themselves.
func canImpersonate(admin, target *models.User) bool {
	return admin.IsAdmin() && target.IsActive && admin.ID != target.ID && canManage(admin, target)
}

// applyImpersonation runs after loadSession. When the session views Tally as another user, it
// checks again, on every request, that the real user may still do so (they may have lost
// their staff rights, the target may be gone or deactivated), then makes the target the
// request's user and keeps the real one as the impersonator.
func (h *Handlers) applyImpersonation(c *fiber.Ctx) error {
	ws := currentSession(c)
	raw := ws.getString(keyImpersonate)
	if raw == "" {
		return c.Next()
	}
	admin := currentUser(c)
	var target *models.User
	if id, err := strconv.ParseUint(raw, 10, 32); err == nil {
		if target, err = models.FindUser(h.db, uint(id)); err != nil && !errors.Is(err, models.ErrNotFound) {
			return err
		}
	}
	if target == nil || !canImpersonate(admin, target) {
		ws.del(keyImpersonate)
		h.log.Info("impersonation ended: no longer allowed", "request_id", requestID(c), "user_id", admin.ID, "target", raw)
		if admin.IsAuthenticated() {
			h.flash(c, "Viewing as another user has ended: it is no longer allowed.")
		}
		return c.Next()
	}
	c.Locals(impersonatorKey{}, admin)
	c.Locals(localUser, target)
	return c.Next()
}

var errImpersonating = fiber.NewError(fiber.StatusForbidden,
	"You are viewing Tally as another user: support access cannot change their password, email, "+
		"sessions or delete their account. Stop viewing as them first.")

// refuseImpersonation guards the pages that would let support take over an account.
func (h *Handlers) refuseImpersonation(c *fiber.Ctx) error {
	if impersonator(c) != nil {
		return errImpersonating
	}
	return c.Next()
}

// StartImpersonation lets a staff member view Tally as the user of the detail page.
func (h *Handlers) StartImpersonation(c *fiber.Ctx) error {
	admin := currentUser(c)
	target, err := h.adminTarget(c, h.db)
	if err != nil {
		return err
	}
	if !canImpersonate(admin, target) {
		return fiber.NewError(fiber.StatusForbidden,
			"You cannot log in as this user: staff can only view as active users without admin rights.")
	}
	err = models.Transaction(h.db, func(tx *gorm.DB) error {
		return h.recordImpersonation(c, tx, admin, target, "started")
	})
	if err != nil {
		return err
	}
	if err := h.switchIdentity(c, target.ID); err != nil {
		return err
	}
	h.flash(c, "You are now viewing Tally as "+target.Username+".")
	return h.redirect(c, "/dashboard")
}

// StopImpersonation returns a staff member to their own identity and the user's detail page.
func (h *Handlers) StopImpersonation(c *fiber.Ctx) error {
	admin, target := impersonator(c), currentUser(c)
	if admin == nil {
		return fiber.ErrNotFound
	}
	err := models.Transaction(h.db, func(tx *gorm.DB) error {
		return h.recordImpersonation(c, tx, admin, target, "ended")
	})
	if err != nil {
		return err
	}
	if err := h.switchIdentity(c, 0); err != nil {
		return err
	}
	c.Locals(localUser, admin)
	c.Locals(impersonatorKey{}, nil)
	h.flash(c, "You are yourself again.")
	return h.redirect(c, userURL(target.ID))
}

// recordImpersonation writes the event to both accounts. They name each other by id (the
// staff member as the target's actor), never by username: each outlives the other's account.
func (h *Handlers) recordImpersonation(c *fiber.Ctx, tx *gorm.DB, admin, target *models.User, what string) error {
	if err := h.recordEvent(c, tx, target.ID, models.EventImpersonation, "Support access "+what, admin); err != nil {
		return err
	}
	return h.recordEvent(c, tx, admin.ID, models.EventImpersonation, "Viewing as "+models.UserRef(target.ID)+" "+what, admin)
}

// switchIdentity gives the session a new id and CSRF token, keeping its signed-in user, and
// views Tally as targetID (0: as oneself). An id or token seen before the switch is useless
// after it.
func (h *Handlers) switchIdentity(c *fiber.Ctx, targetID uint) error {
	ws := currentSession(c)
	aid := ws.getString(keyAuthSession)
	if err := ws.renew(); err != nil {
		return err
	}
	ws.set(keyAuthSession, aid)
	if targetID != 0 {
		ws.set(keyImpersonate, strconv.FormatUint(uint64(targetID), 10))
	}
	ws.csrfToken()
	return nil
}
