package ledger

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// TxInput is a transaction as a form posts it, from the point of view of AccountID.
//
//   - CategoryID 0 is no category.
//   - TransferAccountID makes a transfer: a second row in that account, linked to this one.
//     Between accounts of one currency the other row's amount is -Amount; between currencies
//     TransferAmount is the other row's amount (in the other currency's minor units, of the
//     opposite sign) and is required.
//   - Splits make a split: this row holds the total (Amount) and no category, each part a
//     category; the parts must add up to the total. A transfer cannot be split.
type TxInput struct {
	AccountID         uint
	Date              string // YYYY-MM-DD
	Payee, Memo       string
	Amount            int64
	CategoryID        uint
	TransferAccountID uint
	TransferAmount    int64
	Splits            []SplitInput
}

// SplitInput is one part of a split.
type SplitInput struct {
	CategoryID uint
	Amount     int64
	Memo       string
}

// MaxAmount bounds every amount (minor units), far beyond any household's, so sums stay far
// from overflowing.
const MaxAmount = 1_000_000_000_000_000

// Field names of split parts in a ValidationError, i counting from 0 in the order posted.
func splitField(name string, i int) string { return fmt.Sprintf("%s[%d]", name, i) }

func (p *problems) checkAmount(field string, v int64) {
	if v > MaxAmount || v < -MaxAmount {
		p.add(field, "This amount is too large.")
	}
}

// check validates what needs no database.
func (in TxInput) check() error {
	var p problems
	if in.AccountID == 0 {
		p.add("account_id", "Choose an account.")
	}
	p.checkDate("date", in.Date)
	p.checkText("payee", in.Payee, 200, "")
	p.checkText("memo", in.Memo, 1000, "")
	p.checkAmount("amount", in.Amount)
	p.checkAmount("transfer_amount", in.TransferAmount)
	if in.TransferAccountID != 0 {
		if in.TransferAccountID == in.AccountID {
			p.add("transfer_account_id", "Choose another account: a transfer goes between two accounts.")
		}
		if len(in.Splits) > 0 {
			p.add("splits", "A transfer cannot be split.")
		}
		if in.CategoryID != 0 {
			p.add("category_id", "A transfer between your accounts has no category.")
		}
		if in.Amount == 0 {
			p.add("amount", "Enter the amount transferred.")
		}
	}
	if len(in.Splits) > 0 {
		if in.CategoryID != 0 {
			p.add("category_id", "A split takes its categories from its parts.")
		}
		if len(in.Splits) < 2 {
			p.add("splits", "Split into at least two parts.")
		}
		var sum int64
		for i, s := range in.Splits {
			if s.CategoryID == 0 {
				p.add(splitField("split_category_id", i), "Choose a category.")
			}
			if s.Amount == 0 {
				p.add(splitField("split_amount", i), "Enter an amount.")
			}
			p.checkAmount(splitField("split_amount", i), s.Amount)
			p.checkText(splitField("split_memo", i), s.Memo, 1000, "")
			sum += s.Amount
		}
		if diff := in.Amount - sum; diff != 0 && len(p.e.Fields) == 0 {
			// "less" and "more" as a person reads amounts: by size, whichever the sign.
			less := diff > 0
			if in.Amount < 0 {
				less = !less
			}
			word := "more"
			if less {
				word = "less"
			}
			if diff < 0 {
				diff = -diff
			}
			p.addAmount("splits", "The parts add up to {amount} "+word+" than the total.", diff)
		}
	}
	return p.err()
}

// resolved is what a TxInput names, looked up through the book.
type resolved struct {
	account     Account
	transfer    *Account // the other account of a transfer
	otherAmount int64    // the other leg's amount
}

// resolve looks up every id in, so another user's id (or one that does not exist) is
// ErrNotFound, and checks what depends on the accounts.
func (b *Book) resolve(in TxInput) (*resolved, error) {
	r := &resolved{}
	if err := b.first("accounts", in.AccountID, &r.account); err != nil {
		return nil, err
	}
	categories := []uint{}
	if in.CategoryID != 0 {
		categories = append(categories, in.CategoryID)
	}
	for _, s := range in.Splits {
		categories = append(categories, s.CategoryID)
	}
	if err := b.resolveCategories(categories); err != nil {
		return nil, err
	}
	if in.TransferAccountID == 0 {
		return r, nil
	}
	r.transfer = &Account{}
	if err := b.first("accounts", in.TransferAccountID, r.transfer); err != nil {
		return nil, err
	}
	if r.transfer.Currency == r.account.Currency {
		if in.TransferAmount != 0 && in.TransferAmount != -in.Amount {
			return nil, invalid("transfer_amount", "Both accounts are in "+r.account.Currency+": the other side of the transfer is the same amount.")
		}
		r.otherAmount = -in.Amount
		return r, nil
	}
	switch {
	case in.TransferAmount == 0:
		return nil, invalid("transfer_amount", "Enter the amount in "+r.transfer.Currency+": the accounts have different currencies.")
	case (in.TransferAmount > 0) == (in.Amount > 0):
		return nil, invalid("transfer_amount", "The other side of a transfer goes the other way: money leaving one account arrives in the other.")
	}
	r.otherAmount = in.TransferAmount
	return r, nil
}

