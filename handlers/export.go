package handlers

import (
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/gofiber/fiber/v2"

	"tally/models"
	"tally/views"
)

func (h *Handlers) ExportPage(c *fiber.Ctx) error {
	return h.renderExport(c, fiber.StatusOK, views.PasswordConfirmForm{})
}

func (h *Handlers) renderExport(c *fiber.Ctx, status int, f views.PasswordConfirmForm) error {
	return h.render(c, page{Title: "Download your data", Status: status, Narrow: true, Body: views.ExportPage(f)})
}

// Export answers the password form with a JSON file of everything Tally holds about the user,
// so nobody has to leave without their data.
func (h *Handlers) Export(c *fiber.Ctx) error {
	u := currentUser(c)
	var f views.PasswordConfirmForm
	if err := h.confirmPassword(c, &f.Form, "password", form(c, "password"), u); err != nil {
		return err
	}
	if !f.Valid() {
		return h.renderExport(c, fiber.StatusUnprocessableEntity, f)
	}
	if err := h.recordEvent(c, h.db, u.ID, models.EventDataExported, "", nil); err != nil {
		return err
	}
	d, err := models.LoadAccountData(h.db, u.ID)
	if err != nil {
		return err
	}
	body, err := json.MarshalIndent(exportOf(d, currentSession(c).getString(keyAuthSession), h.now()), "", "  ")
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="tally-`+u.Username+`-`+h.now().Format(time.DateOnly)+`.json"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Send(body)
}

// accountExport is the export file's format. The password hash is not in it: it is no
// information about the user, only a secret to protect.
type accountExport struct {
	Format         string          `json:"format"`
	ExportedAt     time.Time       `json:"exported_at"`
	User           exportUser      `json:"user"`
	Profile        exportProfile   `json:"profile"`
	Sessions       []exportSession `json:"sessions"`
	SecurityEvents []exportEvent   `json:"security_events"`
	Emails         []exportEmail   `json:"emails"`
	// Finance is empty until Tally tracks money: the finance features add their data here.
	Finance map[string]any `json:"finance"`
}

type exportUser struct {
	ID              uint       `json:"id"`
	Username        string     `json:"username"`
	Email           string     `json:"email"`
	EmailVerifiedAt *time.Time `json:"email_verified_at"`
	FirstName       string     `json:"first_name"`
	LastName        string     `json:"last_name"`
	IsActive        bool       `json:"is_active"`
	IsStaff         bool       `json:"is_staff"`
	IsSuperuser     bool       `json:"is_superuser"`
	DateJoined      time.Time  `json:"date_joined"`
	LastLogin       *time.Time `json:"last_login"`
}

type exportProfile struct {
	PhoneNumber *string       `json:"phone_number"`
	GitHubLink  *string       `json:"github_link"`
	BirthDate   *string       `json:"birth_date"`
	Avatar      *exportAvatar `json:"avatar"`
}

type exportAvatar struct {
	ContentType string    `json:"content_type"`
	UpdatedAt   time.Time `json:"updated_at"`
	DataBase64  string    `json:"data_base64"`
}

type exportSession struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	IP         string    `json:"ip"`
	Device     string    `json:"device"`
	UserAgent  string    `json:"user_agent"`
	Remember   bool      `json:"remember"`
	Current    bool      `json:"current"`
}

type exportEvent struct {
	CreatedAt   time.Time `json:"created_at"`
	Kind        string    `json:"kind"`
	Description string    `json:"description"`
	IP          string    `json:"ip"`
	Device      string    `json:"device"`
	Detail      string    `json:"detail"`
	ByStaff     bool      `json:"by_staff"`
}

// exportEmail leaves the bodies out: a pending mail's body holds a live link.
type exportEmail struct {
	CreatedAt time.Time  `json:"created_at"`
	To        string     `json:"to"`
	Subject   string     `json:"subject"`
	Status    string     `json:"status"`
	SentAt    *time.Time `json:"sent_at"`
}

func exportOf(d *models.AccountData, currentSessionID string, now time.Time) accountExport {
	u := d.User
	x := accountExport{
		Format: "tally-account-export-1", ExportedAt: now,
		User: exportUser{ID: u.ID, Username: u.Username, Email: u.Email, EmailVerifiedAt: u.EmailVerifiedAt,
			FirstName: u.FirstName, LastName: u.LastName, IsActive: u.IsActive, IsStaff: u.IsStaff,
			IsSuperuser: u.IsSuperuser, DateJoined: u.DateJoined, LastLogin: u.LastLogin},
		Profile: exportProfile{PhoneNumber: nullable(d.Profile.PhoneNumber), GitHubLink: nullable(d.Profile.GitHubLink),
			BirthDate: nullable(d.Profile.BirthDate)},
		Sessions:       []exportSession{},
		SecurityEvents: []exportEvent{},
		Emails:         []exportEmail{},
		Finance:        map[string]any{},
	}
	if a := d.Avatar; a != nil {
		x.Profile.Avatar = &exportAvatar{ContentType: a.ContentType, UpdatedAt: a.UpdatedAt, DataBase64: base64.StdEncoding.EncodeToString(a.Data)}
	}
	for _, s := range d.Sessions {
		x.Sessions = append(x.Sessions, exportSession{ID: s.ID, CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt, IP: s.IP,
			Device: models.DeviceName(s.UserAgent), UserAgent: s.UserAgent, Remember: s.Remember, Current: s.ID == currentSessionID})
	}
	for _, e := range d.Events {
		x.SecurityEvents = append(x.SecurityEvents, exportEvent{CreatedAt: e.CreatedAt, Kind: e.Kind, Description: models.DescribeEvent(e.Kind),
			IP: e.IP, Device: e.Device, Detail: e.Detail, ByStaff: e.ActorID != nil})
	}
	for _, m := range d.Emails {
		x.Emails = append(x.Emails, exportEmail{CreatedAt: m.CreatedAt, To: m.To, Subject: m.Subject, Status: m.Status, SentAt: m.SentAt})
	}
	return x
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
