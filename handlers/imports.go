package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"iter"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

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

// ImportMapPage asks which column is what, prefilled with what was used last for the account
// (or detected), with the first rows read that way.
func (h *Handlers) ImportMapPage(c *fiber.Ctx) error {
	v, im, done, err := h.stagedImport(c)
	if err != nil {
		return err
	} else if done {
		return h.redirectDone(c, im)
	}
	a := v.accountsBy[im.AccountID]
	data, err := v.b.ImportFile(im.ID)
	if err != nil {
		return err
	}
	var res *importer.Result
	note := ""
	if im.Rows > 0 { // back from the preview: the mapping of its rows
		var m importer.Mapping
		if err := json.Unmarshal([]byte(im.Mapping), &m); err != nil {
			return err
		}
		res, err = parseImport(data, im.FileName, a, m)
	} else {
		res, note, err = parseWithSaved(v.b, a, im.FileName, data)
	}
	var f views.ImportMapForm
	if err == nil {
		f = mapForm(res.Mapping)
		for field, msg := range missingColumns(res) {
			f.AddError(field, msg)
		}
	} else if err = mappingProblem(err, &f); err != nil {
		return err
	}
	return h.renderMap(c, fiber.StatusOK, v, im, f, columnsOnly(res, data, im.FileName, a), note)
}

// mappingProblem puts a file or mapping error on the form; other errors are returned.
func mappingProblem(err error, f *views.ImportMapForm) error {
	var me *importer.MappingError
	var problem importFileProblem
	var fe *fiber.Error
	switch {
	case errors.As(err, &me):
		f.AddError(me.Field, me.Message)
	case errors.As(err, &problem):
		f.NonFieldError = problem.msg
	case errors.As(err, &fe):
		f.NonFieldError = fe.Message
	default:
		return err
	}
	return nil
}

// MapImport reads the file with the posted mapping: with Refresh, or when something does not
// fit, it shows the map page again; else it stages the rows and shows the preview.
func (h *Handlers) MapImport(c *fiber.Ctx) error {
	var f views.ImportMapForm
	if err := decodeForm(c, &f); err != nil {
		return err
	}
	v, im, done, err := h.stagedImport(c)
	if err != nil {
		return err
	} else if done {
		return h.redirectDone(c, im)
	}
	a := v.accountsBy[im.AccountID]
	data, err := v.b.ImportFile(im.ID)
	if err != nil {
		return err
	}
	m, ok := formMapping(&f)
	res, err := parseImport(data, im.FileName, a, m)
	if err == nil && ok {
		for field, msg := range missingColumns(res) {
			f.AddError(field, msg)
		}
	} else if err != nil {
		if err = mappingProblem(err, &f); err != nil {
			return err
		}
	}
	if !f.Valid() {
		return h.renderMap(c, fiber.StatusUnprocessableEntity, v, im, f, columnsOnly(res, data, im.FileName, a), "")
	}
	if f.Refresh {
		return h.renderMap(c, fiber.StatusOK, v, im, mapForm(res.Mapping), res, "")
	}
	if _, err := stageRows(v.b, im.ID, res); err != nil {
		return err
	}
	return h.redirect(c, views.ImportItem{ID: im.ID}.URL())
}

// columnsOnly is res, or when the mapping did not fit the file, the file read afresh for its
// columns alone (no sample: its rows would not be the mapping's), so the form can be corrected.
func columnsOnly(res *importer.Result, data []byte, name string, a *ledger.Account) *importer.Result {
	if res != nil {
		return res
	}
	if res, err := parseImport(data, name, a, importer.Mapping{}); err == nil {
		res.Rows = nil
		return res
	}
	return nil
}

// dateFormats are the date patterns the map page offers (importer reads these and more).
var dateFormats = []string{"YYYY-MM-DD", "DD.MM.YYYY", "DD/MM/YYYY", "MM/DD/YYYY", "DD-MM-YYYY", "MM-DD-YYYY",
	"YYYYMMDD", "YYYY/MM/DD", "YYYY.MM.DD", "DD.MM.YY", "DD/MM/YY", "MM/DD/YY", "DD-MM-YY", "MM-DD-YY",
	"D MMM YYYY", "D MMM YY", "DD-MMM-YYYY", "DD-MMM-YY", "D. MMM YYYY", "MMM D, YYYY"}

