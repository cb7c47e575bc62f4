package handlers

import (
	"errors"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"tally/models"
	"tally/views"
)

// The passkeys list on the security page: renaming and removing.

// passkeyID is the passkey of the URL; a malformed id is the same 404 as a missing one.
func passkeyID(c *fiber.Ctx) uint {
	id, _ := strconv.ParseUint(c.Params("id"), 10, 32)
	return uint(id)
}

var errNoPasskey = fiber.NewError(fiber.StatusNotFound, "There is no such passkey on your account.")

// RenamePasskey renames one of the user's passkeys; another user's is not found.
func (h *Handlers) RenamePasskey(c *fiber.Ctx) error {
	u := currentUser(c)
	var in struct {
		Name string `form:"name"`
	}
	if err := decodeForm(c, &in); err != nil {
		return err
	}
	var f views.Form
	checkPasskeyName(&f, in.Name) // decodeForm trimmed it
	id := passkeyID(c)
	if _, err := models.FindUserPasskey(h.db, u.ID, id); errors.Is(err, models.ErrNotFound) {
		return errNoPasskey
	} else if err != nil {
		return err
	}
	if !f.Valid() {
		return h.renderSecurity(c, fiber.StatusUnprocessableEntity, views.PasskeysView{Rename: views.PasskeyRename{ID: id, Name: in.Name, Form: f}})
	}
	err := models.Transaction(h.db, func(tx *gorm.DB) error {
		if err := models.RenamePasskey(tx, u.ID, id, in.Name); err != nil {
			return err
		}
		return h.recordEvent(c, tx, u.ID, models.EventPasskeyRenamed, in.Name, nil)
	})
	if errors.Is(err, models.ErrNotFound) {
		return errNoPasskey
	} else if err != nil {
		return err
	}
	h.flash(c, "Passkey renamed.")
	return h.redirect(c, "/account/security")
}

// DeletePasskey removes one of the user's passkeys, after the password and, with two-factor on,
// a code (as turning two-factor off asks: a passkey may be the account's second factor); unless
// it is the only way into an account without a password. An account without a password (whose
// sessions began with a passkey) has no password to give: the code, if any, is still asked.
// Removing the passkey that was an account's only second factor while TALLY_REQUIRE_2FA applies
// is allowed, as turning two-factor off is: the user then sets one up again before carrying on.
func (h *Handlers) DeletePasskey(c *fiber.Ctx) error {
	u := currentUser(c)
	id := passkeyID(c)
	if _, err := models.FindUserPasskey(h.db, u.ID, id); errors.Is(err, models.ErrNotFound) {
		return errNoPasskey
	} else if err != nil {
		return err
	}
	var f views.Form
	if u.PasswordHash != "" {
		if err := h.confirmPostedPassword(c, &f, u); err != nil {
			return err
		}
	}
	if err := h.confirmSecondFactor(c, &f, u); err != nil {
		return err
	}
	if !f.Valid() {
		return h.renderSecurity(c, fiber.StatusUnprocessableEntity, views.PasskeysView{Removal: views.PasskeyRemoval{ID: id, Form: f}})
	}
	var name string
	err := models.Transaction(h.db, func(tx *gorm.DB) error {
		p, err := models.DeletePasskey(tx, u, id)
		if err != nil {
			return err
		}
		name = p.Name
		if err := h.recordEvent(c, tx, u.ID, models.EventPasskeyRemoved, p.Name, nil); err != nil {
			return err
		}
		m := views.PasskeyRemovedMail(u.FirstName, p.Name, false, h.cfg.AbsURL("/password/forgot"))
		return h.queueMail(c.UserContext(), tx, u, u.Email, models.MailChanged, m)
	})
	switch {
	case errors.Is(err, models.ErrNotFound):
		return errNoPasskey
	case errors.Is(err, models.ErrLastWayIn):
		return fiber.NewError(fiber.StatusConflict, "This passkey is the only way into your account, which has no password: reset your password by email first, then remove it.")
	case err != nil:
		return err
	}
	h.outbox.Wake()
	h.flash(c, "Passkey \u201c"+name+"\u201d removed.")
	return h.redirect(c, "/account/security")
}

// passkeysView is the passkeys part of the security page; none while staff view as the user.
// failed carries a refused removal or rename, shown with its errors.
func (h *Handlers) passkeysView(c *fiber.Ctx, failed views.PasskeysView) (views.PasskeysView, error) {
	if impersonator(c) != nil {
		return views.PasskeysView{Hidden: true}, nil
	}
	u := currentUser(c)
	ps, err := models.UserPasskeys(h.db, u.ID)
	return views.PasskeysView{Passkeys: ps, TwoFactor: u.TwoFactor, Password: u.PasswordHash != "",
		Off: h.passkeys.off, Removal: failed.Removal, Rename: failed.Rename}, err
}
