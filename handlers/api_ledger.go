package handlers

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"tally/models"
	"tally/models/ledger"
	"tally/money"
)

// The read API for scripts: the signed-in user's ledger as JSON, reached with the session
// cookie like /api/me. Every amount is written twice, as a decimal string in its account's
// currency ("-12.34", as money.FormatMachine writes it) and as integer minor units (-1234),
// and never as a float, which would round cents. A bad query parameter answers 400 with a
// message that starts with the parameter's name; an id that is not the user's answers 404,
// exactly like one that does not exist.

type apiAccount struct {
	ID           uint   `json:"id"`
	Name         string `json:"name"`
	Kind         string `json:"kind"`
	Currency     string `json:"currency"`
	Balance      string `json:"balance"`
	BalanceMinor int64  `json:"balance_minor"`
	Closed       bool   `json:"closed"`
}

type apiCategory struct {
	ID       uint   `json:"id"`
	Name     string `json:"name"`
	Group    string `json:"group"`
	IsIncome bool   `json:"is_income"`
	Hidden   bool   `json:"hidden"`
}

type apiTransaction struct {
	ID                uint       `json:"id"`
	AccountID         uint       `json:"account_id"`
	Date              string     `json:"date"`
	Payee             string     `json:"payee"`
	Memo              string     `json:"memo"`
	Amount            string     `json:"amount"`
	AmountMinor       int64      `json:"amount_minor"`
	CategoryID        *uint      `json:"category_id"`
	TransferAccountID *uint      `json:"transfer_account_id"`
	Splits            []apiSplit `json:"splits"`
}

type apiSplit struct {
	CategoryID  uint   `json:"category_id"`
	Amount      string `json:"amount"`
	AmountMinor int64  `json:"amount_minor"`
	Memo        string `json:"memo"`
}

// apiTransactionPage is one page of transactions; NextCursor is null on the last page.
type apiTransactionPage struct {
	Items      []apiTransaction `json:"items"`
	NextCursor *string          `json:"next_cursor"`
}

// APIAccounts lists every account of the user, closed ones too, with its balance.
func (h *Handlers) APIAccounts(c *fiber.Ctx) error {
	b, err := h.book(c)
	if err != nil {
		return err
	}
	accounts, err := b.Accounts(true)
	if err != nil {
		return err
	}
	out := make([]apiAccount, 0, len(accounts))
	for _, a := range accounts {
		out = append(out, apiAccount{ID: a.ID, Name: a.Name, Kind: a.Kind, Currency: a.Currency,
			Balance: money.FormatMachine(a.Balance, currency(a.Currency)), BalanceMinor: a.Balance, Closed: a.Closed})
	}
	return c.JSON(out)
}

// APICategories lists every category of the user, hidden ones too, in the user's order.
func (h *Handlers) APICategories(c *fiber.Ctx) error {
	b, err := h.book(c)
	if err != nil {
		return err
	}
	categories, err := b.Categories()
	if err != nil {
		return err
	}
	out := make([]apiCategory, 0, len(categories))
	for _, cat := range categories {
		out = append(out, apiCategory{ID: cat.ID, Name: cat.Name, Group: cat.Group, IsIncome: cat.IsIncome, Hidden: cat.Hidden})
	}
	return c.JSON(out)
}

// APITransactions is a page of the user's transactions, newest first, narrowed by the query:
// account_id, category_id, from and to (YYYY-MM-DD, inclusive), q (text in the payee or memo),
// min and max (signed amounts, see amountCurrency), uncategorized=1 (the report rows without a
// category), flow (income, expense or net: the rows the cash-flow report counts), currency (the
// accounts in it), cursor (the previous page's next_cursor) and limit (1 to ledger.MaxLimit,
// ledger.DefaultLimit when absent). See ledger.Filter.
func (h *Handlers) APITransactions(c *fiber.Ctx) error {
	b, err := h.book(c)
	if err != nil {
		return err
	}
	accounts, err := b.Accounts(true)
	if err != nil {
		return err
	}
	q, err := parseTransactionQuery(c, b, accounts)
	if err != nil {
		return err
	}
	page, err := b.Transactions(q.filter, q.cursor, q.limit)
	if err != nil {
		return apiLedgerError(err)
	}
	currencies := make(map[uint]money.Currency, len(accounts))
	for _, a := range accounts {
		currencies[a.ID] = currency(a.Currency)
	}
	out := apiTransactionPage{Items: make([]apiTransaction, 0, len(page.Rows))}
	for _, r := range page.Rows {
		cur, ok := currencies[r.AccountID]
		if !ok { // an account made since the list was read
			a, err := b.Account(r.AccountID)
			if err != nil {
				return err
			}
			cur = currency(a.Currency)
			currencies[a.ID] = cur
		}
		out.Items = append(out.Items, apiTransactionOf(r, cur))
	}
	if page.Next != "" {
		out.NextCursor = &page.Next
	}
	return c.JSON(out)
}

func apiTransactionOf(r ledger.Row, cur money.Currency) apiTransaction {
	t := apiTransaction{ID: r.ID, AccountID: r.AccountID, Date: r.Date, Payee: r.Payee, Memo: r.Memo,
		Amount: money.FormatMachine(r.Amount, cur), AmountMinor: r.Amount, CategoryID: r.CategoryID,
		TransferAccountID: r.TransferAccountID, Splits: make([]apiSplit, 0, len(r.Splits))}
	for _, s := range r.Splits {
		t.Splits = append(t.Splits, apiSplit{CategoryID: s.CategoryID, Amount: money.FormatMachine(s.Amount, cur),
			AmountMinor: s.Amount, Memo: s.Memo})
	}
	return t
}