func (h *Handlers) renderMap(c *fiber.Ctx, status int, v *ledgerView, im *ledger.Import, f views.ImportMapForm, res *importer.Result, note string) error {
	d := views.ImportMapData{Import: v.importItem(im), Form: f, Note: note, CSV: im.Format == string(importer.FormatCSV)}
	formats := dateFormats
	if f.DateFormat != "" && !slices.Contains(formats, f.DateFormat) {
		formats = append([]string{f.DateFormat}, formats...)
	}
	for _, p := range formats {
		d.Formats = append(d.Formats, views.Option{Value: p, Label: p})
	}
	if res != nil {
		for i, col := range res.Columns {
			value := col
			// A column is named by its header, unless the header is missing or repeats.
			if res.Mapping.NoHeader || strings.TrimSpace(col) == "" || countOf(res.Columns, col) > 1 {
				value = strconv.Itoa(i)
			}
			d.Columns = append(d.Columns, views.Option{Value: value, Label: col})
		}
		code := v.accountsBy[im.AccountID].Currency
		for _, r := range res.Rows[:min(len(res.Rows), 10)] {
			d.Sample = append(d.Sample, views.ImportSampleRow{Line: r.Line, Date: r.Date, Payee: r.Payee, Memo: r.Memo,
				Amount: v.m.Amount(r.Amount, code), Err: r.Err})
		}
	}
	return h.render(c, page{Title: "Map the columns", Status: status, Body: views.ImportMapPage(d), Fragment: views.ImportMapFormView(d)})
}

func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// mapForm fills the map form with a mapping.
func mapForm(m importer.Mapping) views.ImportMapForm {
	// A tab travels as "\t": a form's values are trimmed.
	f := views.ImportMapForm{Delimiter: strings.ReplaceAll(m.Delimiter, "\t", `\t`), Encoding: m.Encoding, NoHeader: m.NoHeader,
		DateColumn: m.DateColumn, DateFormat: m.DateFormat, PayeeColumn: m.PayeeColumn, MemoColumn: m.MemoColumn,
		AmountMode: m.AmountMode, AmountColumn: m.AmountColumn, DebitColumn: m.DebitColumn, CreditColumn: m.CreditColumn,
		IndicatorColumn: m.IndicatorColumn, DebitValues: strings.Join(m.DebitValues, ", "), Invert: m.Invert,
		IDColumn: m.IDColumn, DecimalSeparator: m.DecimalSeparator}
	if m.SkipRows > 0 {
		f.SkipRows = strconv.Itoa(m.SkipRows)
	}
	return f
}

// formMapping reads the map form into a mapping; ok is false when a field cannot be read.
func formMapping(f *views.ImportMapForm) (importer.Mapping, bool) {
	m := importer.Mapping{Delimiter: f.Delimiter, Encoding: f.Encoding, NoHeader: f.NoHeader, DateColumn: f.DateColumn,
		DateFormat: f.DateFormat, PayeeColumn: f.PayeeColumn, MemoColumn: f.MemoColumn, AmountMode: f.AmountMode,
		AmountColumn: f.AmountColumn, DebitColumn: f.DebitColumn, CreditColumn: f.CreditColumn,
		IndicatorColumn: f.IndicatorColumn, Invert: f.Invert, IDColumn: f.IDColumn, DecimalSeparator: f.DecimalSeparator}
	if f.Delimiter == `\t` {
		m.Delimiter = "\t"
	}
	for _, s := range strings.Split(f.DebitValues, ",") {
		if s = strings.TrimSpace(s); s != "" {
			m.DebitValues = append(m.DebitValues, s)
		}
	}
	if f.SkipRows != "" {
		n, err := strconv.Atoi(f.SkipRows)
		if err != nil || n < 0 || n > 1000 {
			f.AddError("skip_rows", "Enter a whole number of lines, 0 or more.")
			return m, false
		}
		m.SkipRows = n
	}
	return m, true
}

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
