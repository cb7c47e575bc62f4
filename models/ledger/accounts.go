package ledger

import (
	"errors"

	"gorm.io/gorm"

	"tally/money"
)

// AccountInput is a new account. OpeningBalance (minor units) becomes an ordinary row flagged
// as the opening balance, dated OpeningDate (today when empty), so a balance is always the sum of
// its rows; a zero opening balance makes no row.
type AccountInput struct {
	Name, Kind, Currency string
	OpeningBalance       int64
	OpeningDate          string
}

// AccountEdit is what can change on an account. Its currency cannot: its rows are in it.
type AccountEdit struct {
	Name, Kind string
}

const accountSelect = `SELECT a.id, a.user_id, a.name, a.name_key, a.kind, a.currency, a.closed, a.created_at, a.updated_at,
	CAST((SELECT COALESCE(SUM(m.total), 0) FROM account_months m WHERE m.user_id = a.user_id AND m.account_id = a.id) AS BIGINT) AS balance
FROM accounts a`

// accountsQuery lists the user's accounts with their balances, open ones first, by name.
func (b *Book) accountsQuery(includeClosed bool) (string, []any) {
	q := accountSelect + b.indexedBy("accounts_list") + ` WHERE a.user_id = ?`
	if !includeClosed {
		q += ` AND a.closed = FALSE`
	}
	return q + ` ORDER BY a.closed, a.name_key`, []any{b.userID}
}

// Accounts lists the user's accounts with their balances: open ones by name, then (when
// includeClosed) the closed ones.
func (b *Book) Accounts(includeClosed bool) ([]Account, error) {
	q, args := b.accountsQuery(includeClosed)
	var as []Account
	err := b.db.Raw(q, args...).Scan(&as).Error
	return as, wrap("accounts", err)
}

// Account returns one account with its balance.
func (b *Book) Account(id uint) (*Account, error) {
	if id == 0 {
		return nil, ErrNotFound
	}
	var as []Account
	err := b.db.Raw(accountSelect+` WHERE a.user_id = ? AND a.id = ?`, b.userID, id).Scan(&as).Error
	if err != nil {
		return nil, wrap("account", err)
	}
	if len(as) == 0 {
		return nil, ErrNotFound
	}
	return &as[0], nil
}

// NetWorth is the sum of every account's balance (closed ones too), per currency: amounts in
// different currencies are never added to each other.
func (b *Book) NetWorth() ([]money.Total, error) {
	as, err := b.Accounts(true)
	if err != nil {
		return nil, err
	}
	return TotalsByCurrency(as)
}

// TotalsByCurrency sums balances per currency, in code order: a page that already holds the
// accounts needs no second query.
func TotalsByCurrency(accounts []Account) ([]money.Total, error) {
	var t money.Totals
	for _, a := range accounts {
		if err := t.Add(a.Currency, a.Balance); err != nil {
			return nil, err
		}
	}
	return t.List(), nil
}

func validKind(kind string) bool {
	for _, k := range Kinds {
		if k == kind {
			return true
		}
	}
	return false
}

func (p *problems) checkAccount(name, kind string) {
	p.checkText("name", name, 100, "Enter a name for the account.")
	if !validKind(kind) {
		p.add("kind", "Choose the kind of account.")
	}
}

// CreateAccount creates an account and its opening balance row in one transaction.
func (b *Book) CreateAccount(in AccountInput) (*Account, error) {
	var p problems
	p.checkAccount(in.Name, in.Kind)
	// A currency the money package knows, so every amount of the account can be parsed and
	// formatted with its exponent.
	currency, ok := money.Lookup(in.Currency)
	if !ok {
		p.add("currency", "Choose a currency.")
	}
	if in.OpeningDate == "" {
		in.OpeningDate = b.today()
	}
	p.checkDate("opening_date", in.OpeningDate)
	if err := p.err(); err != nil {
		return nil, err
	}
	now := b.now()
	a := &Account{UserID: b.userID, Name: in.Name, NameKey: nameKey(in.Name), Kind: in.Kind,
		Currency: currency.Code, CreatedAt: now, UpdatedAt: now}
	err := b.write(func(tx *Book) error {
		if err := tx.uniqueAccountName(a.NameKey, 0); err != nil {
			return err
		}
		if err := tx.db.Create(a).Error; err != nil {
			return err
		}
		if in.OpeningBalance == 0 {
			return nil
		}
		a.Balance = in.OpeningBalance
		return tx.db.Create(&Transaction{UserID: b.userID, AccountID: a.ID, Date: in.OpeningDate,
			Amount: in.OpeningBalance, IsOpening: true, CreatedAt: now, UpdatedAt: now}).Error
	})
	if err != nil {
		return nil, wrap("create account", duplicateName(err, "name", "You already have an account with this name."))
	}
	return a, nil
}