func (b *Book) resolveCategories(ids []uint) error {
	if len(ids) == 0 {
		return nil
	}
	unique := map[uint]bool{}
	for _, id := range ids {
		if id == 0 {
			return ErrNotFound
		}
		unique[id] = true
	}
	var n int64
	if err := b.scoped("categories").Where("id IN ?", ids).Count(&n).Error; err != nil {
		return err
	}
	if int(n) != len(unique) {
		return ErrNotFound
	}
	return nil
}

func optionalID(id uint) *uint {
	if id == 0 {
		return nil
	}
	return &id
}

// AddTransaction records a transaction: with a transfer, both rows; with splits, the total and
// its parts; all in one database transaction.
func (b *Book) AddTransaction(in TxInput) (*Row, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	var id uint
	err := b.write(func(tx *Book) error {
		r, err := tx.resolve(in)
		if err != nil {
			return err
		}
		now := b.now()
		t := Transaction{UserID: b.userID, AccountID: r.account.ID, Date: in.Date, Payee: in.Payee, Memo: in.Memo,
			Amount: in.Amount, CategoryID: optionalID(in.CategoryID), IsSplit: len(in.Splits) > 0,
			CreatedAt: now, UpdatedAt: now}
		if err := tx.db.Create(&t).Error; err != nil {
			return err
		}
		id = t.ID
		if err := tx.createSplits(&t, in.Splits); err != nil {
			return err
		}
		if r.transfer != nil {
			return tx.createLeg(&t, r)
		}
		return nil
	})
	if err != nil {
		return nil, wrap("add transaction", err)
	}
	return b.Transaction(id)
}

// createSplits adds the parts of split t. A part carries its parent's account, date and payee,
// so filters and reports by date find it without the parent.
func (b *Book) createSplits(t *Transaction, splits []SplitInput) error {
	if len(splits) == 0 {
		return nil
	}
	parts := make([]Transaction, len(splits))
	for i, s := range splits {
		parts[i] = Transaction{UserID: b.userID, AccountID: t.AccountID, Date: t.Date, Payee: t.Payee, Memo: s.Memo,
			Amount: s.Amount, CategoryID: optionalID(s.CategoryID), ParentID: &t.ID, CreatedAt: t.UpdatedAt, UpdatedAt: t.UpdatedAt}
	}
	return b.db.Create(&parts).Error
}

// createLeg adds the other row of transfer t and links the two.
func (b *Book) createLeg(t *Transaction, r *resolved) error {
	leg := Transaction{UserID: b.userID, AccountID: r.transfer.ID, Date: t.Date, Payee: t.Payee, Memo: t.Memo,
		Amount: r.otherAmount, TransferID: &t.ID, CreatedAt: t.UpdatedAt, UpdatedAt: t.UpdatedAt}
	if err := b.db.Create(&leg).Error; err != nil {
		return err
	}
	return b.db.Exec(`UPDATE transactions SET transfer_id = ? WHERE user_id = ? AND id = ?`, leg.ID, b.userID, t.ID).Error
}

// editable loads a transaction a caller may name: not a split's part, which is edited and
// deleted through its parent.
func (b *Book) editable(id uint) (*Transaction, error) {
	var t Transaction
	if err := b.first("transactions", id, &t); err != nil {
		return nil, err
	}
	if t.ParentID != nil {
		return nil, ErrNotFound
	}
	return &t, nil
}

