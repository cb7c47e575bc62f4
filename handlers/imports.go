package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"iter"
	"path/filepath"
	"strings"

	"github.com/gofiber/fiber/v2"

	"tally/importer"
	"tally/models"
	"tally/models/ledger"
	"tally/views"
)

// The import flow, one page per step, each a plain form (no script needed): upload (/import) →
// map the columns (CSV: /imports/:id/map) → preview every row with its status (/imports/:id) →
// confirm (one transaction) → undo from /imports. Between the steps the file and its rows wait
// in the ledger's staging tables, never in memory or the session; nothing reaches the account
// before Confirm. importer reads the files; the ledger decides what is a duplicate.

// importPageSize is the rows a preview page shows: a 50,000-row file is 250 pages, each quick
// to draw and to post.
const importPageSize = 200

// importLimits says the limits of one file in words, for the 413 answers.
const importLimits = "Tally imports at most 5 MiB and 50,000 rows at a time: export a shorter period and import it in parts."

var (
	errImportBytes = fiber.NewError(fiber.StatusRequestEntityTooLarge, "This file is larger than 5 MiB. "+importLimits)
	errImportRows  = fiber.NewError(fiber.StatusRequestEntityTooLarge, "This file has more than 50,000 rows. "+importLimits)
	errImportDone  = fiber.NewError(fiber.StatusConflict, "This import was confirmed or undone already.")
)

// importFileProblem is a file that cannot be imported at all, said for the user.
type importFileProblem struct{ msg string }

func (e importFileProblem) Error() string { return e.msg }