func (b *Book) uniqueAccountName(key string, except uint) error {
	var n int64
	err := b.scoped("accounts").Where("name_key = ? AND id <> ?", key, except).Count(&n).Error
	if err == nil && n > 0 {
		return invalid("name", "You already have an account with this name.")
	}
	return err
}

// duplicateName turns a unique-name race lost to another request into the form's message.
func duplicateName(err error, field, msg string) error {
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return invalid(field, msg)
	}
	return err
}

// UpdateAccount renames an account or changes its kind.
func (b *Book) UpdateAccount(id uint, in AccountEdit) (*Account, error) {
	var p problems
	p.checkAccount(in.Name, in.Kind)
	if err := p.err(); err != nil {
		return nil, err
	}
	err := b.write(func(tx *Book) error {
		if err := tx.first("accounts", id, &Account{}); err != nil {
			return err
		}
		if err := tx.uniqueAccountName(nameKey(in.Name), id); err != nil {
			return err
		}
		return tx.scoped("accounts").Where("id = ?", id).Updates(map[string]any{
			"name": in.Name, "name_key": nameKey(in.Name), "kind": in.Kind, "updated_at": b.now()}).Error
	})
	if err != nil {
		return nil, wrap("update account", duplicateName(err, "name", "You already have an account with this name."))
	}
	return b.Account(id)
}

// CloseAccount folds an account away; its history stays.
func (b *Book) CloseAccount(id uint) error { return b.setClosed(id, true) }

// ReopenAccount undoes CloseAccount.
func (b *Book) ReopenAccount(id uint) error { return b.setClosed(id, false) }

func (b *Book) setClosed(id uint, closed bool) error {
	if id == 0 {
		return ErrNotFound
	}
	res := b.scoped("accounts").Where("id = ?", id).Updates(map[string]any{"closed": closed, "updated_at": b.now()})
	if res.Error == nil && res.RowsAffected == 0 {
		return ErrNotFound
	}
	return wrap("close account", res.Error)
}

// DeleteAccount deletes an account. When it has transactions it answers ErrAccountNotEmpty
// unless withTransactions confirms that they go too. The other legs of its transfers stay in
// their accounts as plain rows: those accounts' histories and balances do not change.
func (b *Book) DeleteAccount(id uint, withTransactions bool) error {
	return wrap("delete account", b.write(func(tx *Book) error {
		if err := tx.first("accounts", id, &Account{}); err != nil {
			return err
		}
		var used bool
		if err := tx.db.Raw(`SELECT EXISTS (SELECT 1 FROM transactions WHERE user_id = ? AND account_id = ?)`,
			b.userID, id).Scan(&used).Error; err != nil {
			return err
		}
		if used && !withTransactions {
			return ErrAccountNotEmpty
		}
		if err := tx.db.Exec(`UPDATE transactions SET transfer_id = NULL, updated_at = ?
			WHERE user_id = ? AND transfer_id IN (SELECT id FROM transactions WHERE user_id = ? AND account_id = ?)`,
			b.now(), b.userID, b.userID, id).Error; err != nil {
			return err
		}
		if err := tx.db.Exec(`DELETE FROM transactions WHERE user_id = ? AND account_id = ?`, b.userID, id).Error; err != nil {
			return err
		}
		// Its deleted rows, waiting for an undo, and its month totals go with it by cascade.
		return tx.db.Exec(`DELETE FROM accounts WHERE user_id = ? AND id = ?`, b.userID, id).Error
	}))
}
