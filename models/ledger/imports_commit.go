package ledger

import (
	"fmt"
	"sort"
)

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
		if err := b.db.Exec(`UPDATE import_rows SET skip = FALSE WHERE user_id = ? AND import_id = ? AND line IN ?`,
			b.userID, id, part).Error; err != nil {
			return err
		}
	}
	for start := 0; start < len(skip); start += stageBatch {
		part := skip[start:min(start+stageBatch, len(skip))]
		if err := b.db.Exec(`UPDATE import_rows SET skip = TRUE WHERE user_id = ? AND import_id = ? AND line IN ?`,
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
		if err := tx.db.Raw(`SELECT COUNT(CASE WHEN status IN (?, ?) AND skip THEN 1 END) AS skipped, COUNT(CASE WHEN status = ? THEN 1 END) AS duplicates
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
	if err := b.db.Raw(`SELECT COUNT(*) FROM transactions t`+b.indexedBy("transactions_import")+`
		WHERE t.user_id = ? AND t.import_id = ? AND `+editedRow, b.userID, id).Scan(&n).Error; err != nil {
		return nil, 0, wrap("import edits", err)
	}
	limit = clampLimit(limit)
	page, _, err := b.page(query{`SELECT t.id, ` + b.rowColumns() + ` FROM transactions t` + b.indexedBy("transactions_import") + transferJoin +
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
	q := query{`SELECT t.id, ` + b.rowColumns() + ` FROM transactions t` + b.indexedBy("transactions_import") + transferJoin +
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
		if err := tx.db.Raw(`SELECT COUNT(*) FROM transactions`+tx.indexedBy("transactions_import")+` WHERE user_id = ? AND import_id = ?`,
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
