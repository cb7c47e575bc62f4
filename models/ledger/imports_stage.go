package ledger

import (
	"encoding/json"
	"errors"
	"iter"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

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
	if err := b.db.Raw(`SELECT i.id FROM imports i`+b.indexedBy("imports_file")+` WHERE i.user_id = ? AND i.account_id = ? AND i.sha256 = ?
			AND i.status = ? AND i.id <> ? AND EXISTS (SELECT 1 FROM transactions t`+b.indexedBy("transactions_import")+`
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
	if err := b.db.Raw(`SELECT external_id FROM transactions`+b.indexedBy("transactions_external")+`
		WHERE user_id = ? AND account_id = ? AND external_id IS NOT NULL`, b.userID, im.AccountID).Scan(&stored).Error; err != nil {
		return err
	}
	for _, s := range stored {
		ids[s] = true
	}
	var existing []existingRow
	if err := b.db.Raw(`SELECT id, date, amount, payee, import_id IS NULL AND NOT is_opening AS by_hand, external_id
		FROM transactions`+b.indexedBy("transactions_register")+`
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
	// SQLite's bare columns: payee and category_id come from the row with the latest position;
	// Postgres says the same with DISTINCT ON.
	q := `SELECT payee, category_id, MAX(date || printf('%012d', id)) AS pos
		FROM transactions INDEXED BY transactions_payee
		WHERE user_id = ? AND parent_id IS NULL AND category_id IS NOT NULL AND payee <> ''
		GROUP BY payee COLLATE NOCASE`
	if b.pg {
		q = `SELECT DISTINCT ON (lower(payee)) payee, category_id, date || lpad(id::text, 12, '0') AS pos
		FROM transactions
		WHERE user_id = ? AND parent_id IS NULL AND category_id IS NOT NULL AND payee <> ''
		ORDER BY lower(payee), date DESC, id DESC`
	}
	if err := b.db.Raw(q, b.userID).Scan(&last).Error; err != nil {
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
			if buf, err = appendJSON(buf, []any{r.Line, b.storable(r.Date), b.storable(r.Payee), b.storable(r.Memo), r.Amount,
				optionalText(b.storable(r.ExternalID)),
				r.status, r.message, optionalID(r.matchID), optionalID(r.categoryID)}); err != nil {
				return err
			}
		}
		buf = append(buf, ']')
		err := b.db.Exec(`INSERT INTO import_rows (user_id, import_id, line, date, payee, memo, amount, external_id,
				status, message, match_id, category_id, skip)
			SELECT ?, ?, CAST(r.value ->> 0 AS INTEGER), r.value ->> 1, r.value ->> 2, r.value ->> 3,
				CAST(r.value ->> 4 AS BIGINT), r.value ->> 5, r.value ->> 6, r.value ->> 7,
				CAST(r.value ->> 8 AS BIGINT), CAST(r.value ->> 9 AS BIGINT), FALSE
			FROM `+b.jsonRows()+` r`, b.userID, importID, string(buf)).Error
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
