package importer

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"tally/money"
)

// amountCells are a row's amount as the file wrote it, until the whole file has decided the
// decimal separator: the amount (signed), the amount and its mark (indicator), or the debit and
// the credit (debit_credit).
type amountCells struct{ a, b string }

func parseCSV(in *input, cur money.Currency, m Mapping) (*Result, error) {
	lay, err := detectLayout(in, cur, m)
	if err != nil {
		return nil, err
	}
	res := &Result{Format: FormatCSV, Columns: lay.columns}
	res.Mapping = lay.mapping(m)
	if len(lay.ambiguous) > 0 {
		res.Ambiguous = lay.ambiguous
		return res, nil
	}

	rows, amounts, err := lay.read(in)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		if lay.noHeader {
			return nil, fileError(ErrNoRows, "The file has no transactions.")
		}
		return nil, fileError(ErrNoRows, "The file has a header but no transactions.")
	}

	conv := &converter{cur: cur, mode: lay.mode, invert: m.Invert}
	if lay.tally {
		conv.date, _ = compileDateFormat("YYYY-MM-DD")
		conv.dec = '.'
	}
	conv.decide(rows, amounts, m, res)
	if lay.mode == AmountIndicator {
		conv.debitValues, conv.userValues = m.DebitValues, len(m.DebitValues) > 0
		if !conv.userValues {
			conv.debitValues = debitWords
			res.Mapping.DebitValues = seenDebitWords(amounts)
		}
	}
	if lay.cols.idDetected && !uniqueIDs(rows) {
		// A bank reference that repeats (a standing order's) would mark new rows as duplicates.
		for i := range rows {
			rows[i].ExternalID = ""
		}
		res.Mapping.IDColumn = ""
	}
	if len(res.Ambiguous) > 0 {
		return res, nil
	}
	conv.convert(rows, amounts)
	res.Rows = rows
	return res, nil
}

// read streams the data rows of the file, keeping the cells the roles name.
func (lay *layout) read(in *input) ([]Row, []amountCells, error) {
	rr := newRecordReader(in.text, lay.delim, in.encoding == "utf-8")
	if err := rr.skipLines(lay.skip); err != nil {
		return nil, nil, ioError(err)
	}
	headerSeen := lay.noHeader
	var rows []Row
	var amounts []amountCells
	for {
		rec, err := rr.read()
		if err == io.EOF {
			return rows, amounts, nil
		}
		if err != nil {
			return nil, nil, ioError(err)
		}
		if rec.blank() {
			continue
		}
		if !headerSeen {
			headerSeen = true
			continue
		}
		if len(rows) == MaxRows {
			return nil, nil, errTooMany
		}
		row, cells := lay.cells(rec)
		rows = append(rows, row)
		amounts = append(amounts, cells)
	}
}

func ioError(err error) error {
	if err == io.EOF {
		return nil
	}
	return err
}

// cells picks a record's cells by role, or says why the record is not a row. The row's Date
// is the file's text until the row is converted.
func (lay *layout) cells(rec record) (Row, amountCells) {
	row := Row{Line: rec.line}
	if rec.unclosed {
		row.Err = fmt.Sprintf("Line %d opens a quote that is never closed, so the rest of the file is one cell.", rec.line)
		return row, amountCells{}
	}
	fields := rec.fields
	if len(fields) != lay.width {
		if fields = lay.fit(fields); fields == nil {
			other := "the header has"
			if lay.noHeader {
				other = "the other rows have"
			}
			row.Err = fmt.Sprintf("Line %d has %d fields; %s %d.", rec.line, len(rec.fields), other, lay.width)
			return row, amountCells{}
		}
	}
	cell := func(i int) string {
		if i < 0 {
			return ""
		}
		s := trimCell(fields[i])
		if lay.tally {
			s = unescapeCell(s)
		}
		return s
	}
	c := lay.cols
	row.Date, row.Payee, row.Memo, row.Category = cell(c.date), cell(c.payee), cell(c.memo), cell(c.category)
	row.ExternalID = cell(c.id)
	switch lay.mode {
	case AmountSigned:
		return row, amountCells{a: cell(c.amount)}
	case AmountIndicator:
		return row, amountCells{a: cell(c.amount), b: cell(c.indicator)}
	case AmountDebitCredit:
		return row, amountCells{a: cell(c.debit), b: cell(c.credit)}
	}
	return row, amountCells{}
}

// fit forgives a row that differs from the header only by empty fields at its end, as exports
// with a trailing delimiter on some lines and not others have; it returns nil for a ragged row.
func (lay *layout) fit(fields []string) []string {
	if len(fields) > lay.width {
		for _, f := range fields[lay.width:] {
			if trimCell(f) != "" {
				return nil
			}
		}
		return fields[:lay.width]
	}
	if lay.noHeader {
		return nil
	}
	for _, name := range lay.columns[len(fields):] {
		if name != "" {
			return nil
		}
	}
	padded := make([]string, lay.width)
	copy(padded, fields)
	return padded
}

// mapping writes the detected layout as a Mapping, on top of what the user set.
func (lay *layout) mapping(m Mapping) Mapping {
	if lay.columns == nil {
		// Detection stopped before the header: nothing but the delimiter is known.
		if !slices.Contains(lay.ambiguous, "delimiter") {
			m.Delimiter = string(lay.delim)
		}
		return m
	}
	m.Delimiter = string(lay.delim)
	m.SkipRows, m.NoHeader, m.AmountMode = lay.skip, lay.noHeader, lay.mode
	c := lay.cols
	m.DateColumn, m.PayeeColumn, m.MemoColumn = lay.name(c.date), lay.name(c.payee), lay.name(c.memo)
	m.CategoryColumn, m.IDColumn = lay.name(c.category), lay.name(c.id)
	m.AmountColumn, m.DebitColumn, m.CreditColumn = "", "", ""
	m.IndicatorColumn = ""
	switch lay.mode {
	case AmountSigned:
		m.AmountColumn = lay.name(c.amount)
	case AmountIndicator:
		m.AmountColumn, m.IndicatorColumn = lay.name(c.amount), lay.name(c.indicator)
	case AmountDebitCredit:
		m.DebitColumn, m.CreditColumn = lay.name(c.debit), lay.name(c.credit)
	}
	return m
}

