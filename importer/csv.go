package importer

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"tally/money"
)

// rawRow holds the cells of one data row that the mapping names, until the whole file has
// decided the date format and the decimal separator.
type rawRow struct {
	line                                                         int
	date, payee, memo, category, amount, debit, credit, mark, id string
	err                                                          string
}

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

	raws, err := lay.read(in)
	if err != nil {
		return nil, err
	}
	if len(raws) == 0 {
		if lay.noHeader {
			return nil, fileError(ErrNoRows, "The file has no transactions.")
		}
		return nil, fileError(ErrNoRows, "The file has a header but no transactions.")
	}

	conv := converter{cur: cur, mode: lay.mode, invert: m.Invert, tally: lay.tally}
	if m.DateFormat != "" {
		conv.date, _ = compileDateFormat(m.DateFormat)
	} else if lay.tally {
		conv.date, _ = compileDateFormat("YYYY-MM-DD")
	} else {
		dates := make([]string, 0, len(raws))
		for _, r := range raws {
			if r.err == "" && r.date != "" {
				dates = append(dates, r.date)
			}
		}
		f, ok := detectDateFormat(dates)
		if !ok {
			res.Ambiguous = append(res.Ambiguous, "date_format")
		}
		conv.date = f
	}
	if conv.date != nil {
		res.Mapping.DateFormat = conv.date.name
	}

	switch {
	case m.DecimalSeparator != "":
		conv.dec = m.DecimalSeparator[0]
	case lay.tally:
		conv.dec = '.'
	default:
		var cells []string
		for _, r := range raws {
			if r.err == "" {
				cells = append(cells, r.amount, r.debit, r.credit)
			}
		}
		dec, ok := detectDecimal(cells, cur)
		if !ok {
			res.Ambiguous = append(res.Ambiguous, "decimal_separator")
		}
		conv.dec = dec
	}
	res.Mapping.DecimalSeparator = string(conv.dec)

	if lay.mode == AmountIndicator {
		conv.debitValues, conv.userValues = m.DebitValues, len(m.DebitValues) > 0
		if !conv.userValues {
			conv.debitValues = debitWords
			res.Mapping.DebitValues = seenDebitWords(raws)
		}
	}
	if lay.cols.idDetected && !uniqueIDs(raws) {
		// A bank reference that repeats (a standing order's) would mark new rows as duplicates.
		for i := range raws {
			raws[i].id = ""
		}
		res.Mapping.IDColumn = ""
	}
	if len(res.Ambiguous) > 0 {
		return res, nil
	}

	res.Rows = make([]Row, len(raws))
	for i := range raws {
		res.Rows[i] = conv.row(&raws[i])
		raws[i] = rawRow{} // let the cells go as the rows take their place
	}
	return res, nil
}

// read streams the data rows of the file, keeping the cells the roles name.
func (lay *layout) read(in *input) ([]rawRow, error) {
	rr := newRecordReader(in.text, lay.delim, in.encoding == "utf-8")
	if err := rr.skipLines(lay.skip); err != nil {
		return nil, ioError(err)
	}
	headerSeen := lay.noHeader
	var raws []rawRow
	for {
		rec, err := rr.read()
		if err == io.EOF {
			return raws, nil
		}
		if err != nil {
			return nil, ioError(err)
		}
		if rec.blank() {
			continue
		}
		if !headerSeen {
			headerSeen = true
			continue
		}
		if len(raws) == MaxRows {
			return nil, errTooMany
		}
		raws = append(raws, lay.cells(rec))
	}
}

func ioError(err error) error {
	if err == io.EOF {
		return nil
	}
	return err
}

// cells picks a record's cells by role, or says why the record is not a row.
func (lay *layout) cells(rec record) rawRow {
	raw := rawRow{line: rec.line}
	fields := rec.fields
	if len(fields) != lay.width {
		if fields = lay.fit(fields); fields == nil {
			other := "the header has"
			if lay.noHeader {
				other = "the other rows have"
			}
			raw.err = fmt.Sprintf("Line %d has %d fields; %s %d.", rec.line, len(rec.fields), other, lay.width)
			return raw
		}
	}
	if rec.unclosed {
		raw.err = fmt.Sprintf("Line %d opens a quote that is never closed, so the rest of the file is one cell.", rec.line)
		return raw
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
	raw.date, raw.payee, raw.memo, raw.category = cell(c.date), cell(c.payee), cell(c.memo), cell(c.category)
	raw.id = cell(c.id)
	switch lay.mode {
	case AmountSigned:
		raw.amount = cell(c.amount)
	case AmountIndicator:
		raw.amount, raw.mark = cell(c.amount), cell(c.indicator)
	case AmountDebitCredit:
		raw.debit, raw.credit = cell(c.debit), cell(c.credit)
	}
	return raw
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

func seenDebitWords(raws []rawRow) []string {
	var seen []string
	for _, r := range raws {
		if r.mark != "" && hasWord(debitWords, r.mark) && !hasWord(seen, r.mark) {
			seen = append(seen, r.mark)
		}
	}
	return seen
}

func uniqueIDs(raws []rawRow) bool {
	seen := make(map[string]bool, len(raws))
	for _, r := range raws {
		if r.err != "" {
			continue
		}
		if r.id == "" || seen[r.id] {
			return false
		}
		seen[r.id] = true
	}
	return true
}

// converter turns raw rows into rows once the file's conventions are known.
type converter struct {
	cur         money.Currency
	mode        string
	date        *dateFormat
	dec         byte
	invert      bool
	tally       bool
	debitValues []string
	userValues  bool
}

func (c *converter) row(raw *rawRow) Row {
	row := Row{Line: raw.line, Payee: raw.payee, Memo: raw.memo, Category: raw.category, ExternalID: raw.id, Err: raw.err}
	if row.Err != "" {
		return row
	}
	problems := make([]string, 0, 2)
	if raw.date == "" {
		problems = append(problems, "The date is missing.")
	} else if date, problem := c.date.parse(raw.date); problem != "" {
		problems = append(problems, problem)
	} else {
		row.Date = date
	}
	amount, problem := c.amount(raw)
	if problem != "" {
		problems = append(problems, problem)
	} else {
		row.Amount = amount
	}
	row.Err = strings.Join(problems, " ")
	return row
}

func (c *converter) amount(raw *rawRow) (int64, string) {
	var amount int64
	switch c.mode {
	case AmountSigned:
		a, problem, empty := parseAmount(raw.amount, c.dec, c.cur)
		if empty {
			return 0, "The amount is missing."
		}
		if problem != "" {
			return 0, problem
		}
		amount = a
	case AmountIndicator:
		a, problem, empty := parseAmount(raw.amount, c.dec, c.cur)
		switch {
		case empty:
			return 0, "The amount is missing."
		case problem != "":
			return 0, problem
		case raw.mark == "":
			return 0, "The debit or credit mark is missing."
		case hasWord(c.debitValues, raw.mark):
			amount = -abs(a)
		case c.userValues || hasWord(creditWords, raw.mark):
			amount = abs(a)
		default:
			return 0, fmt.Sprintf("%q is neither a debit nor a credit mark.", raw.mark)
		}
	case AmountDebitCredit:
		d, problemD, emptyD := parseAmount(raw.debit, c.dec, c.cur)
		k, problemC, emptyC := parseAmount(raw.credit, c.dec, c.cur)
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
