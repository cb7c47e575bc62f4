package handlers

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"tally/models/ledger"
	"tally/views"
)

// importItem makes an import into what pages show, amounts in its account's currency.
func (v *ledgerView) importItem(im *ledger.Import) views.ImportItem {
	code := ""
	item := views.ImportItem{ID: im.ID, FileName: im.FileName, AccountID: im.AccountID, Format: im.Format, Status: im.Status,
		Created: stamp(&im.CreatedAt), Rows: im.Rows, Written: im.Written, Skipped: im.Skipped, Removed: im.Removed, Kept: im.Kept,
		Counts: views.ImportCounts{New: im.Counts.New, Duplicate: im.Counts.Duplicate, PossibleMatch: im.Counts.PossibleMatch,
			Error: im.Counts.Error}}
	if a := v.accountsBy[im.AccountID]; a != nil {
		item.Account, code = a.Name, a.Currency
	}
	item.ToWrite = im.Counts.New + im.Counts.PossibleMatch - im.Skipped
	item.Done = stamp(im.CommittedAt)
	if im.UndoneAt != nil {
		item.Done = stamp(im.UndoneAt)
	}
	if im.SameFileAt != nil {
		item.SameFileAt = stamp(im.SameFileAt)
	}
	if im.StatementBalance != nil && im.LedgerBalance != nil {
		diff := *im.StatementBalance - *im.LedgerBalance
		item.Statement = &views.StatementCheck{Date: im.StatementDate, Statement: v.m.Amount(*im.StatementBalance, code),
			Ledger: v.m.Amount(*im.LedgerBalance, code), Difference: v.m.Amount(diff, code), Differs: diff != 0}
	}
	return item
}

func stamp(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// ImportView is an import's page: the preview of a staged import, the summary of another.
func (h *Handlers) ImportView(c *fiber.Ctx) error {
	v, im, done, err := h.stagedImport(c)
	if err != nil {
		return err
	}
	if done {
		return h.render(c, page{Title: im.FileName, Body: views.ImportSummaryPage(v.importItem(im))})
	}
	if im.Rows == 0 {
		return h.redirect(c, views.ImportItem{ID: im.ID}.URL()+"/map")
	}
	status := c.Query("status")
	tabs := []views.ImportTab{{Label: "All", Count: im.Rows}, {Status: ledger.RowNew, Label: "New", Count: im.Counts.New},
		{Status: ledger.RowPossibleMatch, Label: "Possible matches", Count: im.Counts.PossibleMatch},
		{Status: ledger.RowDuplicate, Label: "Duplicates", Count: im.Counts.Duplicate}, {Status: ledger.RowError, Label: "Errors", Count: im.Counts.Error}}
	d := views.ImportPreviewData{Import: v.importItem(im), Status: status, Page: 1}
	total := -1
	for i := range tabs {
		if tabs[i].Status == status {
			tabs[i].Current, total = true, tabs[i].Count
		}
	}
	if total < 0 {
		return fiber.NewError(fiber.StatusBadRequest, "There is no such list of rows. Go back to all rows.")
	}
	d.Tabs = tabs
	d.Pages = max(1, (total+importPageSize-1)/importPageSize)
	if p, err := strconv.Atoi(c.Query("page", "1")); err == nil && p >= 1 && p <= d.Pages {
		d.Page = p
	}
	rows, _, err := v.b.StagedRows(im.ID, status, (d.Page-1)*importPageSize, importPageSize)
	if err != nil {
		return err
	}
	code := v.accountsBy[im.AccountID].Currency
	var newLines, matchLines []string
	for _, r := range rows {
		pr := views.ImportPreviewRow{Line: r.Line, Date: r.Date, Payee: r.Payee, Memo: r.Memo, Amount: v.m.Amount(r.Amount, code),
			HasAmount: r.Status != ledger.RowError || r.Amount != 0, Status: r.Status, Message: r.Message, Skip: r.Skip}
		if r.CategoryID != nil {
			pr.Category = v.categories[*r.CategoryID].Name
		}
		switch r.Status {
		case ledger.RowNew:
			newLines = append(newLines, strconv.Itoa(r.Line))
		case ledger.RowPossibleMatch:
			matchLines = append(matchLines, strconv.Itoa(r.Line))
			if r.MatchID != 0 {
				pr.Match = &views.ImportMatch{ID: r.MatchID, Date: r.MatchDate, Payee: r.MatchPayee, Amount: v.m.Amount(r.MatchAmount, code)}
			}
		}
		d.Rows = append(d.Rows, pr)
	}
	d.NewLines, d.MatchLines = strings.Join(newLines, ","), strings.Join(matchLines, ",")
	return h.render(c, page{Title: "Check the rows", Body: views.ImportPreviewPage(d), Fragment: views.ImportPreviewSection(d)})
}

// importChoices is the preview form: the page's rows that had a box, and the boxes ticked.
type importChoices struct {
	NewLines   string   `form:"new_lines"`
	MatchLines string   `form:"match_lines"`
	Keep       []string `form:"keep"`
	Same       []string `form:"same"`
	Status     string   `form:"status"`
	Goto       string   `form:"goto"`
}

// skips reads the choices: the lines shown, and those not to write (a new row unticked, a
// possible match ticked as the same transaction).
func (f importChoices) skips() (shown, skip []int, err error) {
	lines := func(s string) (map[int]bool, error) {
		out := map[int]bool{}
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			n, err := strconv.Atoi(p)
			if err != nil {
				return nil, fiber.ErrBadRequest
			}
			out[n] = true
		}
		return out, nil
	}
	newLines, err := lines(f.NewLines)
	if err != nil {
		return nil, nil, err
	}
	matchLines, err := lines(f.MatchLines)
	if err != nil {
		return nil, nil, err
	}
	keep, err := lines(strings.Join(f.Keep, ","))
	if err != nil {
		return nil, nil, err
	}
	same, err := lines(strings.Join(f.Same, ","))
	if err != nil {
		return nil, nil, err
	}
	for l := range newLines {
		shown = append(shown, l)
		if !keep[l] {
			skip = append(skip, l)
		}
	}
	for l := range matchLines {
		shown = append(shown, l)
		if same[l] {
			skip = append(skip, l)
		}
	}
	return shown, skip, nil
}

