package ledger

import "testing"

// BenchmarkReports50k times the reports' and the budget's reads on one user with 50,000 rows
// over ten years (the seed of BenchmarkRegister50k, another user's rows beside them). The
// page cases add what a page reads besides: the accounts and categories, or, while they are
// kept for the ledger version (the handlers' cache), the version.
func BenchmarkReports50k(b *testing.B) {
	db := openTestDB(b)
	book := newBook(b, db, newUser(b, db, "ada"))
	s := seed(b, db, book, 50_000)
	other := newBook(b, db, newUser(b, db, "bob"))
	seed(b, db, other, 5_000)
	analyze(b, db)
	cats := must[[]Category](b)(book.Categories())
	for _, c := range cats {
		for _, m := range Months("2023-01", "2024-12") {
			noErr(b, book.SetBudget(m, c.ID, "USD", int64(c.ID)*10_00))
		}
	}
	page := func(read func() error) func() error {
		return func() error {
			if _, err := book.Accounts(true); err != nil {
				return err
			}
			if _, err := book.Categories(); err != nil {
				return err
			}
			return read()
		}
	}
	accounts := must[[]Account](b)(book.Accounts(true))
	kept := func(read func(k *Book) error) func() error {
		return func() error {
			if _, err := book.Version(); err != nil {
				return err
			}
			return read(book.Knowing(accounts, cats))
		}
	}
	for _, bc := range []struct {
		name string
		fn   func() error
	}{
		{"category report 12 months", func() error { _, err := book.CategoryReport("2024-01", "2024-12", 0); return err }},
		{"category report 12 months of an account", func() error {
			_, err := book.CategoryReport("2024-01", "2024-12", s.card)
			return err
		}},
		{"category report 10 years", func() error { _, err := book.CategoryReport("2016-01", "2025-12", 0); return err }},
		{"net worth 12 months", func() error { _, err := book.NetWorthReport("2024-01", "2024-12", 0); return err }},
		{"budget month", func() error { _, err := book.BudgetMonth("2024-06"); return err }},
		{"budget against actual 12 months", func() error { _, err := book.BudgetReport("2024-01", "2024-12", 0); return err }},
		{"spending page reads", page(func() error {
			r, err := book.CategoryReport("2024-01", "2024-12", 0)
			if err == nil {
				r.Spending(cats)
			}
			return err
		})},
		{"budget page reads", page(func() error { _, err := book.BudgetMonth("2024-06"); return err })},
		// As the handlers read a page while its ledger version's accounts and categories are
		// kept: the version, then the report told of them.
		{"spending page reads, lists kept", kept(func(k *Book) error {
			r, err := k.CategoryReport("2024-01", "2024-12", 0)
			if err == nil {
				r.Spending(cats)
			}
			return err
		})},
		{"budget page reads, lists kept", kept(func(k *Book) error { _, err := k.BudgetMonth("2024-06"); return err })},
	} {
		b.Run(bc.name, func(b *testing.B) { timings(b, bc.fn) })
	}
	checkReportTotals(b, db)
}
