package handlers

import (
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/gofiber/fiber/v2"

	"tally/models"
	"tally/models/ledger"
	"tally/money"
	"tally/views"
)

func (h *Handlers) ExportPage(c *fiber.Ctx) error {
	return h.renderExport(c, fiber.StatusOK, views.PasswordConfirmForm{TwoFactor: currentUser(c).TwoFactor})
}

func (h *Handlers) renderExport(c *fiber.Ctx, status int, f views.PasswordConfirmForm) error {
	return h.render(c, page{Title: "Download your data", Status: status, Narrow: true, Body: views.ExportPage(f)})
}

// Export answers the password form with a JSON file of everything Tally holds about the user,
// so nobody has to leave without their data.
func (h *Handlers) Export(c *fiber.Ctx) error {
	u := currentUser(c)
	f := views.PasswordConfirmForm{TwoFactor: u.TwoFactor}
	if err := h.confirmStepUp(c, &f.Form, u); err != nil {
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
	b, err := h.book(c)
	if err != nil {
		return err
	}
	l, err := b.ExportAll()
	if err != nil {
		return err
	}
	x := exportOf(d, currentSession(c).getString(keyAuthSession), h.now())
	x.Finance.Ledger = ledgerExportOf(l)
	if u.TwoFactor {
		st, err := models.FindTwoFactorStatus(h.db, u.ID)
		if err != nil {
			return err
		}
		x.TwoFactor = exportTwoFactor{Enabled: true, EnabledAt: st.EnabledAt, LastUsedAt: st.LastUsedAt, RecoveryCodesLeft: st.CodesLeft}
	}
	ps, err := models.UserPasskeys(h.db, u.ID)
	if err != nil {
		return err
	}
	x.Passkeys = []exportPasskey{}
	for _, p := range ps {
		x.Passkeys = append(x.Passkeys, exportPasskey{Name: p.Name, CreatedAt: p.CreatedAt, LastUsedAt: p.LastUsedAt})
	}
	body, err := json.MarshalIndent(x, "", "  ")
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
	Format     string        `json:"format"`
	ExportedAt time.Time     `json:"exported_at"`
	User       exportUser    `json:"user"`
	Profile    exportProfile `json:"profile"`
	// TwoFactor says whether two-factor sign-in is on; never its secret or recovery codes.
	TwoFactor exportTwoFactor `json:"two_factor"`
	// Passkeys are named and dated; their keys and ids are not in the file.
	Passkeys       []exportPasskey `json:"passkeys"`
	Sessions       []exportSession `json:"sessions"`
	SecurityEvents []exportEvent   `json:"security_events"`
	Emails         []exportEmail   `json:"emails"`
	// Finance is the user's money; each finance feature adds its part.
	Finance exportFinance `json:"finance"`
}

type exportFinance struct {
	Ledger exportLedger `json:"ledger"`
}

// exportLedger writes every amount twice, like the read API: as integer minor units
// (amount_minor) and as a decimal string in its account's currency (amount), never as a float.
type exportLedger struct {
	Accounts       []exportAccount       `json:"accounts"`
	CategoryGroups []exportCategoryGroup `json:"category_groups"`
	Categories     []exportCategory      `json:"categories"`
	// Transactions holds every row, by id: split parts (with parent_id) and both legs of
	// transfers (each with the other's id as transfer_id).
	Transactions []exportTransaction `json:"transactions"`
	// Budgets are the amounts set per month, category and currency.
	Budgets []exportBudget `json:"budgets"`
}

type exportBudget struct {
	Month       string `json:"month"`
	CategoryID  uint   `json:"category_id"`
	Currency    string `json:"currency"`
	Amount      string `json:"amount"`
	AmountMinor int64  `json:"amount_minor"`
}

type exportAccount struct {
	ID           uint      `json:"id"`
	Name         string    `json:"name"`
	Kind         string    `json:"kind"`
	Currency     string    `json:"currency"`
	Closed       bool      `json:"closed"`
	Balance      string    `json:"balance"`
	BalanceMinor int64     `json:"balance_minor"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

type exportCategoryGroup struct {
	ID       uint   `json:"id"`
	Name     string `json:"name"`
	Position int    `json:"position"`
}

type exportCategory struct {
	ID        uint      `json:"id"`
	GroupID   uint      `json:"group_id"`
	Group     string    `json:"group"`
	Name      string    `json:"name"`
	IsIncome  bool      `json:"is_income"`
	Hidden    bool      `json:"hidden"`
	Position  int       `json:"position"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

type exportTransaction struct {
	ID          uint      `json:"id"`
	AccountID   uint      `json:"account_id"`
	Date        string    `json:"date"`
	Payee       string    `json:"payee"`
	Memo        string    `json:"memo"`
	Amount      string    `json:"amount"`
	AmountMinor int64     `json:"amount_minor"`
	CategoryID  *uint     `json:"category_id"`
	TransferID  *uint     `json:"transfer_id"`
	ParentID    *uint     `json:"parent_id"`
	IsSplit     bool      `json:"is_split"`
	IsOpening   bool      `json:"is_opening"`
	ImportID    *uint     `json:"import_id"`
	ExternalID  *string   `json:"external_id"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
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

type exportPasskey struct {
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

type exportTwoFactor struct {
	Enabled           bool       `json:"enabled"`
	EnabledAt         *time.Time `json:"enabled_at"`
	LastUsedAt        *time.Time `json:"last_used_at"`
	RecoveryCodesLeft int64      `json:"recovery_codes_left"`
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

func ledgerExportOf(l *ledger.Export) exportLedger {
	x := exportLedger{
		Accounts:       make([]exportAccount, 0, len(l.Accounts)),
		CategoryGroups: make([]exportCategoryGroup, 0, len(l.CategoryGroups)),
		Categories:     make([]exportCategory, 0, len(l.Categories)),
		Transactions:   make([]exportTransaction, 0, len(l.Transactions)),
		Budgets:        make([]exportBudget, 0, len(l.Budgets)),
	}
	for _, bu := range l.Budgets {
		x.Budgets = append(x.Budgets, exportBudget{Month: bu.Month, CategoryID: bu.CategoryID, Currency: bu.Currency,
			Amount: money.FormatMachine(bu.Amount, currency(bu.Currency)), AmountMinor: bu.Amount})
	}
	currencies := make(map[uint]money.Currency, len(l.Accounts))
	for _, a := range l.Accounts {
		cur := currency(a.Currency)
		currencies[a.ID] = cur
		x.Accounts = append(x.Accounts, exportAccount{ID: a.ID, Name: a.Name, Kind: a.Kind, Currency: a.Currency,
			Closed: a.Closed, Balance: money.FormatMachine(a.Balance, cur), BalanceMinor: a.Balance,
			CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt})
	}
	for _, g := range l.CategoryGroups {
		x.CategoryGroups = append(x.CategoryGroups, exportCategoryGroup{ID: g.ID, Name: g.Name, Position: g.Position})
	}
	for _, c := range l.Categories {
		x.Categories = append(x.Categories, exportCategory{ID: c.ID, GroupID: c.GroupID, Group: c.Group, Name: c.Name,
			IsIncome: c.IsIncome, Hidden: c.Hidden, Position: c.Position, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt})
	}
	// ExportAll reads the accounts and the rows in one transaction: every row's account is there.
	for _, t := range l.Transactions {
		x.Transactions = append(x.Transactions, exportTransaction{ID: t.ID, AccountID: t.AccountID, Date: t.Date,
			Payee: t.Payee, Memo: t.Memo, Amount: money.FormatMachine(t.Amount, currencies[t.AccountID]),
			AmountMinor: t.Amount, CategoryID: t.CategoryID, TransferID: t.TransferID, ParentID: t.ParentID,
			IsSplit: t.IsSplit, IsOpening: t.IsOpening, ImportID: t.ImportID, ExternalID: t.ExternalID,
			CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt})
	}
	return x
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
