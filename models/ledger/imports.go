package ledger

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"gorm.io/gorm"
)

// An import is a bank file on its way into an account. It is staged first: the file and then its
// rows, each with a status, wait in imports and import_rows, out of every balance and list, until
// the user confirms (CommitImport), which writes the chosen rows in one transaction. An import
// nobody confirms is removed after StagedTTL. A committed import can be undone (UndoImport) at any
// time: its rows carry its id in transactions.import_id.
//
// This package does not read files: the caller parses them and hands over rows and the mapping
// (as text it stores for the caller), so the ledger decides only what the money rules decide,
// duplicates above all.

// Migrate runs ImportSchema after the ledger's own tables, which it refers to.
func init() { schema = append(schema, ImportSchema...) }

// ImportSchema is the import tables.
var ImportSchema = []string{
	`CREATE TABLE IF NOT EXISTS imports (
		id           INTEGER PRIMARY KEY AUTOINCREMENT,
		user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
		account_id   INTEGER NOT NULL,
		file_name    TEXT NOT NULL,
		sha256       TEXT NOT NULL,
		format       TEXT NOT NULL,
		mapping      TEXT NOT NULL DEFAULT '',
		status       TEXT NOT NULL CHECK (status IN ('staged', 'committed', 'undone')),
		data         BLOB,
		row_count    INTEGER NOT NULL DEFAULT 0,
		count_new    INTEGER NOT NULL DEFAULT 0,
		count_duplicate      INTEGER NOT NULL DEFAULT 0,
		count_possible_match INTEGER NOT NULL DEFAULT 0,
		count_error  INTEGER NOT NULL DEFAULT 0,
		written      INTEGER NOT NULL DEFAULT 0,
		skipped      INTEGER NOT NULL DEFAULT 0,
		removed      INTEGER NOT NULL DEFAULT 0,
		kept         INTEGER NOT NULL DEFAULT 0,
		statement_balance INTEGER,
		statement_date    TEXT NOT NULL DEFAULT '',
		same_file_id INTEGER,
		created_at   DATETIME NOT NULL,
		committed_at DATETIME,
		undone_at    DATETIME,
		UNIQUE (user_id, id),
		FOREIGN KEY (user_id, account_id) REFERENCES accounts(user_id, id) ON DELETE CASCADE
	)`,
	`CREATE INDEX IF NOT EXISTS imports_file ON imports(user_id, account_id, sha256)`,
	`CREATE INDEX IF NOT EXISTS imports_account ON imports(user_id, account_id)`,
	`CREATE INDEX IF NOT EXISTS imports_staged ON imports(status, created_at)`,
	// A staged import's rows. They hold no money until CommitImport copies them to transactions.
	`CREATE TABLE IF NOT EXISTS import_rows (
		user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
		import_id   INTEGER NOT NULL,
		line        INTEGER NOT NULL,
		date        TEXT NOT NULL,
		payee       TEXT NOT NULL,
		memo        TEXT NOT NULL,
		amount      INTEGER NOT NULL,
		external_id TEXT,
		status      TEXT NOT NULL CHECK (status IN ('new', 'duplicate', 'possible_match', 'error')),
		message     TEXT NOT NULL DEFAULT '',
		match_id    INTEGER,
		category_id INTEGER,
		skip        NUMERIC NOT NULL DEFAULT 0,
		PRIMARY KEY (user_id, import_id, line),
		FOREIGN KEY (user_id, import_id) REFERENCES imports(user_id, id) ON DELETE CASCADE
	) WITHOUT ROWID`,
	`CREATE INDEX IF NOT EXISTS import_rows_status ON import_rows(user_id, import_id, status, line)`,
	// The mapping last used for an account's CSV files, offered again next time.
	`CREATE TABLE IF NOT EXISTS import_mappings (
		user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
		account_id INTEGER NOT NULL,
		mapping    TEXT NOT NULL,
		updated_at DATETIME NOT NULL,
		PRIMARY KEY (user_id, account_id),
		FOREIGN KEY (user_id, account_id) REFERENCES accounts(user_id, id) ON DELETE CASCADE
	) WITHOUT ROWID`,
	// An import's rows, for its undo and its list.
	`CREATE INDEX IF NOT EXISTS transactions_import ON transactions(user_id, import_id) WHERE import_id IS NOT NULL`,
}

// Import and row statuses.
const (
	ImportStaged    = "staged"
	ImportCommitted = "committed"
	ImportUndone    = "undone"

	RowNew           = "new"
	RowDuplicate     = "duplicate"
	RowPossibleMatch = "possible_match"
	RowError         = "error"
)