// transactionQuery is the query of /api/transactions, read and checked.
type transactionQuery struct {
	filter ledger.Filter
	cursor string
	limit  int
}

// badParam is the answer to a query parameter that cannot be read.
func badParam(name, msg string) error {
	return fiber.NewError(fiber.StatusBadRequest, name+": "+msg)
}

// parseTransactionQuery reads the query: its form first (400), then the ids through the book
// (404), then the amounts, whose decimals depend on the account.
func parseTransactionQuery(c *fiber.Ctx, b *ledger.Book, accounts []ledger.Account) (transactionQuery, error) {
	var q transactionQuery
	var ok bool
	for _, p := range []struct {
		name string
		dst  *uint
	}{{"account_id", &q.filter.AccountID}, {"category_id", &q.filter.CategoryID}} {
		if *p.dst, ok = formID(c.Query(p.name)); !ok {
			return q, badParam(p.name, "Give the id as a positive whole number.")
		}
	}
	for _, p := range []struct {
		name string
		dst  *string
	}{{"from", &q.filter.From}, {"to", &q.filter.To}} {
		*p.dst = c.Query(p.name)
		if _, valid := ledger.ParseDate(*p.dst); *p.dst != "" && !valid {
			return q, badParam(p.name, "Give a date like 2024-03-31.")
		}
	}
	q.filter.Text = c.Query("q")
	if q.filter.Uncategorized, ok = readFlag(c.Query("uncategorized")); !ok {
		return q, badParam("uncategorized", "Give 1 for the rows without a category, or leave it out.")
	}
	if q.filter.Uncategorized && q.filter.CategoryID != 0 {
		return q, badParam("uncategorized", "Give category_id or uncategorized, not both.")
	}
	if q.filter.Flow = c.Query("flow"); !checkFlow(q.filter.Flow) {
		return q, badParam("flow", "Give income, expense or net.")
	}
	if code := c.Query("currency"); code != "" {
		cur, ok := money.Lookup(code)
		if !ok {
			return q, badParam("currency", "Give a currency code like EUR.")
		}
		q.filter.Currency = cur.Code
	}
	q.cursor = c.Query("cursor")
	q.limit = ledger.DefaultLimit
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > ledger.MaxLimit {
			return q, badParam("limit", "Give a whole number from 1 to "+strconv.Itoa(ledger.MaxLimit)+".")
		}
		q.limit = n
	}

	var account *ledger.Account
	if id := q.filter.AccountID; id != 0 {
		i := slices.IndexFunc(accounts, func(a ledger.Account) bool { return a.ID == id })
		if i < 0 {
			return q, fiber.NewError(fiber.StatusNotFound, "account_id: You have no account with this id.")
		}
		account = &accounts[i]
	}
	if id := q.filter.CategoryID; id != 0 {
		if _, err := b.Category(id); errors.Is(err, models.ErrNotFound) {
			return q, fiber.NewError(fiber.StatusNotFound, "category_id: You have no category with this id.")
		} else if err != nil {
			return q, err
		}
	}

	for _, p := range []struct {
		name string
		dst  **int64
	}{{"min", &q.filter.MinAmount}, {"max", &q.filter.MaxAmount}} {
		s := c.Query(p.name)
		if s == "" {
			continue
		}
		cur, err := amountCurrency(p.name, account, accounts)
		if account == nil && q.filter.Currency != "" {
			cur, err = currency(q.filter.Currency), nil
		}
		if err != nil {
			return q, err
		}
		v, err := money.ParseMachine(s, cur)
		if err != nil {
			return q, badParam(p.name, err.Error())
		}
		*p.dst = &v
	}
	return q, nil
}

// amountCurrency is what min and max are read in. They are signed decimals like "-12.34"
// (negative = money out), compared with each row in its own account's currency. With
// account_id that is the account's currency. Without it, they are read with the decimals that
// all the user's accounts share (2 for USD and EUR alike), so "10" means 10 dollars in a USD
// account and 10 euros in an EUR one; when the accounts' decimals differ (USD and JPY), one
// number would mean amounts a hundred times apart, so the query is refused and must name an
// account.
func amountCurrency(param string, account *ledger.Account, accounts []ledger.Account) (money.Currency, error) {
	if account != nil {
		return currency(account.Currency), nil
	}
	var codes []string
	exponent := -1
	for _, a := range accounts {
		cur := currency(a.Currency)
		if exponent >= 0 && cur.Exponent != exponent {
			return money.Currency{}, badParam(param, "Your accounts' currencies have different decimals: give account_id to filter by amount.")
		}
		exponent = cur.Exponent
		if !slices.Contains(codes, cur.Code) {
			codes = append(codes, cur.Code)
		}
	}
	if exponent < 0 { // no accounts, no rows: any reading of the number finds nothing
		return currency("USD"), nil
	}
	slices.Sort(codes)
	// The joined code only appears in a parse error: "EUR/USD amounts have at most 2 decimals."
	return money.Currency{Code: strings.Join(codes, "/"), Exponent: exponent}, nil
}

// apiLedgerError names the parameter the book refused: a field of a ValidationError (the
// book's field names are the query's), or the cursor.
func apiLedgerError(err error) error {
	var ve *ledger.ValidationError
	switch {
	case errors.As(err, &ve) && len(ve.Fields) > 0:
		fields := make([]string, 0, len(ve.Fields))
		for f := range ve.Fields {
			fields = append(fields, f)
		}
		slices.Sort(fields)
		return badParam(fields[0], ve.Fields[fields[0]])
	case errors.Is(err, ledger.ErrBadCursor):
		return badParam("cursor", "Give the next_cursor of the previous page, as it was.")
	}
	return err
}
