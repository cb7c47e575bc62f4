package ledger

import (
	"time"

	"gorm.io/gorm"

	"tally/models"
)

// The tables are written as SQL because GORM's tags cannot declare what keeps users apart: a
// UNIQUE(user_id, id) on every table a transaction points at, and composite foreign keys
// (user_id, x_id) → x(user_id, id), so a row can only ever point at its own user's rows, whatever
// a bug in Go does. Every index starts with user_id.
//
// Rules the schema states once (the only places that decide what a sum counts):
//   - A balance counts the rows without a parent: plain rows, split parents (holding the
//     total) and transfer legs. Split children never count toward a balance. See BalanceRows.
//   - Reports by category count the rows that are not split parents: plain rows and split
//     children. A split parent has no category. See ReportRows.
//
// Balances are kept per account and month in account_months by triggers, so an account's
// balance, a dashboard and a register page's running balance read at most a few hundred
// month totals instead of every row; the tests check that the totals always equal the sums
// of the rows.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS accounts (
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
		name       TEXT NOT NULL,
		name_key   TEXT NOT NULL,
		kind       TEXT NOT NULL CHECK (kind IN ('checking', 'savings', 'credit_card', 'cash', 'investment', 'loan')),
		currency   TEXT NOT NULL CHECK (length(currency) = 3 AND currency GLOB '[A-Z][A-Z][A-Z]'),
		closed     NUMERIC NOT NULL DEFAULT 0,
		created_at DATETIME NOT NULL,
		updated_at DATETIME NOT NULL,
		UNIQUE (user_id, id),
		UNIQUE (user_id, name_key)
	)`,
	`CREATE INDEX IF NOT EXISTS accounts_list ON accounts(user_id, closed, name_key)`,
	`CREATE TABLE IF NOT EXISTS category_groups (
		id       INTEGER PRIMARY KEY AUTOINCREMENT,
		user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
		name     TEXT NOT NULL,
		name_key TEXT NOT NULL,
		position INTEGER NOT NULL DEFAULT 0,
		UNIQUE (user_id, id),
		UNIQUE (user_id, name_key)
	)`,
	`CREATE TABLE IF NOT EXISTS categories (
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
		group_id   INTEGER NOT NULL,
		name       TEXT NOT NULL,
		name_key   TEXT NOT NULL,
		is_income  NUMERIC NOT NULL DEFAULT 0,
		hidden     NUMERIC NOT NULL DEFAULT 0,
		position   INTEGER NOT NULL DEFAULT 0,
		created_at DATETIME NOT NULL,
		updated_at DATETIME NOT NULL,
		UNIQUE (user_id, id),
		UNIQUE (user_id, name_key),
		FOREIGN KEY (user_id, group_id) REFERENCES category_groups(user_id, id)
	)`,
	`CREATE INDEX IF NOT EXISTS categories_group ON categories(user_id, group_id, position)`,
	// AUTOINCREMENT: an id is never reused, so a deleted row can come back under its own id
	// (undo) without meeting a newer row that took it.
	`CREATE TABLE IF NOT EXISTS transactions (
		id          INTEGER PRIMARY KEY AUTOINCREMENT,
		user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
		account_id  INTEGER NOT NULL,
		date        TEXT NOT NULL CHECK (date GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]-[0-3][0-9]'),
		payee       TEXT NOT NULL DEFAULT '',
		memo        TEXT NOT NULL DEFAULT '',
		amount      INTEGER NOT NULL CHECK (typeof(amount) = 'integer'),
		category_id INTEGER,
		transfer_id INTEGER,
		parent_id   INTEGER,
		is_split    NUMERIC NOT NULL DEFAULT 0,
		is_opening  NUMERIC NOT NULL DEFAULT 0,
		import_id   INTEGER,
		external_id TEXT,
		created_at  DATETIME NOT NULL,
		updated_at  DATETIME NOT NULL,
		UNIQUE (user_id, id),
		FOREIGN KEY (user_id, account_id) REFERENCES accounts(user_id, id),
		FOREIGN KEY (user_id, category_id) REFERENCES categories(user_id, id),
		FOREIGN KEY (user_id, parent_id) REFERENCES transactions(user_id, id) ON DELETE CASCADE,
		FOREIGN KEY (user_id, transfer_id) REFERENCES transactions(user_id, id),
		CHECK (parent_id IS NULL OR (transfer_id IS NULL AND NOT is_split AND NOT is_opening)),
		CHECK (NOT is_split OR category_id IS NULL),
		CHECK (transfer_id IS NULL OR category_id IS NULL),
		CHECK (transfer_id IS NULL OR transfer_id <> id)
	)`,
	// The register: one account's rows newest first, and (covering) the sums of its rows within
	// a month for a page's running balance. Also the index the account foreign key needs.
	`CREATE INDEX IF NOT EXISTS transactions_register ON transactions(user_id, account_id, date, id, parent_id, amount)`,
	// All transactions, newest first, and the dashboard's recent rows. It covers the filters on
	// text and amounts, so a text search walking the history by date reads no table rows (a
	// search matching 1,600 rows from years ago: 10 ms instead of 43 at 50,000 rows).
	`CREATE INDEX IF NOT EXISTS transactions_date ON transactions(user_id, date, id, parent_id, amount, payee, memo)`,
	// Filter by category (split children included) and the category foreign key.
	`CREATE INDEX IF NOT EXISTS transactions_category ON transactions(user_id, category_id, date)`,
	// Payee suggestions by prefix, ignoring case, and the category last used with a payee.
	`CREATE INDEX IF NOT EXISTS transactions_payee ON transactions(user_id, payee COLLATE NOCASE, date)`,
	// A split's children, and the lookups the self-referencing foreign keys make on delete.
	`CREATE INDEX IF NOT EXISTS transactions_parent ON transactions(user_id, parent_id)`,
	`CREATE INDEX IF NOT EXISTS transactions_transfer ON transactions(user_id, transfer_id)`,
	`CREATE INDEX IF NOT EXISTS transactions_external ON transactions(user_id, account_id, external_id) WHERE external_id IS NOT NULL`,

	`CREATE TABLE IF NOT EXISTS account_months (
		user_id    INTEGER NOT NULL,
		account_id INTEGER NOT NULL,
		month      TEXT NOT NULL,
		total      INTEGER NOT NULL,
		PRIMARY KEY (user_id, account_id, month),
		FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE,
		FOREIGN KEY (user_id, account_id) REFERENCES accounts(user_id, id) ON DELETE CASCADE
	) WITHOUT ROWID`,
	`CREATE TRIGGER IF NOT EXISTS transactions_months_insert AFTER INSERT ON transactions
	WHEN NEW.parent_id IS NULL BEGIN
		INSERT INTO account_months (user_id, account_id, month, total)
		VALUES (NEW.user_id, NEW.account_id, substr(NEW.date, 1, 7), NEW.amount)
		ON CONFLICT (user_id, account_id, month) DO UPDATE SET total = total + excluded.total;
	END`,
	`CREATE TRIGGER IF NOT EXISTS transactions_months_delete AFTER DELETE ON transactions
	WHEN OLD.parent_id IS NULL BEGIN
		UPDATE account_months SET total = total - OLD.amount
		WHERE user_id = OLD.user_id AND account_id = OLD.account_id AND month = substr(OLD.date, 1, 7);
	END`,
	`CREATE TRIGGER IF NOT EXISTS transactions_months_update
	AFTER UPDATE OF user_id, account_id, date, amount, parent_id ON transactions BEGIN
		UPDATE account_months SET total = total - OLD.amount
		WHERE OLD.parent_id IS NULL
			AND user_id = OLD.user_id AND account_id = OLD.account_id AND month = substr(OLD.date, 1, 7);
		INSERT INTO account_months (user_id, account_id, month, total)
		SELECT NEW.user_id, NEW.account_id, substr(NEW.date, 1, 7), NEW.amount WHERE NEW.parent_id IS NULL
		ON CONFLICT (user_id, account_id, month) DO UPDATE SET total = total + excluded.total;
	END`,

	// Payee suggestions: each payee of the user's rows without a parent, ignoring case, with how
	// often and how lately it was used; the name is the latest spelling.
	`CREATE TABLE IF NOT EXISTS payees (
		user_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
		name      TEXT NOT NULL COLLATE NOCASE,
		uses      INTEGER NOT NULL,
		last_date TEXT NOT NULL,
		PRIMARY KEY (user_id, name)
	) WITHOUT ROWID`,
	`CREATE TRIGGER IF NOT EXISTS transactions_payees_insert AFTER INSERT ON transactions
	WHEN NEW.parent_id IS NULL AND NEW.payee <> '' BEGIN
		INSERT INTO payees (user_id, name, uses, last_date) VALUES (NEW.user_id, NEW.payee, 1, NEW.date)
		ON CONFLICT (user_id, name) DO UPDATE SET uses = uses + 1, name = excluded.name, last_date = max(last_date, excluded.last_date);
	END`,
	`CREATE TRIGGER IF NOT EXISTS transactions_payees_delete AFTER DELETE ON transactions
	WHEN OLD.parent_id IS NULL AND OLD.payee <> '' BEGIN
		UPDATE payees SET uses = uses - 1 WHERE user_id = OLD.user_id AND name = OLD.payee;
		DELETE FROM payees WHERE user_id = OLD.user_id AND name = OLD.payee AND uses <= 0;
	END`,
	`CREATE TRIGGER IF NOT EXISTS transactions_payees_update AFTER UPDATE OF payee, date, parent_id ON transactions BEGIN
		UPDATE payees SET uses = uses - 1
		WHERE OLD.parent_id IS NULL AND OLD.payee <> '' AND user_id = OLD.user_id AND name = OLD.payee;
		DELETE FROM payees WHERE user_id = OLD.user_id AND name = OLD.payee AND uses <= 0;
		INSERT INTO payees (user_id, name, uses, last_date)
		SELECT NEW.user_id, NEW.payee, 1, NEW.date WHERE NEW.parent_id IS NULL AND NEW.payee <> ''
		ON CONFLICT (user_id, name) DO UPDATE SET uses = uses + 1, name = excluded.name, last_date = max(last_date, excluded.last_date);
	END`,

	// Substring search of payees and memos for the transaction list: a trigram index of the
	// rows without a parent, kept by triggers. Without it a search for a rare word read every
	// row of the user's history with LIKE (70 ms at 50,000 rows). It holds no text of its own
	// (contentless) and answers rowids of every user: the list joins them back through user_id.
	`CREATE VIRTUAL TABLE IF NOT EXISTS transactions_text USING fts5(payee, memo,
		content = '', contentless_delete = 1, tokenize = 'trigram')`,
	`CREATE TRIGGER IF NOT EXISTS transactions_text_insert AFTER INSERT ON transactions
	WHEN NEW.parent_id IS NULL BEGIN
		INSERT INTO transactions_text (rowid, payee, memo) VALUES (NEW.id, NEW.payee, NEW.memo);
	END`,
	`CREATE TRIGGER IF NOT EXISTS transactions_text_delete AFTER DELETE ON transactions
	WHEN OLD.parent_id IS NULL BEGIN
		DELETE FROM transactions_text WHERE rowid = OLD.id;
	END`,
	`CREATE TRIGGER IF NOT EXISTS transactions_text_update AFTER UPDATE OF payee, memo, parent_id ON transactions BEGIN
		DELETE FROM transactions_text WHERE rowid = OLD.id;
		INSERT INTO transactions_text (rowid, payee, memo) SELECT NEW.id, NEW.payee, NEW.memo WHERE NEW.parent_id IS NULL;
	END`,

	// Deleted rows wait here for an undo, out of every sum and list, until purged after
	// UndoWindow. undo_id groups what one delete removed (both legs of a transfer, a split's
	// children). They go with their account; a deleted category's rows move with its others.
	`CREATE TABLE IF NOT EXISTS deleted_transactions (
		id          INTEGER PRIMARY KEY,
		user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
		account_id  INTEGER NOT NULL,
		date        TEXT NOT NULL,
		payee       TEXT NOT NULL,
		memo        TEXT NOT NULL,
		amount      INTEGER NOT NULL,
		category_id INTEGER,
		transfer_id INTEGER,
		parent_id   INTEGER,
		is_split    NUMERIC NOT NULL,
		is_opening  NUMERIC NOT NULL,
		import_id   INTEGER,
		external_id TEXT,
		created_at  DATETIME NOT NULL,
		updated_at  DATETIME NOT NULL,
		undo_id     INTEGER NOT NULL,
		deleted_at  DATETIME NOT NULL,
		FOREIGN KEY (user_id, account_id) REFERENCES accounts(user_id, id) ON DELETE CASCADE,
		FOREIGN KEY (user_id, category_id) REFERENCES categories(user_id, id)
	)`,
	`CREATE INDEX IF NOT EXISTS deleted_transactions_undo ON deleted_transactions(user_id, undo_id)`,
	`CREATE INDEX IF NOT EXISTS deleted_transactions_account ON deleted_transactions(user_id, account_id)`,
	`CREATE INDEX IF NOT EXISTS deleted_transactions_category ON deleted_transactions(user_id, category_id)`,
	`CREATE INDEX IF NOT EXISTS deleted_transactions_time ON deleted_transactions(deleted_at)`,

	// Reports and budgets: the report rows (reportFlow: not a split's parent, not a transfer, not
	// an opening balance) summed per month, account and category (0 for none), kept by triggers
	// like account_months. A 12-month report read about 5,000 rows at 50,000 (5 ms at the median,
	// 8 at p95, for the query alone); it reads a few hundred totals from here (0.4 ms). The
	// triggers cost an AddTransaction about 9% (0.63 ms against 0.57).
	`CREATE TABLE IF NOT EXISTS category_months (
		user_id     INTEGER NOT NULL,
		month       TEXT NOT NULL,
		account_id  INTEGER NOT NULL,
		category_id INTEGER NOT NULL,
		total       INTEGER NOT NULL,
		PRIMARY KEY (user_id, month, account_id, category_id),
		FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE,
		FOREIGN KEY (user_id, account_id) REFERENCES accounts(user_id, id) ON DELETE CASCADE
	) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS category_months_account ON category_months(user_id, account_id)`,
	`CREATE TRIGGER IF NOT EXISTS transactions_categories_insert AFTER INSERT ON transactions
	WHEN NOT NEW.is_split AND NEW.transfer_id IS NULL AND NOT NEW.is_opening BEGIN
		INSERT INTO category_months (user_id, month, account_id, category_id, total)
		VALUES (NEW.user_id, substr(NEW.date, 1, 7), NEW.account_id, COALESCE(NEW.category_id, 0), NEW.amount)
		ON CONFLICT (user_id, month, account_id, category_id) DO UPDATE SET total = total + excluded.total;
	END`,
	`CREATE TRIGGER IF NOT EXISTS transactions_categories_delete AFTER DELETE ON transactions
	WHEN NOT OLD.is_split AND OLD.transfer_id IS NULL AND NOT OLD.is_opening BEGIN
		UPDATE category_months SET total = total - OLD.amount
		WHERE user_id = OLD.user_id AND month = substr(OLD.date, 1, 7) AND account_id = OLD.account_id
			AND category_id = COALESCE(OLD.category_id, 0);
	END`,
	`CREATE TRIGGER IF NOT EXISTS transactions_categories_update
	AFTER UPDATE OF user_id, account_id, date, amount, category_id, is_split, transfer_id, is_opening ON transactions BEGIN
		UPDATE category_months SET total = total - OLD.amount
		WHERE NOT OLD.is_split AND OLD.transfer_id IS NULL AND NOT OLD.is_opening
			AND user_id = OLD.user_id AND month = substr(OLD.date, 1, 7) AND account_id = OLD.account_id
			AND category_id = COALESCE(OLD.category_id, 0);
		INSERT INTO category_months (user_id, month, account_id, category_id, total)
		SELECT NEW.user_id, substr(NEW.date, 1, 7), NEW.account_id, COALESCE(NEW.category_id, 0), NEW.amount
		WHERE NOT NEW.is_split AND NEW.transfer_id IS NULL AND NOT NEW.is_opening
		ON CONFLICT (user_id, month, account_id, category_id) DO UPDATE SET total = total + excluded.total;
	END`,
	categoryMonthsBackfill,
	// A tracking budget: what the user plans to spend (or expects to earn, for an income
	// category) in a month, per category and currency. Amounts are minor units, zero or more.
	`CREATE TABLE IF NOT EXISTS budgets (
		user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
		month       TEXT NOT NULL CHECK (month GLOB '[0-9][0-9][0-9][0-9]-[01][0-9]'),
		category_id INTEGER NOT NULL,
		currency    TEXT NOT NULL CHECK (length(currency) = 3 AND currency GLOB '[A-Z][A-Z][A-Z]'),
		amount      INTEGER NOT NULL CHECK (typeof(amount) = 'integer' AND amount >= 0),
		updated_at  DATETIME NOT NULL,
		PRIMARY KEY (user_id, month, category_id, currency),
		FOREIGN KEY (user_id, category_id) REFERENCES categories(user_id, id) ON DELETE CASCADE
	) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS budgets_category ON budgets(user_id, category_id)`,

	// The ledger's version per user (see Book.Version), moved by triggers on every write to what
	// a ledger page shows, the profile's number format included: every amount is written in it.
	`CREATE TABLE IF NOT EXISTS ledger_versions (
		user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
		version INTEGER NOT NULL
	)`,
	versionTrigger("accounts", "INSERT", "NEW"),
	versionTrigger("accounts", "UPDATE", "OLD", "NEW"),
	versionTrigger("accounts", "DELETE", "OLD"),
	versionTrigger("category_groups", "INSERT", "NEW"),
	versionTrigger("category_groups", "UPDATE", "OLD", "NEW"),
	versionTrigger("category_groups", "DELETE", "OLD"),
	versionTrigger("categories", "INSERT", "NEW"),
	versionTrigger("categories", "UPDATE", "OLD", "NEW"),
	versionTrigger("categories", "DELETE", "OLD"),
	versionTrigger("transactions", "INSERT", "NEW"),
	versionTrigger("transactions", "UPDATE", "OLD", "NEW"),
	versionTrigger("transactions", "DELETE", "OLD"),
	versionTrigger("budgets", "INSERT", "NEW"),
	versionTrigger("budgets", "UPDATE", "OLD", "NEW"),
	versionTrigger("budgets", "DELETE", "OLD"),
	versionTrigger("profiles", "INSERT", "NEW"),
	versionTrigger("profiles", "UPDATE OF user_id, number_format", "OLD", "NEW"),
	versionTrigger("profiles", "DELETE", "OLD"),
}

// categoryMonthsBackfill gives a database from before category_months its totals once, at the
// first start that makes the table.
const categoryMonthsBackfill = `INSERT INTO category_months (user_id, month, account_id, category_id, total)
	SELECT t.user_id, substr(t.date, 1, 7), t.account_id, COALESCE(t.category_id, 0), SUM(t.amount) FROM transactions t
	WHERE NOT t.is_split AND t.transfer_id IS NULL AND NOT t.is_opening AND NOT EXISTS (SELECT 1 FROM category_months)
	GROUP BY 1, 2, 3, 4`

// txColumns are the columns a transaction keeps when it moves to deleted_transactions and back.
const txColumns = `id, user_id, account_id, date, payee, memo, amount, category_id, transfer_id, parent_id,
	is_split, is_opening, import_id, external_id, created_at, updated_at`

// BalanceRows is the condition (on a transactions row aliased t) of the rows a balance counts.
const BalanceRows = "t.parent_id IS NULL"

// ReportRows is the condition (on a transactions row aliased t) of the rows a report by
// category counts: never a split's parent, always its parts.
const ReportRows = "NOT t.is_split"

// Migrate creates the ledger's tables, indexes and triggers, in SQLite's or Postgres's words
// (schema_postgres.go); it runs in schema version 1, after models.Migrate (the users table must
// exist). Every statement is idempotent.
func Migrate(db *gorm.DB) error {
	return db.Transaction(func(tx *gorm.DB) error {
		for _, stmt := range migrationSchema(models.IsPostgres(db)) {
			if err := tx.Exec(stmt).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

// Account kinds.
const (
	KindChecking   = "checking"
	KindSavings    = "savings"
	KindCreditCard = "credit_card"
	KindCash       = "cash"
	KindInvestment = "investment"
	KindLoan       = "loan"
)

// Kinds lists the account kinds in the order a form offers them.
var Kinds = []string{KindChecking, KindSavings, KindCreditCard, KindCash, KindInvestment, KindLoan}

// Account is a place money is kept, in one currency.
type Account struct {
	ID        uint      `json:"id"`
	UserID    uint      `json:"-"`
	Name      string    `json:"name"`
	NameKey   string    `json:"-"`
	Kind      string    `json:"kind"`
	Currency  string    `json:"currency"`
	Closed    bool      `json:"closed"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Balance is the sum of the account's rows in minor units, read with the account.
	Balance int64 `gorm:"->" json:"balance"`
}

