package handlers

import (
	"time"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"tally/models"
	"tally/models/ledger"
	"tally/views"
)

func (h *Handlers) Home(c *fiber.Ctx) error {
	if currentUser(c).IsAuthenticated() {
		return h.redirect(c, "/dashboard")
	}
	body := views.Landing()
	if c.Query("deleted") == "1" {
		body = views.LandingDeleted()
	}
	return h.render(c, page{Title: "Personal finance on your own server", Body: body, NoSession: true})
}

// Dashboard greets the user with their balances, net worth, this month's budget and latest rows:
// kept per ledger version, day and name.
func (h *Handlers) Dashboard(c *fiber.Ctx) error {
	v, err := h.ledgerView(c)
	if err != nil {
		return err
	}
	name := currentUser(c).DisplayName()
	k := pageKey{page: "dashboard", today: h.today(), name: name}
	return h.keptPage(c, v, k, page{Title: "Dashboard"}, func() (templ.Component, int, error) {
		d, err := h.dashboard(v, name)
		return views.Dashboard(d), fiber.StatusOK, err
	})
}

func (h *Handlers) dashboard(v *ledgerView, name string) (views.DashboardData, error) {
	recent, err := v.b.Recent(10)
	if err != nil {
		return views.DashboardData{}, err
	}
	var open []ledger.Account
	for _, a := range v.accounts {
		if !a.Closed {
			open = append(open, a)
		}
	}
	totals, err := ledger.TotalsByCurrency(v.accounts)
	if err != nil {
		return views.DashboardData{}, err
	}
	month := h.now().Format("2006-01")
	budget, err := v.b.BudgetMonth(month)
	if err != nil {
		return views.DashboardData{}, err
	}
	worth, err := v.b.NetWorthReport(ledger.AddMonths(month, -11), month, 0)
	if err != nil {
		return views.DashboardData{}, err
	}
	d := views.DashboardData{Name: name, NetWorth: v.m.Totals(totals), Recent: v.rows(recent),
		Choices: v.choices, Add: views.TxForm{Date: h.today()}, BudgetMonth: longMonthLabel(month)}
	d.Budget = budgetProgress(v.m, budget, func(id uint) bool { return v.categories[id].IsIncome },
		func(id uint) string { return v.categories[id].Name })
	d.NetWorthTrend = netWorthSparks(v.m, worth)
	for _, a := range open {
		d.Accounts = append(d.Accounts, accountItem(v.m, a))
	}
	return d, nil
}

// Healthz answers 200 when the database answers.
func (h *Handlers) Healthz(c *fiber.Ctx) error {
	if err := models.Ping(h.db); err != nil {
		h.log.Error("health check failed", "err", err)
		return c.Status(fiber.StatusServiceUnavailable).SendString("database unavailable")
	}
	return c.SendString("ok")
}

// meJSON is the public shape of the current user in /api/me.
type meJSON struct {
	ID         uint       `json:"id"`
	Username   string     `json:"username"`
	Email      string     `json:"email"`
	FirstName  string     `json:"first_name"`
	LastName   string     `json:"last_name"`
	IsStaff    bool       `json:"is_staff"`
	IsActive   bool       `json:"is_active"`
	DateJoined time.Time  `json:"date_joined"`
	LastLogin  *time.Time `json:"last_login"`
	profileJSON
	// Impersonator is the staff member viewing Tally as this user, or null.
	Impersonator *impersonatorJSON `json:"impersonator"`
}

type impersonatorJSON struct {
	ID       uint   `json:"id"`
	Username string `json:"username"`
}

func (h *Handlers) Me(c *fiber.Ctx) error {
	u := currentUser(c)
	me := meJSON{
		ID: u.ID, Username: u.Username, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
		IsStaff: u.IsStaff, IsActive: u.IsActive, DateJoined: u.DateJoined, LastLogin: u.LastLogin,
	}
	if imp := impersonator(c); imp != nil {
		me.Impersonator = &impersonatorJSON{ID: imp.ID, Username: imp.Username}
	}
	var err error
	if me.profileJSON, err = h.profileJSON(u); err != nil {
		return err
	}
	return c.JSON(me)
}
