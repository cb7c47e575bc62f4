package importer

import (
	"encoding/csv"
	"io"
	"iter"

	"tally/money"
)

// ExportRow is one ledger row for Tally's CSV export.
type ExportRow struct {
	Date     string // YYYY-MM-DD
	Payee    string
	Memo     string
	Category string
	Account  string
	Amount   int64 // minor units of Currency
	Currency money.Currency
}

// ExportHeader is the first line of Tally's export; Parse recognises it and undoes the formula
// escape of the cells below it.
var ExportHeader = []string{"Date", "Payee", "Memo", "Category", "Amount", "Account"}

// WriteCSV writes rows as Tally's own CSV: UTF-8, a header, one row a line, amounts as plain
// decimals ("-1234.56") in each row's currency. Text cells that a spreadsheet would run as a
// formula (starting with = + - @, a tab or a carriage return) get a leading apostrophe, as
// OWASP advises; dates and amounts are written by Tally, so they stay numbers. It stops at the
// first error of rows.
func WriteCSV(w io.Writer, rows iter.Seq2[ExportRow, error]) error {
	out := csv.NewWriter(w)
	if err := out.Write(ExportHeader); err != nil {
		return err
	}
	record := make([]string, len(ExportHeader))
	for row, err := range rows {
		if err != nil {
			return err
		}
		record[0] = row.Date
		record[1] = escapeCell(row.Payee)
		record[2] = escapeCell(row.Memo)
		record[3] = escapeCell(row.Category)
		record[4] = money.FormatMachine(row.Amount, row.Currency)
		record[5] = escapeCell(row.Account)
		if err := out.Write(record); err != nil {
			return err
		}
	}
	out.Flush()
	return out.Error()
}

// formulaStart is a first character that makes a spreadsheet read a cell as a formula.
func formulaStart(c byte) bool {
	return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r'
}

// escapeCell prefixes an apostrophe to a cell a spreadsheet would run, and to a cell that
// already starts with an apostrophe before such a character or another apostrophe, so that
// unescapeCell gives back exactly what was written: "'=x" is written with a second apostrophe.
func escapeCell(s string) string {
	if s == "" {
		return s
	}
	if formulaStart(s[0]) || s[0] == '\'' && len(s) > 1 && (formulaStart(s[1]) || s[1] == '\'') {
		return "'" + s
	}
	return s
}

// unescapeCell undoes escapeCell.
func unescapeCell(s string) string {
	if len(s) > 1 && s[0] == '\'' && (formulaStart(s[1]) || s[1] == '\'') {
		return s[1:]
	}
	return s
}