// CategoryGroup holds categories, one level deep.
type CategoryGroup struct {
	ID       uint   `json:"id"`
	UserID   uint   `json:"-"`
	Name     string `json:"name"`
	NameKey  string `json:"-"`
	Position int    `json:"position"`
}

// Category classifies transactions; Group is its group's name.
type Category struct {
	ID        uint      `json:"id"`
	UserID    uint      `json:"-"`
	GroupID   uint      `json:"group_id"`
	Group     string    `gorm:"->;column:group_name" json:"group"`
	Name      string    `json:"name"`
	NameKey   string    `json:"-"`
	IsIncome  bool      `json:"is_income"`
	Hidden    bool      `json:"hidden"`
	Position  int       `json:"position"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// GroupPosition is its group's position, read with the category, so a list of categories
	// can be put in the user's order again (SortCategories).
	GroupPosition int `gorm:"->;column:group_position" json:"-"`
}

// Transaction is one movement of money in an account: amount in minor units of the account's
// currency, negative for money out. Date is a calendar day, "YYYY-MM-DD" (a day has no time
// zone to get wrong, and the text sorts and compares as the day does).
type Transaction struct {
	ID         uint      `json:"id"`
	UserID     uint      `json:"-"`
	AccountID  uint      `json:"account_id"`
	Date       string    `json:"date"`
	Payee      string    `json:"payee"`
	Memo       string    `json:"memo"`
	Amount     int64     `json:"amount"`
	CategoryID *uint     `json:"category_id"`
	TransferID *uint     `json:"transfer_id"` // the other leg of a transfer
	ParentID   *uint     `json:"parent_id"`   // the split this row is a part of
	IsSplit    bool      `json:"is_split"`    // the total of a split; its parts hold the categories
	IsOpening  bool      `json:"is_opening"`  // the account's opening balance
	ImportID   *uint     `json:"import_id"`
	ExternalID *string   `json:"external_id"` // the bank's id of the row, from an import
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}