// saveChoices records the posted page's choices on the staged import.
func (h *Handlers) saveChoices(c *fiber.Ctx, b *ledger.Book, id uint) (importChoices, error) {
	var f importChoices
	if err := decodeForm(c, &f); err != nil {
		return f, err
	}
	shown, skip, err := f.skips()
	if err != nil {
		return f, err
	}
	return f, b.SetImportSkips(id, shown, skip)
}

// ImportChoices saves the preview page's ticks: for htmx on every change (Confirm's count is
// redrawn), without script with the page's buttons, which then show the page asked for.
func (h *Handlers) ImportChoices(c *fiber.Ctx) error {
	v, im, done, err := h.stagedImport(c)
	if err != nil {
		return err
	} else if done {
		return h.redirectDone(c, im)
	}
	f, err := h.saveChoices(c, v.b, im.ID)
	if errors.Is(err, ledger.ErrImportClosed) {
		return errImportDone
	} else if err != nil {
		return err
	}
	if isHTMX(c) {
		if im, err = v.b.Import(im.ID); err != nil {
			return err
		}
		return h.render(c, page{Fragment: views.ImportToWrite(v.importItem(im).ToWrite, true)})
	}
	d := views.ImportPreviewData{Import: views.ImportItem{ID: im.ID}}
	p, err := strconv.Atoi(f.Goto)
	if err != nil || p < 1 {
		p = 1
	}
	return h.redirect(c, d.PageURL(f.Status, p))
}

// CommitImport writes the rows chosen on the preview (this page's ticks included) in one
// transaction and shows the summary.
func (h *Handlers) CommitImport(c *fiber.Ctx) error {
	v, im, done, err := h.stagedImport(c)
	if err != nil {
		return err
	} else if done {
		h.flash(c, "This import was confirmed already.")
		return h.redirectDone(c, im)
	}
	if _, err := h.saveChoices(c, v.b, im.ID); err != nil && !errors.Is(err, ledger.ErrImportClosed) {
		return err
	}
	res, err := v.b.CommitImport(im.ID, nil)
	switch {
	case errors.Is(err, ledger.ErrImportClosed):
		h.flash(c, "This import was confirmed already.")
	case err != nil:
		return err
	default:
		msg := "Imported " + rowsText(res.Written) + " into " + v.accountsBy[im.AccountID].Name + "."
		if res.Duplicates > 0 {
			msg += " " + rowsText(res.Duplicates) + " were already there."
		}
		h.flash(c, msg)
	}
	return h.redirect(c, views.ImportItem{ID: im.ID}.URL())
}

