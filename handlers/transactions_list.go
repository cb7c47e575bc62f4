package handlers

import (
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"tally/models/ledger"
	"tally/money"
	"tally/views"
)

// TransactionsPage lists every account's transactions with filters from the URL. For htmx it is
// the list alone, or (X-Tally-Rows) the next page of rows.
func (h *Handlers) TransactionsPage(c *fiber.Ctx) error {
	f, err := readTxFilter(c)
	if err != nil {
		return err
	}
	v, err := h.ledgerView(c)
	if err != nil {
		return err
	}
	filter := v.parseFilter(&f)
	d := views.TransactionsData{Filter: f, Choices: v.choices, Filtered: filter != (ledger.Filter{}),
		Export: "/transactions/export.csv?" + filterQuery(f, ""), Flows: flowChoices, Currencies: v.currencyChoices(f.Currency)}
	k := pageKey{page: "transactions", query: string(c.Request().URI().QueryString())}
	rows := isHTMX(c) && c.Get("X-Tally-Rows") == "1"
	switch {
	case rows:
		k.page, k.fragment = "transactions rows", true
	case isHTMX(c):
		k.page, k.fragment = "transactions list", true
	}
	// A filter to correct is answered (422) but not kept.
	return h.keptPage(c, v, k, page{Title: "Transactions"}, func() (templ.Component, int, error) {
		if d.Filter.Valid() {
			p, err := v.b.Transactions(filter, c.Query("cursor"), ledger.DefaultLimit)
			if errors.Is(err, ledger.ErrBadCursor) {
				return nil, 0, fiber.NewError(fiber.StatusBadRequest, "This page of the list does not exist. Go back to its first page.")
			}
			if err := fieldErrors(err, &d.Filter.Form, nil); err != nil {
				return nil, 0, err
			}
			if p != nil {
				d.Rows = v.rows(p.Rows)
				if p.Next != "" {
					d.More = "/transactions?" + filterQuery(f, p.Next)
				}
			}
		}
		status := fiber.StatusOK
		if !d.Filter.Valid() {
			status = fiber.StatusUnprocessableEntity
		}
		switch {
		case rows:
			return views.MoreRows(d.Rows, d.More, false, 6), status, nil
		case k.fragment:
			return views.TransactionsList(d), status, nil
		}
		return views.TransactionsPage(d), status, nil
	})
}

// clean copies a query value trimmed (Fiber's are reused after the handler).
func clean(s string) string { return strings.TrimSpace(strings.Clone(s)) }

// readTxFilter reads the list's filter from the URL: the page's and its CSV export's.
func readTxFilter(c *fiber.Ctx) (views.TxFilter, error) {
	var f views.TxFilter
	if err := c.QueryParser(&f); err != nil {
		return f, fiber.ErrBadRequest
	}
	return views.TxFilter{AccountID: clean(f.AccountID), CategoryID: clean(f.CategoryID), From: clean(f.From),
		To: clean(f.To), Q: clean(f.Q), Min: clean(f.Min), Max: clean(f.Max), Uncategorized: clean(f.Uncategorized),
		Flow: clean(f.Flow), Currency: strings.ToUpper(clean(f.Currency))}, nil
}

// flowChoices are the sides of the cash flow the list can show, as the report counts them.
var flowChoices = []views.Option{
	{Value: ledger.FlowIncome, Label: "Income"},
	{Value: ledger.FlowExpense, Label: "Expense"},
	{Value: ledger.FlowNet, Label: "Income and expense"},
}

// currencyChoices are the currencies of the user's accounts, in code order, and current (a
// currency in the URL that no account has) so the form shows what filters the list.
func (v *ledgerView) currencyChoices(current string) []views.Option {
	var codes []string
	for _, a := range v.accounts {
		codes = appendCode(codes, a.Currency)
	}
	if current != "" {
		codes = appendCode(codes, current)
	}
	slices.Sort(codes)
	out := make([]views.Option, len(codes))
	for i, code := range codes {
		out[i] = views.Option{Value: code, Label: code}
	}
	return out
}

// readFlag reads a checkbox's value: "" is off; "1" (what the form sends), "on" and "true" on.
func readFlag(s string) (on, ok bool) {
	switch strings.ToLower(s) {
	case "":
		return false, true
	case "1", "on", "true":
		return true, true
	}
	return false, false
}

// checkFlow reads a cash-flow side: "" for every row.
func checkFlow(s string) bool {
	return s == "" || slices.ContainsFunc(flowChoices, func(o views.Option) bool { return o.Value == s })
}

// parseFilter reads the filter form; what cannot be read is marked on f. Amounts are read in
// the chosen account's currency, the chosen currency, or the one currency of all the user's
// accounts; with accounts in several currencies an amount filter needs an account or a currency.
func (v *ledgerView) parseFilter(f *views.TxFilter) ledger.Filter {
	var out ledger.Filter
	var ok bool
	if out.AccountID, ok = formID(f.AccountID); !ok {
		f.AddError("account_id", "Choose an account from the list.")
	}
	if out.CategoryID, ok = formID(f.CategoryID); !ok {
		f.AddError("category_id", "Choose a category from the list.")
	}
	if out.Uncategorized, ok = readFlag(f.Uncategorized); !ok {
		f.AddError("uncategorized", "Tick the box or leave it empty.")
	}
	if out.Uncategorized && out.CategoryID != 0 {
		f.AddError("uncategorized", "Choose a category or rows without one, not both.")
	}
	if out.Flow = f.Flow; !checkFlow(f.Flow) {
		f.AddError("flow", "Choose income, expense or both from the list.")
	}
	if out.Currency = f.Currency; f.Currency != "" {
		if _, ok := money.Lookup(f.Currency); !ok {
			f.AddError("currency", "Choose a currency from the list.")
		}
	}
	out.From, out.To, out.Text = f.From, f.To, f.Q
	if f.Min == "" && f.Max == "" {
		return out
	}
	code := ""
	if a := v.accountsBy[out.AccountID]; a != nil {
		code = a.Currency
	} else if f.Currency != "" {
		code = f.Currency
	} else {
		for _, a := range v.accounts {
			if code != "" && a.Currency != code {
				f.AddError("min", "Your accounts are in several currencies: choose an account or a currency to filter by amount.")
				return out
			}
			code = a.Currency
		}
	}
	for _, bound := range []struct {
		field, value string
		dst          **int64
	}{{"min", f.Min, &out.MinAmount}, {"max", f.Max, &out.MaxAmount}} {
		if bound.value == "" {
			continue
		}
		n, msg := v.m.Parse(bound.value, code)
		if msg != "" {
			f.AddError(bound.field, msg)
			continue
		}
		*bound.dst = &n
	}
	return out
}

// filterQuery is the filter's URL query, with cursor when set: the next page keeps the filters.
func filterQuery(f views.TxFilter, cursor string) string {
	q := url.Values{}
	for _, p := range [][2]string{{"account_id", f.AccountID}, {"category_id", f.CategoryID}, {"from", f.From},
		{"to", f.To}, {"q", f.Q}, {"min", f.Min}, {"max", f.Max}, {"uncategorized", f.Uncategorized},
		{"flow", f.Flow}, {"currency", f.Currency}, {"cursor", cursor}} {
		if p[1] != "" {
			q.Set(p[0], p[1])
		}
	}
	return q.Encode()
}
