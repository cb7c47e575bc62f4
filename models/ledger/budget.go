package ledger

import "sort"

// A tracking budget: for each category, what the user plans to spend in a month (or, for an
// income category, expects to receive), per currency. It moves no money; the page sets it
// beside what the month's report rows did.

// BudgetLine is one category in one currency over a month or a range of months.
type BudgetLine struct {
	CategoryID uint // 0 for the rows without a category, which cannot be budgeted
	Currency   string
	// Budgeted is the amount planned (minor units, zero or more), summed over the months;
	// HasBudget says whether any month set one.
	Budgeted  int64
	HasBudget bool
	// Activity is the signed sum of the category's report rows (negative = money out).
	Activity int64
}

// Spent is what the line's category spent: its money out, net of refunds.
func (l BudgetLine) Spent() int64 { return -l.Activity }

// BudgetReport is the budget against the report rows, per category and currency, over a range
// of months. Lines come in the user's category order, the rows without a category last; a
// category shows in each currency it has an amount or rows in.
type BudgetReport struct {
	From, To string // YYYY-MM, inclusive
	Lines    []BudgetLine
}

// budgetQuery reads, in one statement, the amounts set from from to to (YYYY-MM) and the month
// totals of categoryMonthsQuery (of one account when accountID is not 0): a row of is_budget
// has a category's amount in a currency, the others a total of an account.
func (b *Book) budgetQuery(from, to string, accountID uint) query {
	totals := b.categoryMonthsWhere(from, to, accountID)
	return query{`SELECT TRUE AS is_budget, category_id, 0 AS account_id, currency, amount AS total FROM budgets
		WHERE user_id = ? AND month >= ? AND month <= ?
		UNION ALL
		SELECT FALSE, category_id, account_id, '', total FROM category_months` + totals.sql,
		append([]any{b.userID, from, to}, totals.args...)}
}

// BudgetMonth is the budget of month (YYYY-MM) against its rows.
func (b *Book) BudgetMonth(month string) (*BudgetReport, error) {
	return b.BudgetReport(month, month, 0)
}

// BudgetReport is the budget from from to to (YYYY-MM, inclusive) against the rows of those
// months; accountID, when not 0, counts that account's rows alone (the amounts are the
// budget's, which belongs to no account).
func (b *Book) BudgetReport(from, to string, accountID uint) (*BudgetReport, error) {
	if err := CheckRange(from, to); err != nil {
		return nil, err
	}
	accounts, err := b.currencies(accountID)
	if err != nil {
		return nil, wrap("budget", err)
	}
	type key struct {
		category uint
		currency string
	}
	lines := map[key]*BudgetLine{}
	line := func(k key) *BudgetLine {
		l := lines[k]
		if l == nil {
			l = &BudgetLine{CategoryID: k.category, Currency: k.currency}
			lines[k] = l
		}
		return l
	}
	err = b.scan(b.budgetQuery(from, to, accountID), func(scan func(...any) error) error {
		var isBudget bool
		var categoryID, account uint
		var currency string
		var total int64
		if err := scan(&isBudget, &categoryID, &account, &currency, &total); err != nil {
			return err
		}
		if isBudget {
			l := line(key{categoryID, currency})
			l.Budgeted += total
			l.HasBudget = true
		} else {
			line(key{categoryID, accounts[account]}).Activity += total
		}
		return nil
	})
	if err != nil {
		return nil, wrap("budget", err)
	}
	order, err := b.categoryOrder()
	if err != nil {
		return nil, wrap("budget", err)
	}
	r := &BudgetReport{From: from, To: to, Lines: make([]BudgetLine, 0, len(lines))}
	for _, l := range lines {
		r.Lines = append(r.Lines, *l)
	}
	sort.Slice(r.Lines, func(i, j int) bool {
		a, b := r.Lines[i], r.Lines[j]
		if oa, ob := order.of(a.CategoryID), order.of(b.CategoryID); oa != ob {
			return oa < ob
		}
		return a.Currency < b.Currency
	})
	return r, nil
}

// checkBudget validates what a budget write names, and finds the category through the book.
func (b *Book) checkBudget(month string, categoryID uint, currency string) (string, error) {
	var p problems
	if _, ok := ParseMonth(month); !ok {
		p.add("month", "Enter a month like 2024-03.")
	}
	code, err := checkCurrency(currency)
	if err != nil {
		p.add("currency", "Choose a currency.")
	}
	if err := p.err(); err != nil {
		return "", err
	}
	if err := b.first("categories", categoryID, &Category{}); err != nil {
		return "", err
	}
	return code, nil
}