func seenDebitWords(amounts []amountCells) []string {
	var seen []string
	for _, a := range amounts {
		if a.b != "" && hasWord(debitWords, a.b) && !hasWord(seen, a.b) {
			seen = append(seen, a.b)
		}
	}
	return seen
}

func uniqueIDs(rows []Row) bool {
	seen := make(map[string]bool, len(rows))
	for _, r := range rows {
		if r.Err != "" {
			continue
		}
		if r.ExternalID == "" || seen[r.ExternalID] {
			return false
		}
		seen[r.ExternalID] = true
	}
	return true
}

// converter turns rows as the file wrote them into dated amounts once the file's conventions
// are known.
type converter struct {
	cur         money.Currency
	mode        string
	date        *dateFormat
	dec         byte
	invert      bool
	debitValues []string
	userValues  bool
	// normalize rewrites a date before it is read (QIF's "1/15'24"); nil for none.
	normalize func(string) string
}

func (c *converter) dateText(s string) string {
	if c.normalize == nil {
		return s
	}
	return c.normalize(s)
}

// decide sets the date format and the decimal separator: what m sets, else what the format
// fixes (set before), else what every row agrees on; what cannot be decided goes to
// res.Ambiguous. It writes both into res.Mapping.
func (c *converter) decide(rows []Row, amounts []amountCells, m Mapping, res *Result) {
	switch {
	case m.DateFormat != "":
		c.date, _ = compileDateFormat(m.DateFormat)
	case c.date == nil:
		dates := make([]string, 0, len(rows))
		for _, r := range rows {
			if r.Err == "" && r.Date != "" {
				dates = append(dates, c.dateText(r.Date))
			}
		}
		f, ok := detectDateFormat(dates)
		if !ok {
			res.Ambiguous = append(res.Ambiguous, "date_format")
		}
		c.date = f
	}
	if c.date != nil {
		res.Mapping.DateFormat = c.date.name
	}

	switch {
	case m.DecimalSeparator != "":
		c.dec = m.DecimalSeparator[0]
	case c.dec == 0:
		cells := make([]string, 0, len(amounts))
		for i, a := range amounts {
			if rows[i].Err == "" {
				cells = append(cells, a.a)
				if c.mode == AmountDebitCredit {
					cells = append(cells, a.b)
				}
			}
		}
		dec, ok := detectDecimal(cells, c.cur)
		if !ok {
			res.Ambiguous = append(res.Ambiguous, "decimal_separator")
		}
		c.dec = dec
	}
	if c.dec != 0 {
		res.Mapping.DecimalSeparator = string(c.dec)
	}
}

// convert reads each row's date and amount in place.
func (c *converter) convert(rows []Row, amounts []amountCells) {
	for i := range rows {
		c.finish(&rows[i], amounts[i])
	}
}

func (c *converter) finish(row *Row, cells amountCells) {
	text := row.Date
	row.Date = ""
	if row.Err != "" {
		return
	}
	problems := make([]string, 0, 2)
	if text == "" {
		problems = append(problems, "The date is missing.")
	} else if date, problem := c.date.parse(c.dateText(text), text); problem != "" {
		problems = append(problems, problem)
	} else {
		row.Date = date
	}
	if amount, problem := c.amount(cells); problem != "" {
		problems = append(problems, problem)
	} else {
		row.Amount = amount
	}
	row.Err = strings.Join(problems, " ")
}

func (c *converter) amount(cells amountCells) (int64, string) {
	var amount int64
	switch c.mode {
	case AmountSigned:
		a, problem, empty := parseAmount(cells.a, c.dec, c.cur)
		if empty {
			return 0, "The amount is missing."
		}
		if problem != "" {
			return 0, problem
		}
		amount = a
	case AmountIndicator:
		a, problem, empty := parseAmount(cells.a, c.dec, c.cur)
		mark := cells.b
		switch {
		case empty:
			return 0, "The amount is missing."
		case problem != "":
			return 0, problem
		case mark == "":
			return 0, "The debit or credit mark is missing."
		case hasWord(c.debitValues, mark):
			amount = -abs(a)
		case c.userValues || hasWord(creditWords, mark):
			amount = abs(a)
		default:
			return 0, fmt.Sprintf("%q is neither a debit nor a credit mark.", mark)
		}
	case AmountDebitCredit:
		d, problemD, emptyD := parseAmount(cells.a, c.dec, c.cur)
		k, problemC, emptyC := parseAmount(cells.b, c.dec, c.cur)
		switch {
		case emptyD && emptyC:
			return 0, "The amount is missing."
		case problemD != "":
			return 0, problemD
		case problemC != "":
			return 0, problemC
		}
		amount = abs(k) - abs(d)
	}
	if c.invert {
		amount = -amount
	}
	return amount, ""
}

func abs(a int64) int64 {
	if a < 0 {
		return -a
	}
	return a
}

// columnLabel is how Columns names a column of a file without a header.
func columnLabel(i int) string { return "Column " + strconv.Itoa(i+1) }
