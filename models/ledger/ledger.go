// Package ledger is the only way to a user's money: accounts, categories and transactions.
//
// For(db, userID) returns the user's Book. Every query a Book makes starts from an explicit
// user_id = ? (never a struct condition, which GORM drops when its field is zero), a write takes
// the user from the book and never from input, and every id a caller names is looked up through
// the same book inside the write's transaction: another user's id is ErrNotFound, exactly like an
// id that does not exist. The schema agrees (composite foreign keys), so even a bug cannot file
// a row into someone else's account.
package ledger

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"

	"tally/models"
)

// Errors of the ledger. ErrNotFound and ErrDuplicate are the models' own, so the one error
// renderer maps them as it maps every other not-found and duplicate.
var (
	ErrNotFound = models.ErrNotFound
	// ErrNoUser is what For answers for user id 0, the anonymous visitor.
	ErrNoUser = errors.New("ledger: no user")
	// ErrAccountNotEmpty refuses deleting an account that has transactions without confirming
	// that they go too.
	ErrAccountNotEmpty = errors.New("ledger: the account has transactions")
	// ErrUndoExpired answers an undo asked for after UndoWindow.
	ErrUndoExpired = errors.New("ledger: too late to undo")
	// ErrBadCursor answers a paging cursor that this package did not make.
	ErrBadCursor = errors.New("ledger: invalid cursor")
)

// UndoWindow is how long a deleted transaction can be restored; after it the rows are purged at
// the user's next delete (or by PurgeDeleted).
const UndoWindow = 5 * time.Minute

// Book is one user's ledger. It holds no data, only the handle and the user; make one per
// request with For.
type Book struct {
	db     *gorm.DB
	userID uint
	now    func() time.Time
	pg     bool   // the database is Postgres (see dialect.go)
	known  *known // the accounts and categories the caller read (see Knowing)
}

// For returns userID's book. db may be a transaction: the book's writes then nest in it.
func For(db *gorm.DB, userID uint) (*Book, error) {
	return ForClock(db, userID, nil)
}

// ForClock is For with the clock the book dates its writes and undo window by (nil: db's
// NowFunc, or the time now), so a server's tests can move it.
func ForClock(db *gorm.DB, userID uint, now func() time.Time) (*Book, error) {
	if userID == 0 {
		return nil, ErrNoUser
	}
	if now == nil {
		now = db.Config.NowFunc
	}
	if now == nil {
		now = func() time.Time { return time.Now().UTC() }
	}
	// A fresh session: conditions already chained on db must not reach the book's queries.
	return &Book{db: db.Session(&gorm.Session{NewDB: true}), userID: userID, now: now, pg: models.IsPostgres(db)}, nil
}

// write runs fn in a transaction, with a book on it so lookups see the transaction's own writes.
func (b *Book) write(fn func(tx *Book) error) error {
	return models.Transaction(b.db, func(tx *gorm.DB) error {
		return fn(&Book{db: tx, userID: b.userID, now: b.now, pg: b.pg})
	})
}

// scoped starts a query on table from the book's user.
func (b *Book) scoped(table string) *gorm.DB {
	return b.db.Table(table).Where("user_id = ?", b.userID)
}

// ValidationError carries a message per form field, written for the person filling the form.
// A message holding "{amount}" is completed by the handler with Amounts[field], formatted in
// the account's currency (see Message).
type ValidationError struct {
	Fields  map[string]string
	Amounts map[string]int64
}

func (e *ValidationError) Error() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + e.Fields[k]
	}
	return "invalid: " + strings.Join(parts, "; ")
}

// Message is the message for field with any "{amount}" replaced by format(Amounts[field]).
func (e *ValidationError) Message(field string, format func(minor int64) string) string {
	msg := e.Fields[field]
	if amount, ok := e.Amounts[field]; ok && format != nil {
		msg = strings.ReplaceAll(msg, "{amount}", format(amount))
	}
	return msg
}

// problems collects field errors while validating.
type problems struct{ e ValidationError }

func (p *problems) add(field, msg string) {
	if p.e.Fields == nil {
		p.e.Fields = map[string]string{}
	}
	if _, ok := p.e.Fields[field]; !ok {
		p.e.Fields[field] = msg
	}
}

func (p *problems) addAmount(field, msg string, amount int64) {
	p.add(field, msg)
	if p.e.Amounts == nil {
		p.e.Amounts = map[string]int64{}
	}
	p.e.Amounts[field] = amount
}

func (p *problems) err() error {
	if len(p.e.Fields) == 0 {
		return nil
	}
	e := p.e
	return &e
}

func invalid(field, msg string) error {
	var p problems
	p.add(field, msg)
	return p.err()
}

// checkText adds the message of models.CheckText, and requires a value when required.
func (p *problems) checkText(field, value string, max int, required string) {
	if required != "" && strings.TrimSpace(value) == "" {
		p.add(field, required)
		return
	}
	if msg := models.CheckText(value, max); msg != "" {
		p.add(field, msg)
	}
}

// ParseDate checks a calendar day written YYYY-MM-DD.
func ParseDate(s string) (time.Time, bool) {
	d, err := time.Parse(time.DateOnly, s)
	return d, err == nil && d.Year() >= 1000 && d.Format(time.DateOnly) == s
}

func (p *problems) checkDate(field, value string) {
	if _, ok := ParseDate(value); !ok {
		p.add(field, "Enter a date like 2024-03-31.")
	}
}

func nameKey(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

func (b *Book) today() string { return b.now().Format(time.DateOnly) }

// first loads one row of table by id, scoped to the user, into dst (a pointer to a struct whose
// ID is zero until found).
func (b *Book) first(table string, id uint, dst any) error {
	if id == 0 {
		return ErrNotFound
	}
	res := b.scoped(table).Where("id = ?", id).Limit(1).Find(dst)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var ve *ValidationError
	if errors.As(err, &ve) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrDuplicate) ||
		errors.Is(err, ErrAccountNotEmpty) || errors.Is(err, ErrUndoExpired) || errors.Is(err, ErrBadCursor) {
		return err
	}
	return fmt.Errorf("ledger: %s: %w", op, err)
}

// ErrDuplicate is the models' own duplicate error.
var ErrDuplicate = models.ErrDuplicate