// SetBudget sets the amount (minor units, zero or more) planned for a category in a month and
// currency.
func (b *Book) SetBudget(month string, categoryID uint, currency string, amount int64) error {
	switch {
	case amount < 0:
		return invalid("amount", "Enter the amount you plan for the month, zero or more.")
	case amount > MaxAmount:
		return invalid("amount", "This amount is too large.")
	}
	return wrap("set budget", b.write(func(tx *Book) error {
		code, err := tx.checkBudget(month, categoryID, currency)
		if err != nil {
			return err
		}
		return tx.setBudget(month, categoryID, code, amount)
	}))
}

func (b *Book) setBudget(month string, categoryID uint, currency string, amount int64) error {
	return b.db.Exec(`INSERT INTO budgets (user_id, month, category_id, currency, amount, updated_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (user_id, month, category_id, currency) DO UPDATE SET amount = excluded.amount, updated_at = excluded.updated_at`,
		b.userID, month, categoryID, currency, amount, b.now()).Error
}

// RemoveBudget removes the amount of a category in a month and currency; removing one that is
// not set changes nothing.
func (b *Book) RemoveBudget(month string, categoryID uint, currency string) error {
	return wrap("remove budget", b.write(func(tx *Book) error {
		code, err := tx.checkBudget(month, categoryID, currency)
		if err != nil {
			return err
		}
		return tx.db.Exec(`DELETE FROM budgets WHERE user_id = ? AND month = ? AND category_id = ? AND currency = ?`,
			b.userID, month, categoryID, code).Error
	}))
}

// CopyBudget sets month's amounts to those of the month before, category by category and
// currency by currency; amounts the month before did not set stay as they are. It answers how
// many amounts it copied.
func (b *Book) CopyBudget(month string) (int, error) {
	if _, ok := ParseMonth(month); !ok {
		return 0, invalid("month", "Enter a month like 2024-03.")
	}
	var n int
	err := b.write(func(tx *Book) error {
		res := tx.db.Exec(`INSERT INTO budgets (user_id, month, category_id, currency, amount, updated_at)
			SELECT user_id, ?, category_id, currency, amount, ? FROM budgets WHERE user_id = ? AND month = ?
			ON CONFLICT (user_id, month, category_id, currency) DO UPDATE SET amount = excluded.amount, updated_at = excluded.updated_at`,
			month, b.now(), b.userID, AddMonths(month, -1))
		n = int(res.RowsAffected)
		return res.Error
	})
	return n, wrap("copy budget", err)
}

// AverageMonths is how many months before a month its average budget looks back over.
const AverageMonths = 3

// AverageBudget sets month's amount of categoryID (or, for 0, of every category) to what the
// category spent (for income: received) on average per month over the AverageMonths months
// before, in each currency it had rows in; a category without rows in those months keeps its
// amount. An average below zero (more refunded than spent) is zero. It answers how many amounts
// it set.
func (b *Book) AverageBudget(month string, categoryID uint) (int, error) {
	if _, ok := ParseMonth(month); !ok {
		return 0, invalid("month", "Enter a month like 2024-03.")
	}
	var n int
	err := b.write(func(tx *Book) error {
		if categoryID != 0 {
			if err := tx.first("categories", categoryID, &Category{}); err != nil {
				return err
			}
		}
		past, err := tx.BudgetReport(AddMonths(month, -AverageMonths), AddMonths(month, -1), 0)
		if err != nil {
			return err
		}
		cats, err := tx.Categories()
		if err != nil {
			return err
		}
		income := incomeCategories(cats)
		for _, l := range past.Lines {
			if l.CategoryID == 0 || l.Activity == 0 || (categoryID != 0 && l.CategoryID != categoryID) {
				continue
			}
			total := l.Activity
			if !income[l.CategoryID] {
				total = -total
			}
			if err := tx.setBudget(month, l.CategoryID, l.Currency, average(total, AverageMonths)); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, wrap("average budget", err)
}

// average is total/months rounded to the nearest minor unit (halves up), and zero below zero.
func average(total int64, months int64) int64 {
	if total <= 0 {
		return 0
	}
	return (total + months/2) / months
}