// importUpload reads the "file" part of a multipart upload: its base name and bytes. The app's
// BodyLimit bounds what was read; this bounds what is kept.
func importUpload(c *fiber.Ctx) (string, []byte, error) {
	fh, err := c.FormFile("file")
	if err != nil {
		return "", nil, importFileProblem{"Choose a file to import."}
	}
	if fh.Size > importer.MaxBytes {
		return "", nil, errImportBytes
	}
	f, err := fh.Open()
	if err != nil {
		return "", nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, importer.MaxBytes+1))
	if err != nil {
		return "", nil, err
	}
	if len(data) > importer.MaxBytes {
		return "", nil, errImportBytes
	}
	name := strings.TrimSpace(filepath.Base(strings.ReplaceAll(fh.Filename, `\`, "/")))
	if models.CheckText(name, 255) != "" || name == "." || name == "/" {
		name = "upload"
	}
	return name, data, nil
}

// parseImport reads data for account a with mapping m. A file that cannot be read is an
// importFileProblem, errImportBytes or errImportRows; a mapping that does not fit, an
// *importer.MappingError.
func parseImport(data []byte, name string, a *ledger.Account, m importer.Mapping) (*importer.Result, error) {
	res, err := importer.Parse(bytes.NewReader(data), name, currency(a.Currency), m)
	var fe *importer.FileError
	switch {
	case errors.Is(err, importer.ErrTooLarge):
		return nil, errImportBytes
	case errors.Is(err, importer.ErrTooManyRows):
		return nil, errImportRows
	case errors.As(err, &fe):
		return nil, importFileProblem{fe.Message}
	}
	return res, err
}

// savedMapping is the mapping last used for a's CSV files, for a file that looks like a CSV
// (a CSV's date format must not be forced on a QIF).
func savedMapping(b *ledger.Book, a *ledger.Account, name string, data []byte) (importer.Mapping, error) {
	var m importer.Mapping
	ext := strings.ToLower(filepath.Ext(name))
	head := strings.ToUpper(string(data[:min(len(data), 1024)]))
	if ext == ".ofx" || ext == ".qfx" || ext == ".qif" || strings.Contains(head, "OFX") || strings.Contains(head, "!TYPE") {
		return m, nil
	}
	saved, err := b.ImportMapping(a.ID)
	if err != nil || saved == "" {
		return m, err
	}
	return m, json.Unmarshal([]byte(saved), &m)
}

// parseWithSaved parses with the account's saved mapping, or afresh when it does not fit (a
// column or the file refused, or not one row read); note says so then.
func parseWithSaved(b *ledger.Book, a *ledger.Account, name string, data []byte) (res *importer.Result, note string, err error) {
	m, err := savedMapping(b, a, name, data)
	if err != nil {
		return nil, "", err
	}
	res, err = parseImport(data, name, a, m)
	if m.DateColumn == "" && m.Delimiter == "" {
		return res, "", err
	}
	var me *importer.MappingError
	var problem importFileProblem
	if errors.As(err, &me) || errors.As(err, &problem) || (err == nil && (len(missingColumns(res)) > 0 || !anyReadable(res.Rows))) {
		res, err = parseImport(data, name, a, importer.Mapping{})
		note = "The columns saved for " + a.Name + " do not fit this file: Tally read it afresh."
	}
	return res, note, err
}

// anyReadable reports a row read without an error.
func anyReadable(rows []importer.Row) bool {
	for _, r := range rows {
		if r.Err == "" {
			return true
		}
	}
	return false
}

// missingColumns are the choices a file's mapping still needs, by mapping field: what could not
// be detected and what detection could not decide.
func missingColumns(res *importer.Result) map[string]string {
	out := map[string]string{}
	for _, field := range res.Ambiguous {
		switch field {
		case "date_format":
			out[field] = "The dates fit more than one format (03/04 could be March or April): choose the file's."
		case "decimal_separator":
			out[field] = "The amounts read either way: choose the decimal separator."
		default:
			out[field] = "Tally could not tell: choose it."
		}
	}
	if res.Format != importer.FormatCSV {
		return out
	}
	m := res.Mapping
	if m.DateColumn == "" {
		out["date_column"] = "Choose the column with the dates."
	}
	switch m.AmountMode {
	case importer.AmountDebitCredit:
		if m.DebitColumn == "" && m.CreditColumn == "" {
			out["debit_column"] = "Choose the columns of money out and money in."
		}
	case importer.AmountIndicator:
		if m.AmountColumn == "" {
			out["amount_column"] = "Choose the column with the amounts."
		}
		if m.IndicatorColumn == "" {
			out["indicator_column"] = "Choose the column that says debit or credit."
		}
	default:
		if m.AmountColumn == "" {
			out["amount_column"] = "Choose the column with the amounts."
		}
	}
	return out
}

// stageRows stages what res read as import id's rows; a CSV's mapping is kept for the account.
func stageRows(b *ledger.Book, id uint, res *importer.Result) (*ledger.Import, error) {
	mapping, err := json.Marshal(res.Mapping)
	if err != nil {
		return nil, err
	}
	in := ledger.ImportRows{Format: string(res.Format), Mapping: string(mapping), SaveMapping: res.Format == importer.FormatCSV,
		Rows: ledgerRows(res.Rows)}
	if res.Statement != nil {
		in.Statement = &ledger.StatementBalance{Amount: res.Statement.Amount, Date: res.Statement.Date}
	}
	return b.StageImportRows(id, in)
}

func ledgerRows(rows []importer.Row) iter.Seq[ledger.ImportRow] {
	return func(yield func(ledger.ImportRow) bool) {
		for _, r := range rows {
			if !yield(ledger.ImportRow{Line: r.Line, Date: r.Date, Payee: r.Payee, Memo: r.Memo, Amount: r.Amount,
				ExternalID: r.ExternalID, Category: r.Category, Err: r.Err}) {
				return
			}
		}
	}
}

// ImportPage is the upload form; ?account_id= chooses the account (from its register).
func (h *Handlers) ImportPage(c *fiber.Ctx) error {
	v, err := h.ledgerView(c)
	if err != nil {
		return err
	}
	return h.renderUpload(c, fiber.StatusOK, v, views.ImportUploadForm{AccountID: clean(c.Query("account_id"))})
}

func (h *Handlers) renderUpload(c *fiber.Ctx, status int, v *ledgerView, f views.ImportUploadForm) error {
	d := views.ImportUploadData{Form: f, Accounts: v.choices.Accounts}
	frag := views.ImportUploadFormView(d)
	if status >= 400 && status != fiber.StatusUnprocessableEntity {
		frag = views.ErrorAlert(f.Err("file")) // htmx puts other errors in the alert region
	}
	return h.render(c, page{Title: "Import", Status: status, Narrow: true, Body: views.ImportUploadPage(d), Fragment: frag})
}

// UploadImport keeps the file as a staged import and sends a CSV on to its mapping, other
// formats straight to the preview. A file that cannot be read is said on the form; nothing is
// kept then.
func (h *Handlers) UploadImport(c *fiber.Ctx) error {
	var f views.ImportUploadForm
	if err := decodeForm(c, &f); err != nil {
		return err
	}
	v, err := h.ledgerView(c)
	if err != nil {
		return err
	}
	id, ok := formID(f.AccountID)
	a := v.accountsBy[id]
	switch {
	case !ok || id == 0:
		f.AddError("account_id", "Choose the account the file is for.")
	case a == nil:
		return models.ErrNotFound
	}
	name, data, err := importUpload(c)
	var res *importer.Result
	if err == nil && a != nil {
		res, _, err = parseWithSaved(v.b, a, name, data)
	}
	var problem importFileProblem
	var fe *fiber.Error
	switch {
	case errors.As(err, &fe) && fe.Code == fiber.StatusRequestEntityTooLarge:
		f.AddError("file", fe.Message)
		return h.renderUpload(c, fe.Code, v, f)
	case errors.As(err, &problem):
		f.AddError("file", problem.msg)
	case err != nil:
		return err
	}
	if !f.Valid() {
		return h.renderUpload(c, fiber.StatusUnprocessableEntity, v, f)
	}
	im, err := v.b.StageImport(ledger.StagedFile{AccountID: a.ID, FileName: name, Format: string(res.Format), Data: data})
	if err != nil {
		return err
	}
	// Staged imports nobody confirmed go after a day, whoever they belong to.
	if err := ledger.PurgeStagedImports(h.db, h.now().Add(-ledger.StagedTTL)); err != nil {
		return err
	}
	item := views.ImportItem{ID: im.ID}
	if res.Format == importer.FormatCSV || len(missingColumns(res)) > 0 {
		return h.redirect(c, item.URL()+"/map")
	}
	if _, err := stageRows(v.b, im.ID, res); err != nil {
		return err
	}
	return h.redirect(c, item.URL())
}

// stagedImport loads the :id import for a step of the flow; done says it is not staged any
// more, and the step then answers with its summary (redirectDone).
func (h *Handlers) stagedImport(c *fiber.Ctx) (v *ledgerView, im *ledger.Import, done bool, err error) {
	if v, im, err = h.importOf(c); err != nil {
		return nil, nil, false, err
	}
	return v, im, im.Status != ledger.ImportStaged, nil
}

// redirectDone sends the browser to the summary of an import confirmed or undone already.
func (h *Handlers) redirectDone(c *fiber.Ctx, im *ledger.Import) error {
	return h.redirect(c, views.ImportItem{ID: im.ID}.URL())
}
