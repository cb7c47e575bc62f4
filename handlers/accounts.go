package handlers

import (
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"

	"tally/models/ledger"
	"tally/money"
	"tally/views"
)

// AccountsPage lists the user's accounts with balances and totals per currency.
func (h *Handlers) AccountsPage(c *fiber.Ctx) error {
	return h.renderAccounts(c, fiber.StatusOK, views.AccountForm{Kind: ledger.KindChecking, OpeningDate: h.today()})
}

// today is the server's calendar day, the default date of new rows.
func (h *Handlers) today() string { return h.now().Format(time.DateOnly) }

func (h *Handlers) renderAccounts(c *fiber.Ctx, status int, f views.AccountForm) error {
	b, err := h.book(c)
	if err != nil {
		return err
	}
	m, err := h.money(c)
	if err != nil {
		return err
	}
	accounts, err := b.Accounts(true)
	if err != nil {
		return err
	}
	totals, err := ledger.TotalsByCurrency(accounts)
	if err != nil {
		return err
	}
	d := views.AccountsData{Form: f, Kinds: kindOptions(), Currencies: currencyOptions(), Totals: m.Totals(totals)}
	for _, a := range accounts {
		item := accountItem(m, a)
		if a.Closed {
			d.Closed = append(d.Closed, item)
		} else {
			d.Open = append(d.Open, item)
		}
	}
	if d.Form.Currency == "" {
		d.Form.Currency = "USD"
		if len(accounts) > 0 {
			d.Form.Currency = accounts[0].Currency
		}
	}
	return h.render(c, page{Title: "Accounts", Status: status, Body: views.AccountsPage(d), Fragment: views.NewAccountForm(d)})
}

func accountItem(m moneyFmt, a ledger.Account) views.AccountItem {
	return views.AccountItem{ID: a.ID, Name: a.Name, Kind: a.Kind, Currency: a.Currency,
		Balance: m.Amount(a.Balance, a.Currency), Closed: a.Closed}
}

func kindOptions() []views.Option {
	out := make([]views.Option, len(ledger.Kinds))
	for i, k := range ledger.Kinds {
		out[i] = views.Option{Value: k, Label: views.KindLabel(k)}
	}
	return out
}

func currencyOptions() []views.Option {
	var out []views.Option
	for _, code := range money.Codes() {
		out = append(out, views.Option{Value: code, Label: code})
	}
	return out
}

// CreateAccount adds an account and its opening balance, then opens its register.
func (h *Handlers) CreateAccount(c *fiber.Ctx) error {
	var f views.AccountForm
	if err := decodeForm(c, &f); err != nil {
		return err
	}
	m, err := h.money(c)
	if err != nil {
		return err
	}
	in := ledger.AccountInput{Name: f.Name, Kind: f.Kind, Currency: f.Currency, OpeningDate: f.OpeningDate}
	if _, ok := money.Lookup(f.Currency); !ok {
		f.AddError("currency", "Choose a currency from the list.")
	} else if f.OpeningBalance != "" {
		var msg string
		if in.OpeningBalance, msg = m.Parse(f.OpeningBalance, f.Currency); msg != "" {
			f.AddError("opening_balance", msg)
		}
	}
	if f.Valid() {
		b, err := h.book(c)
		if err != nil {
			return err
		}
		a, err := b.CreateAccount(in)
		if err := m.applyLedgerErrors(err, &f.Form, f.Currency); err != nil {
			return err
		}
		if f.Valid() {
			// A new account holder starts with the default categories (it adds none when the
			// user already has some).
			if err := b.SeedDefaults(); err != nil {
				return err
			}
			return h.redirect(c, views.AccountItem{ID: a.ID}.URL())
		}
	}
	return h.renderAccounts(c, fiber.StatusUnprocessableEntity, f)
}

