package handlers

import (
	"context"
	"errors"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"tally/models"
	"tally/views"
)

// emailFormHandlers serve the resend and forgot forms: same page whatever the address.
func (h *Handlers) emailForm(p views.EmailFormPage, what string, send func(ctx context.Context, tx *gorm.DB, u *models.User) error) (get, post fiber.Handler) {
	render := func(c *fiber.Ctx, status int, f views.EmailForm) error {
		return h.render(c, page{Title: p.Heading, Status: status, Narrow: true,
			Body: views.EmailFormView(p, f), Fragment: views.EmailFormFragment(p, f)})
	}
	get = func(c *fiber.Ctx) error { return render(c, fiber.StatusOK, views.EmailForm{}) }
	post = func(c *fiber.Ctx) error {
		var f views.EmailForm
		if err := decodeForm(c, &f); err != nil {
			return err
		}
		f.Email = models.NormalizeEmail(f.Email)
		if f.Email == "" {
			f.AddError("email", "Enter your email address.")
		} else if msg := models.ValidateEmail(f.Email); msg != "" {
			f.AddError("email", msg)
		}
		if !f.Valid() {
			return render(c, fiber.StatusUnprocessableEntity, f)
		}
		// The answer must not tell whether the address has an account, by its words or by its
		// time: the lookup and the mail (a durable write) happen after it.
		email := f.Email
		if !h.later.add(p.ID, func() error { return h.mailIfAccount(email, send) }) {
			h.log.Warn("mail request turned away: too much work waiting", "form", p.ID)
		}
		done := views.MailSent(p.ID, f.Email, what)
		return h.render(c, page{Title: "Check your inbox", Narrow: true, Body: done, Fragment: done})
	}
	return get, post
}

// mailIfAccount runs send for the account with this address, if there is one.
func (h *Handlers) mailIfAccount(email string, send func(ctx context.Context, tx *gorm.DB, u *models.User) error) error {
	err := models.Transaction(h.db, func(tx *gorm.DB) error {
		u, err := models.FindUserByEmail(tx, email)
		if errors.Is(err, models.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		return send(context.Background(), tx, u)
	})
	if err == nil {
		h.outbox.Wake()
	}
	return err
}
