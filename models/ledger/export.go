package ledger

// Export is everything in a user's ledger, as the account export writes it: amounts are
// integers in minor units of their account's currency.
type Export struct {
	Accounts       []Account       `json:"accounts"`
	CategoryGroups []CategoryGroup `json:"category_groups"`
	Categories     []Category      `json:"categories"`
	// Transactions holds every row: split parts (with parent_id) and both legs of transfers.
	Transactions []Transaction `json:"transactions"`
	// Budgets are the amounts set per month, category and currency.
	Budgets []BudgetAmount `json:"budgets"`
}

// BudgetAmount is one budget amount as it is stored: minor units of Currency.
type BudgetAmount struct {
	Month      string `json:"month"`
	CategoryID uint   `json:"category_id"`
	Currency   string `json:"currency"`
	Amount     int64  `json:"amount"`
}

// ExportAll reads the whole ledger in one transaction, so its parts agree with each other.
func (b *Book) ExportAll() (*Export, error) {
	e := &Export{}
	err := b.write(func(tx *Book) error {
		var err error
		if e.Accounts, err = tx.Accounts(true); err != nil {
			return err
		}
		if e.CategoryGroups, err = tx.CategoryGroups(); err != nil {
			return err
		}
		if e.Categories, err = tx.Categories(); err != nil {
			return err
		}
		if err := tx.scoped("transactions").Order("id").Find(&e.Transactions).Error; err != nil {
			return err
		}
		return tx.scoped("budgets").Select("month, category_id, currency, amount").
			Order("month, category_id, currency").Find(&e.Budgets).Error
	})
	if err != nil {
		return nil, wrap("export", err)
	}
	return e, nil
}

// DeleteAll deletes the user's whole ledger. Deleting the user's row does the same by cascade;
// this is for a caller that deletes table by table (make the book on that transaction).
func (b *Book) DeleteAll() error {
	return wrap("delete ledger", b.write(func(tx *Book) error {
		for _, stmt := range []string{
			`DELETE FROM deleted_transactions WHERE user_id = ?`,
			`DELETE FROM transactions WHERE user_id = ?`,
			`DELETE FROM accounts WHERE user_id = ?`,
			`DELETE FROM categories WHERE user_id = ?`,
			`DELETE FROM category_groups WHERE user_id = ?`,
		} {
			if err := tx.db.Exec(stmt, b.userID).Error; err != nil {
				return err
			}
		}
		return nil
	}))
}