const (
	// StagedTTL is how long a staged import waits for its confirmation.
	StagedTTL = 24 * time.Hour
	// MaxStaged is how many staged imports a user keeps; a new upload removes the oldest beyond
	// it, so files waiting for a confirmation cannot fill the disk.
	MaxStaged = 5
	// MatchDays is how far apart in days a typed row and a bank row may be to be shown as a
	// possible match.
	MatchDays = 4
)

// ErrImportClosed answers a commit of an import already committed or undone, and an undo of
// one not committed.
var ErrImportClosed = errors.New("ledger: the import is not in that state")

// ImportCounts are an import's rows by status.
type ImportCounts struct {
	New           int `gorm:"column:count_new" json:"new"`
	Duplicate     int `gorm:"column:count_duplicate" json:"duplicate"`
	PossibleMatch int `gorm:"column:count_possible_match" json:"possible_match"`
	Error         int `gorm:"column:count_error" json:"error"`
}

// Import is one file's import into an account.
type Import struct {
	ID        uint
	AccountID uint
	FileName  string
	SHA256    string `gorm:"column:sha256"`
	Format    string
	// Mapping is the caller's description of how the rows were read (JSON), kept as given.
	Mapping string
	Status  string
	// Rows is the number of staged rows: 0 while a CSV waits for its columns to be mapped.
	Rows   int          `gorm:"column:row_count"`
	Counts ImportCounts `gorm:"embedded"`
	// Skipped is the rows the user chose not to write (staged: so far); Written, after commit.
	Written, Skipped int
	// Removed and Kept are what the undo removed and kept (edited since the import).
	Removed, Kept int
	// StatementBalance is the balance the bank's statement states on StatementDate ("" when the
	// statement gives no date: the balance after every row).
	StatementBalance *int64
	StatementDate    string
	// LedgerBalance is the account's balance on StatementDate (or overall), with the import's
	// rows: as it will be once staged rows are written, as it is once committed. Set by Import
	// when the statement has a balance.
	LedgerBalance *int64 `gorm:"-"`
	// SameFileID is a committed import of the very same file into the account: the staged one
	// then has nothing to write.
	SameFileID  *uint
	SameFileAt  *time.Time `gorm:"-"`
	CreatedAt   time.Time
	CommittedAt *time.Time
	UndoneAt    *time.Time
}

// Expired reports a staged import past StagedTTL at now.
func (im *Import) Expired(now time.Time) bool {
	return im.Status == ImportStaged && now.Sub(im.CreatedAt) > StagedTTL
}

// StagedFile is an uploaded file for an account.
type StagedFile struct {
	AccountID uint
	FileName  string
	Format    string
	Data      []byte
}

