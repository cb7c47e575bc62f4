package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"tally/importer"
	"tally/models/ledger"
	"tally/money"
)

// The import flow for scripts: the same steps as the pages, in JSON (session cookie and CSRF
// header like any POST). POST /api/imports stages a file and answers every row with its
// status; POST /api/imports/:id/commit writes them (but skip_lines); POST /api/imports/:id/undo
// removes them again; GET /api/imports lists the imports. Amounts are decimal strings and minor
// units, as in the read API. A file or mapping that cannot be used answers 422 (413 over the
// limits) with a sentence in "error", and nothing is kept.

type apiImportRow struct {
	Line        int     `json:"line"`
	Status      string  `json:"status"`
	Date        string  `json:"date"`
	Payee       string  `json:"payee"`
	Memo        string  `json:"memo"`
	Amount      string  `json:"amount"`
	AmountMinor int64   `json:"amount_minor"`
	ExternalID  *string `json:"external_id"`
	Message     string  `json:"message"`
	CategoryID  *uint   `json:"category_id"`
	// MatchID is the typed row a possible match may be.
	MatchID *uint `json:"match_id,omitempty"`
}

type apiStatement struct {
	Date              string `json:"date"`
	Balance           string `json:"balance"`
	BalanceMinor      int64  `json:"balance_minor"`
	LedgerBalance     string `json:"ledger_balance"`
	LedgerMinor       int64  `json:"ledger_balance_minor"`
	DifferenceMinor   int64  `json:"difference_minor"`
	DifferenceDecimal string `json:"difference"`
}

type apiStaged struct {
	ID        uint                `json:"id"`
	Format    string              `json:"format"`
	Detected  importer.Mapping    `json:"detected"`
	Counts    ledger.ImportCounts `json:"counts"`
	Rows      []apiImportRow      `json:"rows"`
	Statement *apiStatement       `json:"statement,omitempty"`
	// Message says why nothing is new, when the same file was imported before.
	Message string `json:"message,omitempty"`
}

type apiImport struct {
	ID        uint                `json:"id"`
	AccountID uint                `json:"account_id"`
	FileName  string              `json:"file_name"`
	Format    string              `json:"format"`
	Status    string              `json:"status"`
	CreatedAt time.Time           `json:"created_at"`
	Counts    ledger.ImportCounts `json:"counts"`
	Written   int                 `json:"written"`
	Undone    bool                `json:"undone"`
}

// apiUnprocessable is a 422 answer with more than the sentence: what a script needs to send a
// mapping that fits (the columns, the mapping detected, the fields to decide).
func apiUnprocessable(c *fiber.Ctx, msg string, extra fiber.Map) error {
	body := fiber.Map{"error": msg}
	for k, v := range extra {
		body[k] = v
	}
	return c.Status(fiber.StatusUnprocessableEntity).JSON(body)
}

// APIUploadImport stages a file (multipart: file, account_id, optional mapping as JSON) and
// answers its rows with their status.
func (h *Handlers) APIUploadImport(c *fiber.Ctx) error {
	b, err := h.book(c)
	if err != nil {
		return err
	}
	id, ok := formID(form(c, "account_id"))
	if !ok || id == 0 {
		return badParam("account_id", "Give the id of the account as a positive whole number.")
	}
	a, err := b.Account(id)
	if err != nil {
		return err
	}
	mapping, given, err := apiMapping(form(c, "mapping"))
	if err != nil {
		return err
	}
	name, data, err := importUpload(c)
	var res *importer.Result
	if err == nil {
		if given {
			res, err = parseImport(data, name, a, mapping)
		} else {
			res, _, err = parseWithSaved(b, a, name, data)
		}
	}
	var problem importFileProblem
	var me *importer.MappingError
	switch {
	case errors.As(err, &problem):
		return apiUnprocessable(c, problem.msg, nil)
	case errors.As(err, &me):
		return apiUnprocessable(c, me.Message, fiber.Map{"field": me.Field})
	case err != nil:
		return err
	}
	if missing := missingColumns(res); len(missing) > 0 {
		fields := make([]string, 0, len(missing))
		for f := range missing {
			fields = append(fields, f)
		}
		return apiUnprocessable(c, "Tally cannot read this file without a mapping that says "+fieldList(fields)+".",
			fiber.Map{"ambiguous": fields, "detected": res.Mapping, "columns": res.Columns, "format": res.Format})
	}
	im, err := b.StageImport(ledger.StagedFile{AccountID: a.ID, FileName: name, Format: string(res.Format), Data: data})
	if err != nil {
		return err
	}
	if err := ledger.PurgeStagedImports(h.db, h.now().Add(-ledger.StagedTTL)); err != nil {
		return err
	}
	if im, err = stageRows(b, im.ID, res); err != nil {
		return apiImportError(c, err)
	}
	res.Rows = nil // staged: the parse's memory may go before the answer's is taken
	rows, _, err := b.StagedRows(im.ID, "", 0, 0)
	if err != nil {
		return err
	}
	cur := currency(a.Currency)
	out := apiStaged{ID: im.ID, Format: string(res.Format), Detected: res.Mapping, Counts: im.Counts,
		Rows: make([]apiImportRow, 0, len(rows))}
	if im.SameFileAt != nil {
		out.Message = "This file was imported into the account on " + stamp(im.SameFileAt) + ": nothing in it is new."
	}
	if im.StatementBalance != nil && im.LedgerBalance != nil {
		s, l := *im.StatementBalance, *im.LedgerBalance
		out.Statement = &apiStatement{Date: im.StatementDate, Balance: money.FormatMachine(s, cur), BalanceMinor: s,
			LedgerBalance: money.FormatMachine(l, cur), LedgerMinor: l, DifferenceMinor: s - l, DifferenceDecimal: money.FormatMachine(s-l, cur)}
	}
	for _, r := range rows {
		row := apiImportRow{Line: r.Line, Status: r.Status, Date: r.Date, Payee: r.Payee, Memo: r.Memo,
			Amount: money.FormatMachine(r.Amount, cur), AmountMinor: r.Amount, ExternalID: r.ExternalID, Message: r.Message,
			CategoryID: r.CategoryID}
		if r.MatchID != 0 {
			row.MatchID = &r.MatchID
		}
		out.Rows = append(out.Rows, row)
	}
	return c.Status(fiber.StatusCreated).JSON(out)
}