// UpdateTransaction edits a transaction in place. Editing either row of a transfer edits both
// (and can make or unmake the transfer); new splits replace the old parts.
func (b *Book) UpdateTransaction(id uint, in TxInput) (*Row, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	err := b.write(func(tx *Book) error {
		old, err := tx.editable(id)
		if err != nil {
			return err
		}
		r, err := tx.resolve(in)
		if err != nil {
			return err
		}
		if old.IsOpening {
			var p problems
			if in.AccountID != old.AccountID {
				p.add("account_id", "An opening balance stays with its account.")
			}
			if in.TransferAccountID != 0 {
				p.add("transfer_account_id", "An opening balance cannot be a transfer.")
			}
			if len(in.Splits) > 0 {
				p.add("splits", "An opening balance cannot be split.")
			}
			if err := p.err(); err != nil {
				return err
			}
		}
		// The parts go first: they carry the parent's account, which may change.
		if err := tx.db.Exec(`DELETE FROM transactions WHERE user_id = ? AND parent_id = ?`, b.userID, id).Error; err != nil {
			return err
		}
		// So does the other leg of a transfer that stops being one: a transfer has no category.
		if old.TransferID != nil && r.transfer == nil {
			if err := tx.db.Exec(`UPDATE transactions SET transfer_id = NULL WHERE user_id = ? AND id = ?`, b.userID, id).Error; err != nil {
				return err
			}
			if err := tx.db.Exec(`DELETE FROM transactions WHERE user_id = ? AND id = ?`, b.userID, *old.TransferID).Error; err != nil {
				return err
			}
		}
		now := b.now()
		t := Transaction{ID: id, UserID: b.userID, AccountID: r.account.ID, Date: in.Date, Payee: in.Payee, Memo: in.Memo,
			Amount: in.Amount, CategoryID: optionalID(in.CategoryID), IsSplit: len(in.Splits) > 0, UpdatedAt: now}
		if err := tx.scoped("transactions").Where("id = ?", id).Updates(map[string]any{
			"account_id": t.AccountID, "date": t.Date, "payee": t.Payee, "memo": t.Memo, "amount": t.Amount,
			"category_id": t.CategoryID, "is_split": t.IsSplit, "updated_at": now}).Error; err != nil {
			return err
		}
		if err := tx.createSplits(&t, in.Splits); err != nil {
			return err
		}
		switch {
		case r.transfer != nil && old.TransferID != nil:
			return tx.scoped("transactions").Where("id = ?", *old.TransferID).Updates(map[string]any{
				"account_id": r.transfer.ID, "date": t.Date, "payee": t.Payee, "memo": t.Memo,
				"amount": r.otherAmount, "updated_at": now}).Error
		case r.transfer != nil:
			return tx.createLeg(&t, r)
		}
		return nil
	})
	if err != nil {
		return nil, wrap("update transaction", err)
	}
	return b.Transaction(id)
}

// DeleteTransaction deletes a transaction with the other row of its transfer and its split
// parts. They wait out of every list and sum for UndoWindow, when UndoDelete(id) can bring
// them back under their own ids.
func (b *Book) DeleteTransaction(id uint) error {
	return wrap("delete transaction", b.write(func(tx *Book) error {
		t, err := tx.editable(id)
		if err != nil {
			return err
		}
		now := b.now()
		if err := tx.db.Exec(`DELETE FROM deleted_transactions WHERE user_id = ? AND deleted_at < ?`,
			b.userID, now.Add(-UndoWindow)).Error; err != nil {
			return err
		}
		ids := []uint{id}
		if t.TransferID != nil {
			ids = append(ids, *t.TransferID)
		}
		if err := tx.db.Exec(`INSERT INTO deleted_transactions (`+txColumns+`, undo_id, deleted_at)
			SELECT `+txColumns+`, ?, ? FROM transactions WHERE user_id = ? AND (id IN ? OR parent_id IN ?)`,
			id, now, b.userID, ids, ids).Error; err != nil {
			return err
		}
		// The parts go by cascade.
		return tx.db.Exec(`DELETE FROM transactions WHERE user_id = ? AND id IN ?`, b.userID, ids).Error
	}))
}

// UndoDelete brings back what DeleteTransaction deleted, named by the id of any of its rows,
// within UndoWindow. A transfer whose other account was deleted meanwhile comes back as a plain
// row; a row whose account was deleted is gone (ErrNotFound).
func (b *Book) UndoDelete(id uint) error {
	return wrap("undo delete", b.write(func(tx *Book) error {
		var d struct {
			UndoID    uint
			DeletedAt time.Time
		}
		res := tx.db.Raw(`SELECT undo_id, deleted_at FROM deleted_transactions WHERE user_id = ? AND id = ?`, b.userID, id).Scan(&d)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNotFound
		}
		if b.now().Sub(d.DeletedAt) > UndoWindow {
			return ErrUndoExpired
		}
		if err := tx.db.Exec(`UPDATE deleted_transactions SET transfer_id = NULL
			WHERE user_id = ? AND undo_id = ? AND transfer_id NOT IN (SELECT id FROM deleted_transactions WHERE user_id = ? AND undo_id = ?)`,
			b.userID, d.UndoID, b.userID, d.UndoID).Error; err != nil {
			return err
		}
		// One statement, so the foreign keys between the rows (a transfer's legs point at each
		// other) are checked once they are all back.
		if err := tx.db.Exec(`INSERT INTO transactions (`+txColumns+`)
			SELECT `+txColumns+` FROM deleted_transactions WHERE user_id = ? AND undo_id = ? ORDER BY parent_id IS NOT NULL, id`,
			b.userID, d.UndoID).Error; err != nil {
			return err
		}
		return tx.db.Exec(`DELETE FROM deleted_transactions WHERE user_id = ? AND undo_id = ?`, b.userID, d.UndoID).Error
	}))
}

// PurgeDeleted removes every user's deleted transactions older than before (UndoWindow ago):
// for a periodic job; a user's own deletes purge their old ones too.
func PurgeDeleted(db *gorm.DB, before time.Time) error {
	return db.Exec(`DELETE FROM deleted_transactions WHERE deleted_at < ?`, before).Error
}
