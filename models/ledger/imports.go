package ledger

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"sort"
	"strconv"
	"strings"
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
		if err := tx.db.Exec(`DELETE FROM imports WHERE user_id = ? AND status = ? AND (created_at < ? OR id IN (
				SELECT id FROM imports WHERE user_id = ? AND status = ? ORDER BY id DESC LIMIT -1 OFFSET ?))`,
			b.userID, ImportStaged, now.Add(-StagedTTL), b.userID, ImportStaged, MaxStaged-1).Error; err != nil {
			return err
		}
		res := tx.db.Exec(`INSERT INTO imports (user_id, account_id, file_name, sha256, format, status, data, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, b.userID, im.AccountID, im.FileName, im.SHA256, im.Format, im.Status, file.Data, now)
		if res.Error != nil {
			return res.Error
		}
		return tx.db.Raw(`SELECT last_insert_rowid()`).Scan(&im.ID).Error
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
	q := `SELECT COALESCE(SUM(amount), 0) FROM transactions INDEXED BY transactions_register
		WHERE user_id = ? AND account_id = ? AND date <= ? AND parent_id IS NULL`
	args := []any{b.userID, im.AccountID, date}
	if im.Status == ImportStaged {
		q = `SELECT (` + q + `) + (SELECT COALESCE(SUM(amount), 0) FROM import_rows
			WHERE user_id = ? AND import_id = ? AND date <= ? AND status IN (?, ?) AND NOT skip)`
		args = append(args, b.userID, im.ID, date, RowNew, RowPossibleMatch)
	}
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

// ImportRow is one row read from a file, or (Err set) a row that could not be read.
type ImportRow struct {
	Line       int // the file's physical line, from 1
	Date       string
	Payee      string
	Memo       string
	Amount     int64
	ExternalID string
	// Category is a category named by the file (QIF, Tally's own export): used when the user
	// has one of that name.
	Category string
	Err      string
}

// StatementBalance is what a bank statement says the balance is on Date ("" for after every row).
type StatementBalance struct {
	Amount int64
	Date   string
}

// ImportRows is a staged import's file read into rows. Rows is iterated more than once.
type ImportRows struct {
	Format  string
	Mapping string
	// SaveMapping keeps Mapping as the account's, offered for its next file.
	SaveMapping bool
	Rows        iter.Seq[ImportRow]
	Statement   *StatementBalance
}

// StageImportRows replaces the staged rows of import id with in's and gives each its status:
//   - error: the row could not be read, or its date, text or amount cannot be a transaction;
//   - duplicate: with a bank id, the account has a row with that id; without one, the row is
//     the n-th of the file with its date, amount and payee (ignoring case and spaces) and the
//     account holds at least n such rows, whatever their origin; or the same file was
//     committed into the account before;
//   - possible match: a row typed by hand in the account with the same amount within MatchDays
//     days, each typed row offered once;
//   - new: the rest.
//
// A row's category is the one last used with its payee. Nothing reaches the ledger.
func (b *Book) StageImportRows(id uint, in ImportRows) (*Import, error) {
	var im *Import
	err := b.write(func(tx *Book) error {
		var err error
		if im, err = tx.loadImport(id); err != nil {
			return err
		}
		if im.Status != ImportStaged {
			return ErrImportClosed
		}
		var rows []stagedRow
		if in.Rows == nil {
			in.Rows = func(func(ImportRow) bool) {}
		}
		for r := range in.Rows {
			rows = append(rows, stagedRow{ImportRow: r})
		}
		if len(rows) == 0 {
			return invalid("file", "The file has no rows to import.")
		}
		if err := tx.classify(im, rows); err != nil {
			return err
		}
		if err := tx.categorize(rows); err != nil {
			return err
		}
		if err := tx.db.Exec(`DELETE FROM import_rows WHERE user_id = ? AND import_id = ?`, b.userID, id).Error; err != nil {
			return err
		}
		if err := tx.insertStaged(id, rows); err != nil {
			return err
		}
		im.Format, im.Mapping, im.Rows, im.Counts = in.Format, in.Mapping, len(rows), countRows(rows)
		im.StatementBalance, im.StatementDate = nil, ""
		if in.Statement != nil {
			im.StatementBalance, im.StatementDate = &in.Statement.Amount, in.Statement.Date
		}
		if err := tx.db.Exec(`UPDATE imports SET format = ?, mapping = ?, row_count = ?, count_new = ?, count_duplicate = ?,
				count_possible_match = ?, count_error = ?, statement_balance = ?, statement_date = ?, same_file_id = ?
			WHERE user_id = ? AND id = ?`, im.Format, im.Mapping, im.Rows, im.Counts.New, im.Counts.Duplicate,
			im.Counts.PossibleMatch, im.Counts.Error, im.StatementBalance, im.StatementDate, im.SameFileID,
			b.userID, id).Error; err != nil {
			return err
		}
		if in.SaveMapping && in.Mapping != "" {
			if err := tx.db.Exec(`INSERT INTO import_mappings (user_id, account_id, mapping, updated_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (user_id, account_id) DO UPDATE SET mapping = excluded.mapping, updated_at = excluded.updated_at`,
				b.userID, im.AccountID, in.Mapping, b.now()).Error; err != nil {
				return err
			}
		}
		return tx.completeImport(im)
	})
	if err != nil {
		return nil, wrap("stage import rows", err)
	}
	return im, nil
}

// stagedRow is a row with what staging decided about it.
type stagedRow struct {
	ImportRow
	status, message string
	matchID         uint
	categoryID      uint
}

func countRows(rows []stagedRow) ImportCounts {
	var c ImportCounts
	for _, r := range rows {
		switch r.status {
		case RowNew:
			c.New++
		case RowDuplicate:
			c.Duplicate++
		case RowPossibleMatch:
			c.PossibleMatch++
		case RowError:
			c.Error++
		}
	}
	return c
}

// NormalizePayee is a payee as duplicates compare it: lower case, spaces collapsed.
func NormalizePayee(payee string) string {
	return strings.Join(strings.Fields(strings.ToLower(payee)), " ")
}

// dupKey is what makes two rows without a bank id the same: date, amount and normalized payee.
type dupKey struct {
	date   string
	amount int64
	payee  string
}

// existingRow is a row already in the account, as the duplicate rules read it.
type existingRow struct {
	ID         uint
	Date       string
	Amount     int64
	Payee      string
	ByHand     bool
	ExternalID *string
}

// checkRow marks a row the ledger could not store as an error, with the reason.
func checkRow(r *stagedRow) {
	var p problems
	if r.Err != "" {
		r.status, r.message = RowError, r.Err
		return
	}
	p.checkDate("date", r.Date)
	p.checkText("payee", r.Payee, 200, "")
	p.checkText("memo", r.Memo, 1000, "")
	p.checkAmount("amount", r.Amount)
	p.checkText("external_id", r.ExternalID, 255, "")
	for _, f := range []string{"date", "amount", "payee", "memo", "external_id"} {
		if msg, ok := p.e.Fields[f]; ok {
			r.status, r.message = RowError, rowFieldNames[f]+": "+msg
			return
		}
	}
}

var rowFieldNames = map[string]string{"date": "Date", "amount": "Amount", "payee": "Payee", "memo": "Memo", "external_id": "Bank id"}

// classify gives every row its status, reading the account's rows within the file's dates.
func (b *Book) classify(im *Import, rows []stagedRow) error {
	im.SameFileID = nil
	var same []uint
	// The same file committed before, whose rows are still in the account.
	if err := b.db.Raw(`SELECT i.id FROM imports i INDEXED BY imports_file WHERE i.user_id = ? AND i.account_id = ? AND i.sha256 = ?
			AND i.status = ? AND i.id <> ? AND EXISTS (SELECT 1 FROM transactions t INDEXED BY transactions_import
				WHERE t.user_id = i.user_id AND t.import_id = i.id)
		ORDER BY i.id LIMIT 1`, b.userID, im.AccountID, im.SHA256, ImportCommitted, im.ID).Scan(&same).Error; err != nil {
		return err
	}
	if len(same) > 0 {
		im.SameFileID = &same[0]
	}
	from, to := "", ""
	for i := range rows {
		r := &rows[i]
		r.status, r.message, r.matchID = "", "", 0
		if checkRow(r); r.status == RowError {
			continue
		}
		if im.SameFileID != nil {
			r.status, r.message = RowDuplicate, "This file was imported into the account before."
			continue
		}
		if from == "" || r.Date < from {
			from = r.Date
		}
		if r.Date > to {
			to = r.Date
		}
	}
	if from == "" {
		return nil
	}
	ids := map[string]bool{}
	var stored []string
	if err := b.db.Raw(`SELECT external_id FROM transactions INDEXED BY transactions_external
		WHERE user_id = ? AND account_id = ? AND external_id IS NOT NULL`, b.userID, im.AccountID).Scan(&stored).Error; err != nil {
		return err
	}
	for _, s := range stored {
		ids[s] = true
	}
	var existing []existingRow
	if err := b.db.Raw(`SELECT id, date, amount, payee, import_id IS NULL AND NOT is_opening AS by_hand, external_id
		FROM transactions INDEXED BY transactions_register
		WHERE user_id = ? AND account_id = ? AND date >= ? AND date <= ? AND parent_id IS NULL ORDER BY id`,
		b.userID, im.AccountID, addDays(from, -MatchDays), addDays(to, MatchDays)).Scan(&existing).Error; err != nil {
		return err
	}
	classifyRows(rows, existing, ids)
	return nil
}

// classifyRows applies the duplicate and match rules to the rows not yet decided; existing are
// the account's rows from MatchDays before the first row's date to MatchDays after the last's,
// by id; ids are the bank ids the account holds.
func classifyRows(rows []stagedRow, existing []existingRow, ids map[string]bool) {
	same := map[dupKey][]int{} // existing rows by key, as indexes into existing
	for i, e := range existing {
		k := dupKey{e.Date, e.Amount, NormalizePayee(e.Payee)}
		same[k] = append(same[k], i)
	}
	used := make([]bool, len(existing)) // an existing row accounts for one file row at most
	seen := map[dupKey]int{}
	for i := range rows {
		r := &rows[i]
		if r.status != "" {
			continue
		}
		if r.ExternalID != "" {
			if ids[r.ExternalID] {
				r.status, r.message = RowDuplicate, "The account has a row with this bank id."
			}
			continue
		}
		k := dupKey{r.Date, r.Amount, NormalizePayee(r.Payee)}
		seen[k]++
		if n := seen[k]; n <= len(same[k]) {
			used[same[k][n-1]] = true
			r.status, r.message = RowDuplicate, "The account has this row."
			if n > 1 {
				r.message = "The account has this row " + strconv.Itoa(n) + " times."
			}
		}
	}
	// A typed row, once per file row, the nearest in date first (then the older).
	byAmount := map[int64][]int{}
	for i, e := range existing {
		if e.ByHand && !used[i] {
			byAmount[e.Amount] = append(byAmount[e.Amount], i)
		}
	}
	for i := range rows {
		r := &rows[i]
		if r.status != "" {
			continue
		}
		r.status = RowNew
		best, bestDays := -1, MatchDays+1
		for _, j := range byAmount[r.Amount] {
			if used[j] || (r.ExternalID != "" && existing[j].ExternalID != nil) {
				continue
			}
			if d := daysApart(r.Date, existing[j].Date); d < bestDays {
				best, bestDays = j, d
			}
		}
		if best >= 0 {
			used[best] = true
			r.status, r.matchID = RowPossibleMatch, existing[best].ID
			r.message = "A row you typed has the same amount " + dayWords(bestDays) + "."
		}
	}
}

func dayWords(d int) string {
	switch d {
	case 0:
		return "on the same day"
	case 1:
		return "1 day apart"
	}
	return strconv.Itoa(d) + " days apart"
}

func addDays(date string, n int) string {
	d, ok := ParseDate(date)
	if !ok {
		return date
	}
	return d.AddDate(0, 0, n).Format(time.DateOnly)
}

func daysApart(a, b string) int {
	da, _ := ParseDate(a)
	db, _ := ParseDate(b)
	d := int(da.Sub(db).Hours() / 24)
	if d < 0 {
		d = -d
	}
	return d
}

// categorize gives each row that will be written the category its file names, when the user
// has it ("Group:Name" as QIF writes subcategories, or the name), else the category last used
// with its payee.
func (b *Book) categorize(rows []stagedRow) error {
	var cats []struct {
		ID      uint
		NameKey string
	}
	if err := b.scoped("categories").Select("id, name_key").Scan(&cats).Error; err != nil {
		return err
	}
	named := map[string]uint{}
	for _, c := range cats {
		named[c.NameKey] = c.ID
	}
	var last []struct {
		Payee      string
		CategoryID uint
		Pos        string
	}
	// SQLite's bare columns: payee and category_id come from the row with the latest position.
	if err := b.db.Raw(`SELECT payee, category_id, MAX(date || printf('%012d', id)) AS pos
		FROM transactions INDEXED BY transactions_payee
		WHERE user_id = ? AND parent_id IS NULL AND category_id IS NOT NULL AND payee <> ''
		GROUP BY payee COLLATE NOCASE`, b.userID).Scan(&last).Error; err != nil {
		return err
	}
	type choice struct {
		id  uint
		pos string
	}
	byPayee := map[string]choice{}
	for _, l := range last {
		k := NormalizePayee(l.Payee)
		if c, ok := byPayee[k]; !ok || l.Pos > c.pos {
			byPayee[k] = choice{l.CategoryID, l.Pos}
		}
	}
	for i := range rows {
		r := &rows[i]
		if r.status != RowNew && r.status != RowPossibleMatch {
			continue
		}
		if id := named[nameKey(r.Category[strings.LastIndex(r.Category, ":")+1:])]; id != 0 {
			r.categoryID = id
		} else {
			r.categoryID = byPayee[NormalizePayee(r.Payee)].id
		}
	}
	return nil
}

// stageBatch is the rows one statement writes or names. The rows of an INSERT travel as one
// JSON parameter: the SQLite driver binds each parameter by searching all of them, so a
// statement with thousands of parameters spent more time binding than SQLite spent writing.
const stageBatch = 5000

func (b *Book) insertStaged(importID uint, rows []stagedRow) error {
	var buf []byte
	for start := 0; start < len(rows); start += stageBatch {
		buf = append(buf[:0], '[')
		for i, r := range rows[start:min(start+stageBatch, len(rows))] {
			if i > 0 {
				buf = append(buf, ',')
			}
			var err error
			if buf, err = appendJSON(buf, []any{r.Line, r.Date, r.Payee, r.Memo, r.Amount, optionalText(r.ExternalID),
				r.status, r.message, optionalID(r.matchID), optionalID(r.categoryID)}); err != nil {
				return err
			}
		}
		buf = append(buf, ']')
		err := b.db.Exec(`INSERT INTO import_rows (user_id, import_id, line, date, payee, memo, amount, external_id,
				status, message, match_id, category_id, skip)
			SELECT ?, ?, r.value ->> 0, r.value ->> 1, r.value ->> 2, r.value ->> 3, r.value ->> 4, r.value ->> 5,
				r.value ->> 6, r.value ->> 7, r.value ->> 8, r.value ->> 9, 0
			FROM json_each(?) r`, b.userID, importID, string(buf)).Error
		if errors.Is(err, gorm.ErrDuplicatedKey) {
			return invalid("file", "Two rows of the file have the same line number.")
		} else if err != nil {
			return err
		}
	}
	return nil
}

func appendJSON(buf []byte, v any) ([]byte, error) {
	j, err := json.Marshal(v)
	return append(buf, j...), err
}

func optionalText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// StagedRow is a staged row as the preview shows it, with the typed row it may match.
type StagedRow struct {
	Line       int     `json:"line"`
	Date       string  `json:"date"`
	Payee      string  `json:"payee"`
	Memo       string  `json:"memo"`
	Amount     int64   `json:"amount"`
	ExternalID *string `json:"external_id"`
	Status     string  `json:"status"`
	Message    string  `json:"message"`
	CategoryID *uint   `json:"category_id"`
	Skip       bool    `json:"skip"`
	// The possible match: a row typed by hand (MatchID 0 when none, or when it was deleted since).
	MatchID     uint   `json:"match_id,omitempty"`
	MatchDate   string `json:"match_date,omitempty"`
	MatchPayee  string `json:"match_payee,omitempty"`
	MatchAmount int64  `json:"match_amount,omitempty"`
}

// StagedRows is a page of a staged import's rows by line, those with status when it is set,
// and how many rows there are with that status.
func (b *Book) StagedRows(id uint, status string, offset, limit int) ([]StagedRow, int, error) {
	im, err := b.loadImport(id)
	if err != nil {
		return nil, 0, wrap("staged rows", err)
	}
	if im.Status != ImportStaged {
		return nil, 0, ErrImportClosed
	}
	cond, args := `r.user_id = ? AND r.import_id = ?`, []any{b.userID, id}
	if status != "" {
		cond += ` AND r.status = ?`
		args = append(args, status)
	}
	var total int
	if err := b.db.Raw(`SELECT COUNT(*) FROM import_rows r WHERE `+cond, args...).Scan(&total).Error; err != nil {
		return nil, 0, wrap("staged rows", err)
	}
	if limit <= 0 {
		limit = total
	}
	var rows []StagedRow
	err = b.db.Raw(`SELECT r.line, r.date, r.payee, r.memo, r.amount, r.external_id, r.status, r.message, r.category_id,
			r.skip, COALESCE(t.id, 0) AS match_id, COALESCE(t.date, '') AS match_date, COALESCE(t.payee, '') AS match_payee,
			COALESCE(t.amount, 0) AS match_amount
		FROM import_rows r LEFT JOIN transactions t ON t.user_id = r.user_id AND t.id = r.match_id
		WHERE `+cond+` ORDER BY r.line LIMIT ? OFFSET ?`, append(args, limit, max(offset, 0))...).Scan(&rows).Error
	return rows, total, wrap("staged rows", err)
}

// SetImportSkips records the user's choice for the lines shown: those in skip are not to be
// written (for a possible match: it is the same transaction as the typed row), the others are.
// Lines of duplicates and errors are never written, whatever is chosen.
func (b *Book) SetImportSkips(id uint, shown, skip []int) error {
	return wrap("import choices", b.write(func(tx *Book) error {
		im, err := tx.loadImport(id)
		if err != nil {
			return err
		}
		if im.Status != ImportStaged {
			return ErrImportClosed
		}
		return tx.setSkips(id, shown, skip)
	}))
}

func (b *Book) setSkips(id uint, shown, skip []int) error {
	for start := 0; start < len(shown); start += stageBatch {
		part := shown[start:min(start+stageBatch, len(shown))]
		if err := b.db.Exec(`UPDATE import_rows SET skip = 0 WHERE user_id = ? AND import_id = ? AND line IN ?`,
			b.userID, id, part).Error; err != nil {
			return err
		}
	}
	for start := 0; start < len(skip); start += stageBatch {
		part := skip[start:min(start+stageBatch, len(skip))]
		if err := b.db.Exec(`UPDATE import_rows SET skip = 1 WHERE user_id = ? AND import_id = ? AND line IN ?`,
			b.userID, id, part).Error; err != nil {
			return err
		}
	}
	return nil
}

// CommitResult is what a commit wrote.
type CommitResult struct {
	Import     *Import
	Written    int
	Skipped    int
	Duplicates int
}

// CommitImport writes a staged import's new and possibly matching rows that are not skipped,
// in one transaction, each with the import's id; skipLines (file lines) are skipped besides
// those chosen with SetImportSkips. The rows are checked again against the account first: a row
// added to it since the preview (another import of the same statement) makes its copy a
// duplicate, never the other way round. A skipped possible match is the typed row's
// transaction: the typed row takes the bank's id when it has none, so the next statement finds it.
func (b *Book) CommitImport(id uint, skipLines []int) (*CommitResult, error) {
	res := &CommitResult{}
	err := b.write(func(tx *Book) error {
		im, err := tx.loadImport(id)
		if err != nil {
			return err
		}
		if im.Status != ImportStaged {
			return ErrImportClosed
		}
		if im.Rows == 0 {
			return invalid("mapping", "Choose how to read the file's columns first.")
		}
		if err := tx.checkLines(id, skipLines); err != nil {
			return err
		}
		if err := tx.setSkips(id, nil, skipLines); err != nil {
			return err
		}
		if err := tx.recheck(im); err != nil {
			return err
		}
		now := b.now()
		ins := tx.db.Exec(`INSERT INTO transactions (user_id, account_id, date, payee, memo, amount, category_id, import_id,
				external_id, created_at, updated_at)
			SELECT r.user_id, ?, r.date, r.payee, r.memo, r.amount,
				(SELECT c.id FROM categories c WHERE c.user_id = r.user_id AND c.id = r.category_id), r.import_id,
				r.external_id, ?, ?
			FROM import_rows r WHERE r.user_id = ? AND r.import_id = ? AND r.status IN (?, ?) AND NOT r.skip ORDER BY r.line`,
			im.AccountID, now, now, b.userID, id, RowNew, RowPossibleMatch)
		if ins.Error != nil {
			return ins.Error
		}
		res.Written = int(ins.RowsAffected)
		if err := tx.db.Exec(`UPDATE transactions SET external_id = (SELECT r.external_id FROM import_rows r
				WHERE r.user_id = transactions.user_id AND r.import_id = ? AND r.match_id = transactions.id
					AND r.status = ? AND r.skip AND r.external_id IS NOT NULL)
			WHERE user_id = ? AND external_id IS NULL AND import_id IS NULL AND id IN (SELECT match_id FROM import_rows
				WHERE user_id = ? AND import_id = ? AND status = ? AND skip AND external_id IS NOT NULL)`,
			id, RowPossibleMatch, b.userID, b.userID, id, RowPossibleMatch).Error; err != nil {
			return err
		}
		var counts struct{ Skipped, Duplicates int }
		if err := tx.db.Raw(`SELECT COALESCE(SUM(status IN (?, ?) AND skip), 0) AS skipped, COALESCE(SUM(status = ?), 0) AS duplicates
			FROM import_rows WHERE user_id = ? AND import_id = ?`, RowNew, RowPossibleMatch, RowDuplicate, b.userID, id).
			Scan(&counts).Error; err != nil {
			return err
		}
		res.Skipped, res.Duplicates = counts.Skipped, counts.Duplicates
		if err := tx.db.Exec(`UPDATE imports SET status = ?, written = ?, skipped = ?, count_duplicate = ?,
				count_new = (SELECT COUNT(*) FROM import_rows WHERE user_id = ? AND import_id = ? AND status = ?),
				count_possible_match = (SELECT COUNT(*) FROM import_rows WHERE user_id = ? AND import_id = ? AND status = ?),
				committed_at = ?, data = NULL
			WHERE user_id = ? AND id = ?`, ImportCommitted, res.Written, res.Skipped, res.Duplicates,
			b.userID, id, RowNew, b.userID, id, RowPossibleMatch, now, b.userID, id).Error; err != nil {
			return err
		}
		if err := tx.db.Exec(`DELETE FROM import_rows WHERE user_id = ? AND import_id = ?`, b.userID, id).Error; err != nil {
			return err
		}
		if res.Import, err = tx.loadImport(id); err != nil {
			return err
		}
		return tx.completeImport(res.Import)
	})
	if err != nil {
		return nil, wrap("commit import", err)
	}
	return res, nil
}

// checkLines refuses lines that are not rows of the import.
func (b *Book) checkLines(id uint, lines []int) error {
	if len(lines) == 0 {
		return nil
	}
	unique := map[int]bool{}
	for _, l := range lines {
		unique[l] = true
	}
	known := map[int]bool{}
	for start := 0; start < len(lines); start += stageBatch {
		var found []int
		if err := b.db.Raw(`SELECT line FROM import_rows WHERE user_id = ? AND import_id = ? AND line IN ?`,
			b.userID, id, lines[start:min(start+stageBatch, len(lines))]).Scan(&found).Error; err != nil {
			return err
		}
		for _, l := range found {
			known[l] = true
		}
	}
	var missing []int
	for l := range unique {
		if !known[l] {
			missing = append(missing, l)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Ints(missing)
	return invalid("skip_lines", fmt.Sprintf("Line %d is not a row of this file.", missing[0]))
}

// recheck runs the duplicate rules again on the rows to be written, against the account as it
// is now, and marks those that have become duplicates.
func (b *Book) recheck(im *Import) error {
	var stored []struct {
		ImportRow
		Status string
	}
	if err := b.db.Raw(`SELECT line, date, payee, memo, amount, COALESCE(external_id, '') AS external_id, status
		FROM import_rows WHERE user_id = ? AND import_id = ? AND status <> ? ORDER BY line`,
		b.userID, im.ID, RowError).Scan(&stored).Error; err != nil {
		return err
	}
	rows := make([]stagedRow, len(stored))
	before := make([]string, len(stored))
	for i, s := range stored {
		rows[i], before[i] = stagedRow{ImportRow: s.ImportRow}, s.Status
	}
	if err := b.classify(im, rows); err != nil {
		return err
	}
	var now []int
	for i, r := range rows {
		if before[i] != RowDuplicate && r.status == RowDuplicate {
			now = append(now, r.Line)
		}
	}
	for start := 0; start < len(now); start += stageBatch {
		if err := b.db.Exec(`UPDATE import_rows SET status = ?, message = ? WHERE user_id = ? AND import_id = ? AND line IN ?`,
			RowDuplicate, "Added to the account since the preview.", b.userID, im.ID, now[start:min(start+stageBatch, len(now))]).Error; err != nil {
			return err
		}
	}
	return nil
}

// ImportEdits are the rows of a committed import edited since (at most limit, oldest first),
// which UndoImport keeps unless told otherwise, and how many there are.
func (b *Book) ImportEdits(id uint, limit int) ([]Row, int, error) {
	im, err := b.loadImport(id)
	if err != nil {
		return nil, 0, wrap("import edits", err)
	}
	if im.Status != ImportCommitted {
		return nil, 0, nil
	}
	var n int
	if err := b.db.Raw(`SELECT COUNT(*) FROM transactions t INDEXED BY transactions_import
		WHERE t.user_id = ? AND t.import_id = ? AND `+editedRow, b.userID, id).Scan(&n).Error; err != nil {
		return nil, 0, wrap("import edits", err)
	}
	limit = clampLimit(limit)
	page, _, err := b.page(query{`SELECT t.id, ` + rowColumns + ` FROM transactions t INDEXED BY transactions_import` + transferJoin +
		` WHERE t.user_id = ? AND t.import_id = ? AND ` + editedRow + ` ORDER BY t.date, t.id LIMIT ?`,
		[]any{b.userID, id, limit + 1}}, limit, false)
	if err != nil {
		return nil, 0, wrap("import edits", err)
	}
	return page.Rows, n, nil
}

// editedRow (on a transactions row t) is a row changed since it was written: an edit stamps
// updated_at, and an import writes both stamps alike.
const editedRow = `t.updated_at <> t.created_at`

// ImportedRows is a page of the rows an import wrote (those still there), newest first.
func (b *Book) ImportedRows(id uint, cursor string, limit int) (*Page, error) {
	c, err := parseCursor(cursor)
	if err != nil {
		return nil, err
	}
	if _, err := b.loadImport(id); err != nil {
		return nil, wrap("imported rows", err)
	}
	limit = clampLimit(limit)
	q := query{`SELECT t.id, ` + rowColumns + ` FROM transactions t INDEXED BY transactions_import` + transferJoin +
		` WHERE t.user_id = ? AND t.import_id = ? AND t.parent_id IS NULL`, []any{b.userID, id}}
	if c != nil {
		q.sql += ` AND (t.date, t.id) < (?, ?)`
		q.args = append(q.args, c.date, c.id)
	}
	q.sql += ` ORDER BY t.date DESC, t.id DESC LIMIT ?`
	q.args = append(q.args, limit+1)
	page, _, err := b.page(q, limit, false)
	return page, wrap("imported rows", err)
}

// UndoImport removes the rows a committed import wrote, and nothing else, at any time later.
// Rows edited since are kept unless removeEdited; a transfer made from an imported row keeps its
// other leg as a plain row. The import stays listed as undone.
func (b *Book) UndoImport(id uint, removeEdited bool) (*Import, error) {
	var im *Import
	err := b.write(func(tx *Book) error {
		var err error
		if im, err = tx.loadImport(id); err != nil {
			return err
		}
		if im.Status != ImportCommitted {
			return ErrImportClosed
		}
		cond := `user_id = ? AND import_id = ?`
		if !removeEdited {
			cond += ` AND updated_at = created_at`
		}
		now := b.now()
		if err := tx.db.Exec(`UPDATE transactions SET transfer_id = NULL, updated_at = ?
			WHERE user_id = ? AND transfer_id IN (SELECT id FROM transactions WHERE `+cond+`)
				AND id NOT IN (SELECT id FROM transactions WHERE `+cond+`)`,
			now, b.userID, b.userID, id, b.userID, id).Error; err != nil {
			return err
		}
		del := tx.db.Exec(`DELETE FROM transactions WHERE `+cond, b.userID, id)
		if del.Error != nil {
			return del.Error
		}
		im.Removed = int(del.RowsAffected)
		if err := tx.db.Raw(`SELECT COUNT(*) FROM transactions INDEXED BY transactions_import WHERE user_id = ? AND import_id = ?`,
			b.userID, id).Scan(&im.Kept).Error; err != nil {
			return err
		}
		// Rows of the import deleted by hand and waiting for an undo go too.
		if err := tx.db.Exec(`DELETE FROM deleted_transactions WHERE user_id = ? AND import_id = ?`, b.userID, id).Error; err != nil {
			return err
		}
		im.Status, im.UndoneAt = ImportUndone, &now
		return tx.db.Exec(`UPDATE imports SET status = ?, removed = ?, kept = ?, undone_at = ? WHERE user_id = ? AND id = ?`,
			ImportUndone, im.Removed, im.Kept, now, b.userID, id).Error
	})
	if err != nil {
		return nil, wrap("undo import", err)
	}
	return im, nil
}
