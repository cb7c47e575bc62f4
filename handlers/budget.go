package handlers

import (
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"tally/models"
	"tally/models/ledger"
	"tally/views"
)

// budgetState is what a budget write hands the page it redraws: the form with its error, the
// row to focus, and what happened, in a sentence.
type budgetState struct {
	form   *views.BudgetForm
	focus  string // the id of the row saved: the next one gets the focus
	notice string
}

// BudgetPage is a month's budget: ?month=YYYY-MM, the current month by default.
func (h *Handlers) BudgetPage(c *fiber.Ctx) error {
	month := clean(c.Query("month"))
	if month == "" {
		month = h.now().Format("2006-01")
	}
	if _, ok := ledger.ParseMonth(month); !ok {
		return fiber.NewError(fiber.StatusBadRequest, "There is no budget for this month. Give a month like 2026-03.")
	}
	return h.renderBudget(c, fiber.StatusOK, month, budgetState{})
}

func (h *Handlers) renderBudget(c *fiber.Ctx, status int, month string, st budgetState) error {
	v, err := h.reportView(c)
	if err != nil {
		return err
	}
	rep, err := v.b.BudgetMonth(month)
	if err != nil {
		return err
	}
	d := v.budgetData(rep, h.now().Format("2006-01"), st)
	return h.render(c, page{Title: "Budget · " + d.MonthLabel, Status: status, Body: views.BudgetPage(d), Fragment: views.BudgetSection(d)})
}

// postedMonth reads the month of a budget form; only a tampered form lacks a valid one.
func postedMonth(c *fiber.Ctx) (string, error) {
	month := clean(c.FormValue("month"))
	if _, ok := ledger.ParseMonth(month); !ok {
		return "", fiber.NewError(fiber.StatusBadRequest, "month: Give a month like 2026-03.")
	}
	return month, nil
}

// SetBudget sets (or, with an empty amount, removes) a category's amount for a month, in the
// currency posted: required when the user's accounts are in more than one.
func (h *Handlers) SetBudget(c *fiber.Ctx) error {
	var f views.BudgetForm
	if err := c.BodyParser(&f); err != nil {
		return fiber.ErrBadRequest
	}
	f = views.BudgetForm{Month: clean(f.Month), CategoryID: clean(f.CategoryID), Currency: strings.ToUpper(clean(f.Currency)),
		Amount: clean(f.Amount), Other: f.Other}
	if _, ok := ledger.ParseMonth(f.Month); !ok {
		return fiber.NewError(fiber.StatusBadRequest, "month: Give a month like 2026-03.")
	}
	v, err := h.reportView(c)
	if err != nil {
		return err
	}
	categoryID, ok := formID(f.CategoryID)
	if !ok || categoryID == 0 {
		f.AddError("category_id", "Choose a category.")
	}
	codes := v.currencyCodes()
	switch {
	case len(codes) == 0:
		f.AddError("currency", "Budgets are kept in your accounts' currencies: add an account first.")
	case f.Currency == "" && len(codes) == 1:
		f.Currency = codes[0]
	case f.Currency == "":
		f.AddError("currency", "Choose a currency: your accounts are in more than one.")
	case !slices.Contains(codes, f.Currency):
		f.AddError("currency", "Choose the currency of one of your accounts.")
	}
	var amount int64
	if f.Valid() && f.Amount != "" {
		var msg string
		if amount, msg = v.m.Parse(f.Amount, f.Currency); msg != "" {
			f.AddError("amount", msg)
		}
	}
	if f.Valid() {
		if f.Amount == "" {
			err = v.b.RemoveBudget(f.Month, categoryID, f.Currency)
		} else {
			err = v.b.SetBudget(f.Month, categoryID, f.Currency, amount)
		}
		if errors.Is(err, models.ErrNotFound) {
			return err
		}
		if err := v.m.applyLedgerErrors(err, &f.Form, f.Currency); err != nil {
			return err
		}
	}
	if !f.Valid() {
		return h.renderBudget(c, fiber.StatusUnprocessableEntity, f.Month, budgetState{form: &f})
	}
	row := budgetRowID(categoryID, f.Currency)
	if !isHTMX(c) {
		return h.redirect(c, budgetURL(f.Month)+"#"+row)
	}
	return h.renderBudget(c, fiber.StatusOK, f.Month, budgetState{focus: row})
}

// CopyBudget sets a month's amounts to the month before's.
func (h *Handlers) CopyBudget(c *fiber.Ctx) error {
	month, err := postedMonth(c)
	if err != nil {
		return err
	}
	b, err := h.book(c)
	if err != nil {
		return err
	}
	n, err := b.CopyBudget(month)
	if err != nil {
		return err
	}
	prev := longMonthLabel(ledger.AddMonths(month, -1))
	notice := prev + " has no amounts to copy."
	if n > 0 {
		notice = "Copied " + plural(n, "amount", "amounts") + " from " + prev + "."
	}
	return h.budgetDone(c, month, notice)
}

// AverageBudget sets a month's amount of one category (category_id), or of every category, to
// its average over the three months before.
func (h *Handlers) AverageBudget(c *fiber.Ctx) error {
	month, err := postedMonth(c)
	if err != nil {
		return err
	}
	categoryID, ok := formID(c.FormValue("category_id"))
	if !ok {
		return fiber.NewError(fiber.StatusBadRequest, "category_id: Give the id as a positive whole number.")
	}
	b, err := h.book(c)
	if err != nil {
		return err
	}
	n, err := b.AverageBudget(month, categoryID)
	if err != nil {
		return err
	}
	notice := "Set " + plural(n, "amount", "amounts") + " to the average of the last 3 months."
	if n == 0 {
		notice = "Nothing was spent or received in the last 3 months, so no amount changed."
	}
	return h.budgetDone(c, month, notice)
}

// budgetDone answers a budget action: the redrawn budget for htmx, else the page, with notice.
func (h *Handlers) budgetDone(c *fiber.Ctx, month, notice string) error {
	if !isHTMX(c) {
		h.flash(c, notice)
		return h.redirect(c, budgetURL(month))
	}
	return h.renderBudget(c, fiber.StatusOK, month, budgetState{notice: notice})
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return idString(uint(n)) + " " + many
}

func budgetURL(month string) string { return "/budget?" + url.Values{"month": {month}}.Encode() }

func budgetRowID(categoryID uint, code string) string {
	if categoryID == 0 {
		return "budget-none-" + code
	}
	return "budget-" + idString(categoryID) + "-" + code
}