// StageImport keeps file as a new staged import of its account, to be read into rows by
// StageImportRows. It removes the user's staged imports past StagedTTL and the oldest beyond
// MaxStaged.
func (b *Book) StageImport(file StagedFile) (*Import, error) {
	var p problems
	p.checkText("file_name", file.FileName, 255, "")
	if len(file.Data) == 0 {
		p.add("file", "The file is empty.")
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(file.Data)
	now := b.now()
	im := &Import{AccountID: file.AccountID, FileName: file.FileName, SHA256: hex.EncodeToString(sum[:]),
		Format: file.Format, Status: ImportStaged, CreatedAt: now}
	err := b.write(func(tx *Book) error {
		if err := tx.first("accounts", file.AccountID, &Account{}); err != nil {
			return err
		}
		if err := tx.db.Exec(`DELETE FROM imports WHERE user_id = ? AND status = ? AND (created_at < ? OR id NOT IN (
				SELECT id FROM imports WHERE user_id = ? AND status = ? ORDER BY id DESC LIMIT ?))`,
			b.userID, ImportStaged, now.Add(-StagedTTL), b.userID, ImportStaged, MaxStaged-1).Error; err != nil {
			return err
		}
		return tx.db.Raw(`INSERT INTO imports (user_id, account_id, file_name, sha256, format, status, data, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, b.userID, im.AccountID, im.FileName, im.SHA256, im.Format, im.Status,
			file.Data, now).Scan(&im.ID).Error
	})
	if err != nil {
		return nil, wrap("stage import", err)
	}
	return im, nil
}

// PurgeStagedImports removes every user's staged imports created before before (StagedTTL
// ago): for a periodic job; a user's own uploads purge their old ones too.
func PurgeStagedImports(db *gorm.DB, before time.Time) error {
	return db.Exec(`DELETE FROM imports WHERE status = ? AND created_at < ?`, ImportStaged, before).Error
}

const importColumns = `id, account_id, file_name, sha256, format, mapping, status, row_count, count_new, count_duplicate,
	count_possible_match, count_error, written, skipped, removed, kept, statement_balance, statement_date,
	same_file_id, created_at, committed_at, undone_at`

// loadImport reads the user's import id; a staged one past StagedTTL is gone like a missing one.
func (b *Book) loadImport(id uint) (*Import, error) {
	if id == 0 {
		return nil, ErrNotFound
	}
	var ims []Import
	if err := b.db.Raw(`SELECT `+importColumns+` FROM imports WHERE user_id = ? AND id = ?`, b.userID, id).Scan(&ims).Error; err != nil {
		return nil, err
	}
	if len(ims) == 0 || ims[0].Expired(b.now()) {
		return nil, ErrNotFound
	}
	return &ims[0], nil
}

// Import returns one import, with the ledger's balance to compare with its statement's.
func (b *Book) Import(id uint) (*Import, error) {
	im, err := b.loadImport(id)
	if err == nil {
		err = b.completeImport(im)
	}
	if err != nil {
		return nil, wrap("import", err)
	}
	return im, nil
}

// completeImport adds what Import computes: the balance to compare and the skipped rows so far.
func (b *Book) completeImport(im *Import) error {
	if im.SameFileID != nil {
		var at []time.Time
		if err := b.db.Raw(`SELECT committed_at FROM imports WHERE user_id = ? AND id = ? AND committed_at IS NOT NULL`,
			b.userID, *im.SameFileID).Scan(&at).Error; err != nil {
			return err
		}
		if len(at) > 0 {
			im.SameFileAt = &at[0]
		}
	}
	if im.Status == ImportStaged {
		if err := b.db.Raw(`SELECT COUNT(*) FROM import_rows WHERE user_id = ? AND import_id = ? AND skip AND status IN (?, ?)`,
			b.userID, im.ID, RowNew, RowPossibleMatch).Scan(&im.Skipped).Error; err != nil {
			return err
		}
	}
	if im.StatementBalance == nil {
		return nil
	}
	date := im.StatementDate
	if date == "" {
		date = "9999-12-31"
	}
	var balance int64
	q := `SELECT COALESCE(SUM(amount), 0) FROM transactions` + b.indexedBy("transactions_register") + `
		WHERE user_id = ? AND account_id = ? AND date <= ? AND parent_id IS NULL`
	args := []any{b.userID, im.AccountID, date}
	if im.Status == ImportStaged {
		q = `(` + q + `) + (SELECT COALESCE(SUM(amount), 0) FROM import_rows
			WHERE user_id = ? AND import_id = ? AND date <= ? AND status IN (?, ?) AND NOT skip)`
		args = append(args, b.userID, im.ID, date, RowNew, RowPossibleMatch)
	} else {
		q = `(` + q + `)`
	}
	q = `SELECT CAST(` + q + ` AS BIGINT)`
	if err := b.db.Raw(q, args...).Scan(&balance).Error; err != nil {
		return err
	}
	im.LedgerBalance = &balance
	return nil
}

// Imports lists the user's imports, newest first: staged ones still waiting, committed and undone.
func (b *Book) Imports() ([]Import, error) {
	var ims []Import
	err := b.db.Raw(`SELECT `+importColumns+` FROM imports WHERE user_id = ? AND (status <> ? OR created_at >= ?)
		ORDER BY id DESC`, b.userID, ImportStaged, b.now().Add(-StagedTTL)).Scan(&ims).Error
	return ims, wrap("imports", err)
}

// ImportFile is the file of a staged import, to read it again with another mapping.
func (b *Book) ImportFile(id uint) ([]byte, error) {
	im, err := b.loadImport(id)
	if err != nil {
		return nil, wrap("import file", err)
	}
	if im.Status != ImportStaged {
		return nil, ErrImportClosed
	}
	var data []byte
	err = b.db.Raw(`SELECT data FROM imports WHERE user_id = ? AND id = ?`, b.userID, id).Row().Scan(&data)
	return data, wrap("import file", err)
}

// ImportMapping is the mapping last used for accountID's files ("" when none).
func (b *Book) ImportMapping(accountID uint) (string, error) {
	if err := b.first("accounts", accountID, &Account{}); err != nil {
		return "", wrap("import mapping", err)
	}
	var m []string
	err := b.db.Raw(`SELECT mapping FROM import_mappings WHERE user_id = ? AND account_id = ?`, b.userID, accountID).Scan(&m).Error
	if err != nil || len(m) == 0 {
		return "", wrap("import mapping", err)
	}
	return m[0], nil
}

// DeleteImport removes a staged import (the user cancelled it).
func (b *Book) DeleteImport(id uint) error {
	return wrap("delete import", b.write(func(tx *Book) error {
		im, err := tx.loadImport(id)
		if err != nil {
			return err
		}
		if im.Status != ImportStaged {
			return ErrImportClosed
		}
		return tx.db.Exec(`DELETE FROM imports WHERE user_id = ? AND id = ?`, b.userID, id).Error
	}))
}
