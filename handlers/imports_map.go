package handlers

import (
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"tally/importer"
	"tally/models/ledger"
	"tally/views"
)

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