func rowsText(n int) string {
	if n == 1 {
		return "1 row"
	}
	return strconv.Itoa(n) + " rows"
}

// CancelImport removes a staged import.
func (h *Handlers) CancelImport(c *fiber.Ctx) error {
	v, im, done, err := h.stagedImport(c)
	if err != nil {
		return err
	} else if done {
		return h.redirectDone(c, im)
	}
	if err := v.b.DeleteImport(im.ID); err != nil && !errors.Is(err, ledger.ErrImportClosed) {
		return err
	}
	h.flash(c, "The import of "+im.FileName+" was cancelled; nothing was written.")
	return h.redirect(c, "/import")
}

// ImportsPage lists the user's imports, newest first.
func (h *Handlers) ImportsPage(c *fiber.Ctx) error {
	v, err := h.ledgerView(c)
	if err != nil {
		return err
	}
	ims, err := v.b.Imports()
	if err != nil {
		return err
	}
	d := views.ImportsData{}
	for i := range ims {
		d.Imports = append(d.Imports, v.importItem(&ims[i]))
	}
	return h.render(c, page{Title: "Imports", Body: views.ImportsPage(d)})
}

// importOf loads the :id import (any state) with the page's ledger view.
func (h *Handlers) importOf(c *fiber.Ctx) (*ledgerView, *ledger.Import, error) {
	v, err := h.ledgerView(c)
	if err != nil {
		return nil, nil, err
	}
	id, err := pathID(c)
	if err != nil {
		return nil, nil, err
	}
	im, err := v.b.Import(id)
	return v, im, err
}

// ImportUndoPage asks to confirm an undo, listing the rows edited since.
func (h *Handlers) ImportUndoPage(c *fiber.Ctx) error {
	v, im, err := h.importOf(c)
	if err != nil {
		return err
	}
	if im.Status != ledger.ImportCommitted {
		return h.redirect(c, views.ImportItem{ID: im.ID}.URL())
	}
	edited, n, err := v.b.ImportEdits(im.ID, 50)
	if err != nil {
		return err
	}
	d := views.ImportUndoData{Import: v.importItem(im), Edited: v.rows(edited), EditedCount: n}
	return h.render(c, page{Title: "Undo an import", Body: views.ImportUndoPage(d)})
}

// UndoImport removes the import's rows; those edited since only when the box says so.
func (h *Handlers) UndoImport(c *fiber.Ctx) error {
	var f struct {
		RemoveEdited bool `form:"remove_edited"`
	}
	if err := decodeForm(c, &f); err != nil {
		return err
	}
	v, im, err := h.importOf(c)
	if err != nil {
		return err
	}
	done, err := v.b.UndoImport(im.ID, f.RemoveEdited)
	if errors.Is(err, ledger.ErrImportClosed) {
		return errImportDone
	} else if err != nil {
		return err
	}
	msg := "Undid the import of " + im.FileName + ": removed " + rowsText(done.Removed) + "."
	if done.Kept > 0 {
		msg += " Kept " + rowsText(done.Kept) + " edited since."
	}
	h.flash(c, msg)
	return h.redirect(c, "/imports")
}

// ImportedRowsPage lists the rows an import wrote that are still there.
func (h *Handlers) ImportedRowsPage(c *fiber.Ctx) error {
	v, im, err := h.importOf(c)
	if err != nil {
		return err
	}
	p, err := v.b.ImportedRows(im.ID, c.Query("cursor"), ledger.DefaultLimit)
	if errors.Is(err, ledger.ErrBadCursor) {
		return fiber.NewError(fiber.StatusBadRequest, "This page of the list does not exist. Go back to its first page.")
	} else if err != nil {
		return err
	}
	d := views.ImportRowsData{Import: v.importItem(im), Rows: v.rows(p.Rows)}
	if p.Next != "" {
		d.More = d.Import.URL() + "/rows?cursor=" + p.Next
	}
	if isHTMX(c) && c.Get("X-Tally-Rows") == "1" {
		return h.render(c, page{Fragment: views.MoreRows(d.Rows, d.More, false, 6)})
	}
	return h.render(c, page{Title: "Imported rows", Body: views.ImportRowsPage(d)})
}