func fieldList(fields []string) string {
	switch len(fields) {
	case 1:
		return fields[0]
	case 2:
		return fields[0] + " and " + fields[1]
	}
	out := ""
	for i, f := range fields {
		switch {
		case i == len(fields)-1:
			out += ", and " + f
		case i > 0:
			out += ", " + f
		default:
			out = f
		}
	}
	return out
}

// apiMapping reads the optional mapping field. Columns may be named by header or given as a
// 0-based index, as a number or a string; an unknown key is refused, so a typo is not ignored.
func apiMapping(s string) (m importer.Mapping, given bool, err error) {
	if s == "" {
		return m, false, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return m, false, badParam("mapping", "Give the mapping as a JSON object.")
	}
	for _, k := range []string{"date_column", "payee_column", "memo_column", "category_column", "amount_column",
		"debit_column", "credit_column", "indicator_column", "id_column"} {
		var n json.Number
		if v, ok := raw[k]; ok && json.Unmarshal(v, &n) == nil {
			raw[k], _ = json.Marshal(n.String())
		}
	}
	clean, _ := json.Marshal(raw)
	dec := json.NewDecoder(bytes.NewReader(clean))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, false, badParam("mapping", "The mapping could not be read: "+jsonProblem(err))
	}
	return m, true, nil
}

// jsonProblem says what was wrong with a JSON body, without Go's type names.
func jsonProblem(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("%s has the wrong type (%s).", te.Field, te.Value)
	}
	msg := err.Error()
	if after, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return "there is no key " + after + "."
	}
	return "it is not valid JSON."
}

// decodeJSONBody reads an optional JSON object body into dst, refusing unknown keys.
func decodeJSONBody(c *fiber.Ctx, dst any) error {
	body := bytes.TrimSpace(c.Body())
	if len(body) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return fiber.NewError(fiber.StatusBadRequest, "The body could not be read: "+jsonProblem(err))
	}
	return nil
}

// importJSONLimit bounds the JSON bodies of commit and undo: 50,000 skipped lines fit.
const importJSONLimit = 1 << 20

func limitImportJSON(c *fiber.Ctx) error {
	if len(c.Body()) > importJSONLimit {
		return fiber.NewError(fiber.StatusRequestEntityTooLarge, "The body is larger than 1 MiB.")
	}
	return c.Next()
}

// apiImportError maps the ledger's refusals of a commit or an undo to their answers.
func apiImportError(c *fiber.Ctx, err error) error {
	var ve *ledger.ValidationError
	switch {
	case errors.Is(err, ledger.ErrImportClosed):
		return errImportDone
	case errors.As(err, &ve):
		for _, msg := range ve.Fields {
			return apiUnprocessable(c, msg, nil)
		}
	}
	return err
}

// APICommitImport writes a staged import's rows but those of skip_lines (for a possible
// match: it is the same transaction as the typed row).
func (h *Handlers) APICommitImport(c *fiber.Ctx) error {
	var body struct {
		SkipLines []int `json:"skip_lines"`
	}
	if err := decodeJSONBody(c, &body); err != nil {
		return err
	}
	b, err := h.book(c)
	if err != nil {
		return err
	}
	id, err := pathID(c)
	if err != nil {
		return err
	}
	res, err := b.CommitImport(id, body.SkipLines)
	if err != nil {
		return apiImportError(c, err)
	}
	return c.JSON(fiber.Map{"written": res.Written, "skipped": res.Skipped, "duplicates": res.Duplicates})
}

// APIUndoImport removes a committed import's rows; rows edited since stay unless remove_edited.
func (h *Handlers) APIUndoImport(c *fiber.Ctx) error {
	var body struct {
		RemoveEdited bool `json:"remove_edited"`
	}
	if err := decodeJSONBody(c, &body); err != nil {
		return err
	}
	b, err := h.book(c)
	if err != nil {
		return err
	}
	id, err := pathID(c)
	if err != nil {
		return err
	}
	im, err := b.UndoImport(id, body.RemoveEdited)
	if err != nil {
		return apiImportError(c, err)
	}
	return c.JSON(fiber.Map{"removed": im.Removed, "kept": im.Kept, "undone": true})
}

// APIImports lists the user's imports, newest first.
func (h *Handlers) APIImports(c *fiber.Ctx) error {
	b, err := h.book(c)
	if err != nil {
		return err
	}
	ims, err := b.Imports()
	if err != nil {
		return err
	}
	out := make([]apiImport, 0, len(ims))
	for _, im := range ims {
		out = append(out, apiImport{ID: im.ID, AccountID: im.AccountID, FileName: im.FileName, Format: im.Format,
			Status: im.Status, CreatedAt: im.CreatedAt, Counts: im.Counts, Written: im.Written, Undone: im.Status == ledger.ImportUndone})
	}
	return c.JSON(out)
}
