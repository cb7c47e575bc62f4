package handlers

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"tally/models"
	"tally/money"
	"tally/views"
)

// profileData loads what the profile page shows about u.
func (h *Handlers) profileData(u *models.User) (views.ProfileData, error) {
	p, err := models.FindProfile(h.db, u.ID)
	if err != nil {
		return views.ProfileData{}, err
	}
	url, has, err := h.avatarURL(u)
	return views.ProfileData{User: u, Profile: p, AvatarURL: url, HasAvatar: has}, err
}

// ProfilePage shows the profile; for htmx (Cancel) only the view fragment.
func (h *Handlers) ProfilePage(c *fiber.Ctx) error {
	d, err := h.profileData(currentUser(c))
	if err != nil {
		return err
	}
	return h.renderProfile(c, fiber.StatusOK, d, views.AvatarForm{})
}

func (h *Handlers) renderProfile(c *fiber.Ctx, status int, d views.ProfileData, af views.AvatarForm) error {
	return h.render(c, page{Title: "Your profile", Status: status,
		Body: views.ProfilePage(d, af), Fragment: views.ProfileView(d)})
}

// ProfileEditPage shows the form; for htmx (Edit) only the form, in place of the view.
func (h *Handlers) ProfileEditPage(c *fiber.Ctx) error {
	u := currentUser(c)
	d, err := h.profileData(u)
	if err != nil {
		return err
	}
	f := views.ProfileForm{FirstName: u.FirstName, LastName: u.LastName, PhoneNumber: d.Profile.PhoneNumber,
		GitHubLink: d.Profile.GitHubLink, BirthDate: d.Profile.BirthDate, NumberFormat: string(numberFormat(d.Profile))}
	return h.renderProfileForm(c, fiber.StatusOK, d, f)
}

func (h *Handlers) renderProfileForm(c *fiber.Ctx, status int, d views.ProfileData, f views.ProfileForm) error {
	return h.render(c, page{Title: "Edit your profile", Status: status,
		Body: views.ProfileEditPage(d, f), Fragment: views.ProfileFormView(f)})
}

// UpdateProfile validates and saves the form. htmx gets the view back in place of the form,
// a plain form post a redirect to the profile page.
func (h *Handlers) UpdateProfile(c *fiber.Ctx) error {
	u := currentUser(c)
	var f views.ProfileForm
	if err := decodeForm(c, &f); err != nil {
		return err
	}
	if f.NumberFormat == "" { // a form from before the setting existed keeps the stored one
		p, err := models.FindProfile(h.db, u.ID)
		if err != nil {
			return err
		}
		f.NumberFormat = string(numberFormat(p))
	}
	ch, ok := validateProfile(&f, h.now())
	if !ok {
		d, err := h.profileData(u)
		if err != nil {
			return err
		}
		return h.renderProfileForm(c, fiber.StatusUnprocessableEntity, d, f)
	}
	if err := models.UpdateProfile(h.db, u, ch, h.now()); err != nil {
		return err
	}
	if !isHTMX(c) {
		h.flash(c, "Your profile has been saved.")
		return h.redirect(c, "/profile")
	}
	d, err := h.profileData(u)
	if err != nil {
		return err
	}
	d.Saved = true
	return h.render(c, page{Fragment: views.ProfileView(d)})
}

// validateProfile checks every field, records errors on f, and returns the normalised change.
func validateProfile(f *views.ProfileForm, today time.Time) (models.ProfileChange, bool) {
	for name, v := range map[string]string{"first_name": f.FirstName, "last_name": f.LastName} {
		if msg := models.CheckText(v, 150); msg != "" {
			f.AddError(name, msg)
		}
	}
	ch := models.ProfileChange{FirstName: f.FirstName, LastName: f.LastName}
	var msg string
	if ch.PhoneNumber, msg = models.NormalizePhone(f.PhoneNumber); msg != "" {
		f.AddError("phone_number", msg)
	}
	if ch.GitHubLink, msg = models.NormalizeGitHub(f.GitHubLink); msg != "" {
		f.AddError("github_link", msg)
	}
	if ch.BirthDate, msg = models.NormalizeBirthDate(f.BirthDate, today); msg != "" {
		f.AddError("birth_date", msg)
	}
	if nf := money.NumberFormat(f.NumberFormat); nf.Valid() {
		ch.NumberFormat = string(nf)
	} else {
		f.AddError("number_format", "Choose one of the formats in the list.")
	}
	return ch, f.Valid()
}

// profileJSON is the profile part of /api/me; empty fields are null.
type profileJSON struct {
	PhoneNumber *string `json:"phone_number"`
	GitHubLink  *string `json:"github_link"`
	BirthDate   *string `json:"birth_date"`
	AvatarURL   string  `json:"avatar_url"`
}

func (h *Handlers) profileJSON(u *models.User) (profileJSON, error) {
	d, err := h.profileData(u)
	if err != nil {
		return profileJSON{}, err
	}
	return profileJSON{PhoneNumber: nullable(d.Profile.PhoneNumber), GitHubLink: nullable(d.Profile.GitHubLink),
		BirthDate: nullable(d.Profile.BirthDate), AvatarURL: h.cfg.AbsURL(d.AvatarURL)}, nil
}

// numberFormat is the profile's number format, the default when it never chose one.
func numberFormat(p *models.Profile) money.NumberFormat {
	if f := money.NumberFormat(p.NumberFormat); f.Valid() {
		return f
	}
	return money.DefaultFormat
}