// accountFor loads the :id account of the signed-in user; another user's is not found.
func (h *Handlers) accountFor(c *fiber.Ctx) (*ledger.Book, *ledger.Account, error) {
	return pathRecord(h, c, (*ledger.Book).Account)
}

// EditAccountPage shows the rename form; for htmx the form alone, in place of the heading.
func (h *Handlers) EditAccountPage(c *fiber.Ctx) error {
	_, a, err := h.accountFor(c)
	if err != nil {
		return err
	}
	return h.renderAccountEdit(c, fiber.StatusOK, views.AccountEditForm{ID: a.ID, Name: a.Name, Kind: a.Kind})
}

func (h *Handlers) renderAccountEdit(c *fiber.Ctx, status int, f views.AccountEditForm) error {
	return h.render(c, page{Title: "Edit account", Status: status, Narrow: true,
		Body: views.AccountEditPage(f, kindOptions()), Fragment: views.AccountEditFormView(f, kindOptions())})
}

// UpdateAccount renames an account or changes its kind.
func (h *Handlers) UpdateAccount(c *fiber.Ctx) error {
	b, a, err := h.accountFor(c)
	if err != nil {
		return err
	}
	f := views.AccountEditForm{ID: a.ID}
	if err := decodeForm(c, &f); err != nil {
		return err
	}
	m, err := h.money(c)
	if err != nil {
		return err
	}
	_, err = b.UpdateAccount(a.ID, ledger.AccountEdit{Name: f.Name, Kind: f.Kind})
	if err := m.applyLedgerErrors(err, &f.Form, a.Currency); err != nil {
		return err
	}
	if !f.Valid() {
		return h.renderAccountEdit(c, fiber.StatusUnprocessableEntity, f)
	}
	h.flash(c, "The account is saved.")
	return h.redirect(c, views.AccountItem{ID: a.ID}.URL())
}

// CloseAccount folds an account away; its history stays.
func (h *Handlers) CloseAccount(c *fiber.Ctx) error {
	return h.setAccountClosed(c, true)
}

// ReopenAccount brings a closed account back.
func (h *Handlers) ReopenAccount(c *fiber.Ctx) error {
	return h.setAccountClosed(c, false)
}

func (h *Handlers) setAccountClosed(c *fiber.Ctx, closed bool) error {
	b, a, err := h.accountFor(c)
	if err != nil {
		return err
	}
	msg := a.Name + " is open again."
	if closed {
		err, msg = b.CloseAccount(a.ID), a.Name+" is closed. Its history stays; you can reopen it any time."
	} else {
		err = b.ReopenAccount(a.ID)
	}
	if err != nil {
		return err
	}
	h.flash(c, msg)
	return h.redirect(c, views.AccountItem{ID: a.ID}.URL())
}

// DeleteAccountPage asks before deleting; an account with transactions asks to confirm that
// they go too.
func (h *Handlers) DeleteAccountPage(c *fiber.Ctx) error {
	_, a, err := h.accountFor(c)
	if err != nil {
		return err
	}
	return h.render(c, page{Title: "Delete " + a.Name, Narrow: true, Body: views.AccountDeletePage(a.ID, a.Name, false)})
}

// DeleteLedgerAccount deletes an empty account, or one whose transactions the user agreed to
// delete with it (confirm=delete-transactions).
func (h *Handlers) DeleteLedgerAccount(c *fiber.Ctx) error {
	b, a, err := h.accountFor(c)
	if err != nil {
		return err
	}
	err = b.DeleteAccount(a.ID, form(c, "confirm") == "delete-transactions")
	if errors.Is(err, ledger.ErrAccountNotEmpty) {
		return h.render(c, page{Title: "Delete " + a.Name, Narrow: true, Status: fiber.StatusUnprocessableEntity,
			Body: views.AccountDeletePage(a.ID, a.Name, true)})
	} else if err != nil {
		return err
	}
	h.flash(c, a.Name+" is deleted.")
	return h.redirect(c, "/accounts")
}
