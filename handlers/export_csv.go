package handlers

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"tally/importer"
	"tally/models/ledger"
)

// ExportTransactionsCSV writes the transactions the list shows with the same filters (the
// list's query string) as Tally's own CSV, the columns its import reads: importing the file
// into the account it came from adds nothing. The file is the user's data: never cached.
func (h *Handlers) ExportTransactionsCSV(c *fiber.Ctx) error {
	f, err := readTxFilter(c)
	if err != nil {
		return err
	}
	v, err := h.ledgerView(c)
	if err != nil {
		return err
	}
	filter := v.parseFilter(&f)
	first, err := v.b.Transactions(filter, "", ledger.MaxLimit)
	if err := fieldErrors(err, &f.Form, nil); err != nil {
		return err
	}
	if !f.Valid() {
		for _, msg := range f.FieldErrors {
			return fiber.NewError(fiber.StatusBadRequest, "The filters could not be read: "+msg)
		}
	}
	rows := func(yield func(importer.ExportRow, error) bool) {
		for p := first; ; {
			for _, r := range p.Rows {
				if !yield(v.exportRow(r), nil) {
					return
				}
			}
			if p.Next == "" {
				return
			}
			var err error
			if p, err = v.b.Transactions(filter, p.Next, ledger.MaxLimit); err != nil {
				yield(importer.ExportRow{}, err)
				return
			}
		}
	}
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="tally-transactions-`+h.today()+`.csv"`)
	c.Set(fiber.HeaderCacheControl, "no-store")
	if err := importer.WriteCSV(c.Response().BodyWriter(), rows); err != nil {
		c.Response().ResetBody()
		return errors.Join(errors.New("export csv"), err)
	}
	return nil
}

// exportRow is a row as the export writes it: the category's name, "Split", "Opening balance"
// or the other account of a transfer.
func (v *ledgerView) exportRow(r ledger.Row) importer.ExportRow {
	shown := v.row(r)
	category := shown.Category
	if shown.Transfer != "" {
		category = "Transfer: " + shown.Transfer
	}
	code := ""
	if a := v.accountsBy[r.AccountID]; a != nil {
		code = a.Currency
	}
	return importer.ExportRow{Date: r.Date, Payee: r.Payee, Memo: r.Memo, Category: category, Account: shown.Account,
		Amount: r.Amount, Currency: currency(code)}
}
