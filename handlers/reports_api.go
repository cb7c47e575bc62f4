package handlers

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"tally/models"
	"tally/models/ledger"
	"tally/money"
)

// The read API of the budget and the reports: what the pages draw, as JSON. Amounts come as a
// decimal string in their currency ("-12.34") and as integer minor units (-1234), like the
// ledger API's; months are "YYYY-MM".

type apiBudgetCategory struct {
	// CategoryID is null for the rows without a category.
	CategoryID *uint  `json:"category_id"`
	Currency   string `json:"currency"`
	IsIncome   bool   `json:"is_income"`
	// Budgeted is null when the month sets no amount for the category in the currency.
	Budgeted      *string `json:"budgeted"`
	BudgetedMinor *int64  `json:"budgeted_minor"`
	// Spent is money out net of money in: an income category's is negative, what it received.
	Spent      string `json:"spent"`
	SpentMinor int64  `json:"spent_minor"`
}

type apiBudget struct {
	Month      string              `json:"month"`
	Categories []apiBudgetCategory `json:"categories"`
}

// APIBudget is a month's budget (?month=YYYY-MM, the current month by default): every category
// with an amount or rows in the month, per currency, in the user's category order.
func (h *Handlers) APIBudget(c *fiber.Ctx) error {
	month := c.Query("month", h.now().Format("2006-01"))
	if _, ok := ledger.ParseMonth(month); !ok {
		return badParam("month", "Give a month like 2026-03.")
	}
	v, err := h.reportView(c)
	if err != nil {
		return err
	}
	rep, err := v.b.BudgetMonth(month)
	if err != nil {
		return apiLedgerError(err)
	}
	out := apiBudget{Month: month, Categories: make([]apiBudgetCategory, 0, len(rep.Lines))}
	for _, l := range rep.Lines {
		cur := currency(l.Currency)
		item := apiBudgetCategory{Currency: l.Currency, Spent: money.FormatMachine(l.Spent(), cur), SpentMinor: l.Spent()}
		if l.CategoryID != 0 {
			id := l.CategoryID
			item.CategoryID = &id
			if cat := v.categoryBy[id]; cat != nil {
				item.IsIncome = cat.IsIncome
			}
		}
		if l.HasBudget {
			s, minor := money.FormatMachine(l.Budgeted, cur), l.Budgeted
			item.Budgeted, item.BudgetedMinor = &s, &minor
		}
		out.Categories = append(out.Categories, item)
	}
	return c.JSON(out)
}

type apiReport struct {
	Kind   string      `json:"report"`
	From   string      `json:"from"`
	To     string      `json:"to"`
	Months []string    `json:"months"`
	Series []apiSeries `json:"series"`
}

// apiSeries is one line or stack of a report; CategoryID only in spending.
type apiSeries struct {
	CategoryID *uint      `json:"category_id,omitempty"`
	Currency   string     `json:"currency"`
	Points     []apiPoint `json:"points"`
}

// apiPoint is a series' value in one month: amount (spending), balance (net worth), or income,
// expense and net (cash flow).
type apiPoint struct {
	Month        string  `json:"month"`
	Amount       *string `json:"amount,omitempty"`
	AmountMinor  *int64  `json:"amount_minor,omitempty"`
	Balance      *string `json:"balance,omitempty"`
	BalanceMinor *int64  `json:"balance_minor,omitempty"`
	Income       *string `json:"income,omitempty"`
	IncomeMinor  *int64  `json:"income_minor,omitempty"`
	Expense      *string `json:"expense,omitempty"`
	ExpenseMinor *int64  `json:"expense_minor,omitempty"`
	Net          *string `json:"net,omitempty"`
	NetMinor     *int64  `json:"net_minor,omitempty"`
}

// amount sets a pair of fields of a point to minor units of code.
func setAmount(text **string, minor **int64, v int64, code string) {
	s := money.FormatMachine(v, currency(code))
	*text, *minor = &s, &v
}

// APIReport is a report's series (/api/reports/spending, cashflow or networth) from ?from= to
// ?to= (YYYY-MM; by default the 12 months to the current one), for every account or ?account_id=.
func (h *Handlers) APIReport(c *fiber.Ctx) error {
	kind := c.Params("kind")
	if kind != "spending" && kind != "cashflow" && kind != "networth" {
		return fiber.NewError(fiber.StatusNotFound, "There is no such report: ask for spending, cashflow or networth.")
	}
	accountID, ok := formID(c.Query("account_id"))
	if !ok {
		return badParam("account_id", "Give the id as a positive whole number.")
	}
	thisMonth := h.now().Format("2006-01")
	to := c.Query("to", thisMonth)
	from := c.Query("from")
	if _, valid := ledger.ParseMonth(to); valid && from == "" {
		from = ledger.AddMonths(to, -11)
	}
	v, err := h.reportView(c)
	if err != nil {
		return err
	}
	b := v.b
	out := apiReport{Kind: kind, From: from, To: to, Series: []apiSeries{}}
	if kind == "networth" {
		rep, err := b.NetWorthReport(from, to, accountID)
		if err != nil {
			return apiReportError(err)
		}
		out.Months = rep.Months
		for _, s := range rep.Series {
			series := apiSeries{Currency: s.Currency}
			for i, v := range s.Balances {
				p := apiPoint{Month: rep.Months[i]}
				setAmount(&p.Balance, &p.BalanceMinor, v, s.Currency)
				series.Points = append(series.Points, p)
			}
			out.Series = append(out.Series, series)
		}
		return c.JSON(out)
	}
	rep, err := b.CategoryReport(from, to, accountID)
	if err != nil {
		return apiReportError(err)
	}
	out.Months = rep.Months
	cats := v.categories
	if kind == "spending" {
		for _, s := range rep.Spending(cats) {
			series := apiSeries{Currency: s.Currency}
			if s.CategoryID != 0 {
				id := s.CategoryID
				series.CategoryID = &id
			}
			for i, v := range s.Totals {
				p := apiPoint{Month: rep.Months[i]}
				setAmount(&p.Amount, &p.AmountMinor, v, s.Currency)
				series.Points = append(series.Points, p)
			}
			out.Series = append(out.Series, series)
		}
		return c.JSON(out)
	}
	for _, f := range rep.CashFlow(cats) {
		series := apiSeries{Currency: f.Currency}
		for i := range rep.Months {
			p := apiPoint{Month: rep.Months[i]}
			setAmount(&p.Income, &p.IncomeMinor, f.Income[i], f.Currency)
			setAmount(&p.Expense, &p.ExpenseMinor, f.Expense[i], f.Currency)
			setAmount(&p.Net, &p.NetMinor, f.Net[i], f.Currency)
			series.Points = append(series.Points, p)
		}
		out.Series = append(out.Series, series)
	}
	return c.JSON(out)
}

// apiReportError answers an account that is not the user's like a missing one, naming the
// parameter, and a range the book refused with the parameter it names.
func apiReportError(err error) error {
	if errors.Is(err, models.ErrNotFound) {
		return fiber.NewError(fiber.StatusNotFound, "account_id: You have no account with this id.")
	}
	return apiLedgerError(err)
}
