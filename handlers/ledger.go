package handlers

import (
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"tally/models"
	"tally/models/ledger"
	"tally/money"
	"tally/views"
)

// book is the signed-in user's ledger: the only handle the ledger handlers hold on money. The
// user comes from the session, never from the request's fields.
func (h *Handlers) book(c *fiber.Ctx) (*ledger.Book, error) {
	return ledger.ForClock(h.db, currentUser(c).ID, h.now)
}

// errLedgerReadOnly answers a ledger write while staff view Tally as its owner: support may
// look, but the money is the owner's to change.
var errLedgerReadOnly = fiber.NewError(fiber.StatusForbidden,
	"You are viewing this ledger as its owner, for support: it is read-only. Stop viewing as them to make changes in your own.")

// ledgerWritable guards every ledger write.
func (h *Handlers) ledgerWritable(c *fiber.Ctx) error {
	if impersonator(c) != nil {
		return errLedgerReadOnly
	}
	return c.Next()
}

// localMoney caches the request's money formatter.
type localMoney struct{}

// moneyFmt formats and parses the amounts of one request in the user's number format.
type moneyFmt struct{ nf money.NumberFormat }

// money is the user's number format, read once per request.
func (h *Handlers) money(c *fiber.Ctx) (moneyFmt, error) {
	if m, ok := c.Locals(localMoney{}).(moneyFmt); ok {
		return m, nil
	}
	p, err := models.FindProfile(h.db, currentUser(c).ID)
	if err != nil {
		return moneyFmt{}, err
	}
	m := moneyFmt{nf: numberFormat(p)}
	c.Locals(localMoney{}, m)
	return m, nil
}

// currency is code's currency; a stored code always has one.
func currency(code string) money.Currency {
	cur, ok := money.Lookup(code)
	if !ok {
		return money.Currency{Code: code, Exponent: 2}
	}
	return cur
}

// Amount is minor units of code as the user writes them.
func (m moneyFmt) Amount(minor int64, code string) views.Amount {
	return views.Amount{Text: money.Format(minor, currency(code), m.nf), Negative: minor < 0, Currency: code}
}

// Input is an amount as a form field shows it: no grouping would be kinder to edit, but the
// user's own format is what Parse reads back, so the field round-trips.
func (m moneyFmt) Input(minor int64, code string) string {
	return money.Format(minor, currency(code), m.nf)
}

// Parse reads an amount typed in the user's format; the error is a sentence for the field.
func (m moneyFmt) Parse(s, code string) (int64, string) {
	v, err := money.Parse(s, currency(code), m.nf)
	if err == nil {
		return v, ""
	}
	var pe *money.ParseError
	if errors.As(err, &pe) {
		return 0, pe.Message
	}
	return 0, "Enter an amount, like " + money.Format(123456, currency(code), m.nf) + "."
}

// Totals formats per-currency totals.
func (m moneyFmt) Totals(ts []money.Total) []views.Amount {
	out := make([]views.Amount, len(ts))
	for i, t := range ts {
		out[i] = m.Amount(t.Minor, t.Code)
	}
	return out
}

// formID reads an id field of a form or query: "" is 0, anything else must be a positive
// whole number (ok false otherwise).
func formID(s string) (uint, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, true
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 {
		return 0, false
	}
	return uint(n), true
}

// pathID is the :id of the route; anything but a positive number is not found.
func pathID(c *fiber.Ctx) (uint, error) {
	id, ok := formID(c.Params("id"))
	if !ok || id == 0 {
		return 0, models.ErrNotFound
	}
	return id, nil
}

// pathRecord loads the :id record of the signed-in user's book with load: the one way a
// ledger page finds what its URL names, so another user's id is not found like a missing one.
func pathRecord[T any](h *Handlers, c *fiber.Ctx, load func(*ledger.Book, uint) (*T, error)) (*ledger.Book, *T, error) {
	id, err := pathID(c)
	if err != nil {
		return nil, nil, err
	}
	b, err := h.book(c)
	if err != nil {
		return nil, nil, err
	}
	r, err := load(b, id)
	return b, r, err
}

// applyLedgerErrors puts a ledger.ValidationError's messages on f, completing amounts in code's
// currency; other errors are returned.
func (m moneyFmt) applyLedgerErrors(err error, f *views.Form, code string) error {
	return fieldErrors(err, f, func(minor int64) string { return m.Amount(minor, code).Text })
}

// fieldErrors puts a ledger.ValidationError's messages on f (format completes any amount in
// them; nil for forms whose messages name none); other errors are returned.
func fieldErrors(err error, f *views.Form, format func(minor int64) string) error {
	var ve *ledger.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	for field := range ve.Fields {
		f.AddError(field, ve.Message(field, format))
	}
	return nil
}
