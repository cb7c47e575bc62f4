package handlers

import (
	"database/sql"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"tally/models"
	"tally/views"
)

func (h *Handlers) DeletePage(c *fiber.Ctx) error {
	return h.renderDelete(c, fiber.StatusOK, views.PasswordConfirmForm{TwoFactor: currentUser(c).TwoFactor})
}

func (h *Handlers) renderDelete(c *fiber.Ctx, status int, f views.PasswordConfirmForm) error {
	return h.render(c, page{Title: "Delete your account", Status: status, Narrow: true,
		Body: views.DeletePage(f), Fragment: views.DeleteFormView(f)})
}

// DeleteAccount deletes the user and everything that is theirs in one transaction, ends the
// session, empties the databases' WALs of what was deleted, and says so on the landing page.
// The last administrator cannot leave: nobody could run the instance after them.
func (h *Handlers) DeleteAccount(c *fiber.Ctx) error {
	u := currentUser(c)
	f := views.PasswordConfirmForm{TwoFactor: u.TwoFactor}
	if err := h.confirmPostedPassword(c, &f.Form, u); err != nil {
		return err
	}
	if f.Valid() && u.IsSuperuser {
		n, err := models.OtherActiveSuperusers(h.db, u.ID)
		if err != nil {
			return err
		}
		if n == 0 {
			f.NonFieldError = "You are the only administrator of this Tally. Make another user an administrator before you delete your account."
		}
	}
	if err := h.confirmSecondFactor(c, &f.Form, u); err != nil {
		return err
	}
	if !f.Valid() {
		return h.renderDelete(c, fiber.StatusUnprocessableEntity, f)
	}
	if err := models.Transaction(h.db, func(tx *gorm.DB) error { return models.DeleteAccount(tx, u.ID) }); err != nil {
		return err
	}
	if err := currentSession(c).destroy(); err != nil {
		return err
	}
	h.forgetDeletedPages(u.ID)
	c.Locals(localUser, models.Anonymous())
	c.Set("Clear-Site-Data", `"cache", "storage"`)
	return h.redirect(c, "/?deleted=1")
}

// forgetDeletedPages checkpoints the money database and the session file after a deletion, so
// neither WAL keeps an image of a page from before it (see models.ForgetDeletedPages). The
// account is gone by then: a failure is logged, not answered as if the deletion had failed.
func (h *Handlers) forgetDeletedPages(userID uint) {
	if err := models.ForgetDeletedPages(h.db); err != nil {
		h.log.Error("checkpoint after account deletion", "user_id", userID, "db", "tally.db", "err", err)
	}
	if st, ok := h.sessionData.Storage.(interface{ Conn() *sql.DB }); ok {
		if err := models.ForgetDeletedPagesSQL(st.Conn()); err != nil {
			h.log.Error("checkpoint after account deletion", "user_id", userID, "db", "sessions.db", "err", err)
		}
	}
}
