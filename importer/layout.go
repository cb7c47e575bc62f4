package importer

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"tally/money"
)

// layout is what detection found in the head of a CSV: how to split it, where the data starts
// and which column plays which role.
type layout struct {
	delim      byte
	skip       int // physical lines before the header (or the first row without one)
	noHeader   bool
	width      int // fields in a row
	columns    []string
	normalized []string
	tally      bool // Tally's own export: undo the formula escape
	cols       roles
	mode       string
	ambiguous  []string
}

// roles are column indexes, -1 for none.
type roles struct {
	date, payee, memo, category, amount, debit, credit, indicator, id int
	idDetected                                                        bool
}

var delimiters = []byte{',', ';', '\t', '|'}

const sampleRecords = 500

// sample splits the head of the file into records.
func sample(in *input, delim byte) []record {
	head := in.head
	if !in.complete {
		// Leave out the last line, which may be cut short.
		if i := bytes.LastIndexAny(head, "\r\n"); i >= 0 {
			head = head[:i+1]
		}
	}
	rr := newRecordReader(bufio.NewReader(bytes.NewReader(head)), delim, in.encoding == "utf-8")
	var recs []record
	for len(recs) < sampleRecords {
		rec, err := rr.read()
		if err != nil {
			break
		}
		recs = append(recs, rec)
	}
	return recs
}

// modalWidth is the field count most non-blank records have (the wider on a tie), and how
// many have it; records of one field do not count, as they are not split at all.
func modalWidth(recs []record) (width, count int) {
	counts := map[int]int{}
	for _, rec := range recs {
		if !rec.blank() && len(rec.fields) > 1 {
			counts[len(rec.fields)]++
		}
	}
	for w, c := range counts {
		if c > count || c == count && w > width {
			width, count = w, c
		}
	}
	return width, count
}

// detectLayout finds the delimiter, the header and the columns, what m sets winning.
func detectLayout(in *input, cur money.Currency, m Mapping) (*layout, error) {
	lay := &layout{}
	var recs []record
	if m.Delimiter != "" {
		lay.delim = m.Delimiter[0]
		recs = sample(in, lay.delim)
	} else {
		// The delimiter that splits the most records into the most fields alike: a decimal
		// comma splits each row of a semicolon file in two, the semicolons in a dozen.
		best := 0
		for _, d := range delimiters {
			r := sample(in, d)
			w, c := modalWidth(r)
			if score := c * (w - 1); score > best || score == best && score > 0 && w > lay.width {
				best, lay.delim, lay.width, recs = score, d, w, r
			}
		}
		if best == 0 {
			if nonBlank(sample(in, ','), 2) < 2 && in.complete {
				return nil, fileError(ErrNoRows, "The file has no transactions.")
			}
			lay.delim = ','
			lay.ambiguous = []string{"delimiter"}
			return lay, nil
		}
	}
	width, _ := modalWidth(recs)
	if width == 0 && m.Delimiter != "" {
		return nil, &MappingError{"delimiter", fmt.Sprintf("No line of the file has a %s in it.", delimiterName(lay.delim))}
	}

	start := -1 // the index in recs of the header, or of the first row without one
	for i, rec := range recs {
		switch {
		case rec.blank():
		case m.SkipRows > 0 || m.NoHeader:
			if rec.line > m.SkipRows && start < 0 {
				start = i
			}
		case looksLikeHeader(rec.fields):
			start = i
		}
		if start >= 0 {
			break
		}
	}
	if start < 0 && m.SkipRows == 0 && !m.NoHeader {
		for i, rec := range recs {
			if !rec.blank() && len(rec.fields) == width {
				start = i
				lay.noHeader = looksLikeData(rec.fields, cur)
				break
			}
		}
	}
	lay.noHeader = lay.noHeader || m.NoHeader
	if start < 0 {
		if in.complete {
			return nil, fileError(ErrNoRows, "The file has no transactions.")
		}
		lay.ambiguous = []string{"skip_rows"}
		return lay, nil
	}
	lay.skip = recs[start].line - 1
	if m.SkipRows > 0 {
		lay.skip = m.SkipRows
	}

	data := recs[start:]
	if lay.noHeader {
		lay.width = width
		if m.NoHeader {
			lay.width = len(recs[start].fields)
		}
		for i := range lay.width {
			lay.columns = append(lay.columns, columnLabel(i))
		}
	} else {
		data = data[1:]
		lay.width = len(recs[start].fields)
		for _, f := range recs[start].fields {
			lay.columns = append(lay.columns, trimCell(f))
		}
	}
	for _, c := range lay.columns {
		lay.normalized = append(lay.normalized, normalizeHeader(c))
	}
	lay.tally = !lay.noHeader && slices.Equal(lay.normalized, tallyHeader)
	if err := lay.assign(m, data, cur); err != nil {
		return nil, err
	}
	return lay, nil
}

func nonBlank(recs []record, limit int) int {
	n := 0
	for _, rec := range recs {
		if !rec.blank() {
			n++
			if n >= limit {
				break
			}
		}
	}
	return n
}

// assign gives each role a column: what m names, else by header name, else by content.
func (lay *layout) assign(m Mapping, data []record, cur money.Currency) error {
	c := roles{date: -1, payee: -1, memo: -1, category: -1, amount: -1, debit: -1, credit: -1, indicator: -1, id: -1}
	taken := map[int]bool{}
	set := []struct {
		role  string
		value string
		to    *int
	}{
		{roleDate, m.DateColumn, &c.date}, {roleAmount, m.AmountColumn, &c.amount},
		{roleDebit, m.DebitColumn, &c.debit}, {roleCredit, m.CreditColumn, &c.credit},
		{roleIndicator, m.IndicatorColumn, &c.indicator}, {rolePayee, m.PayeeColumn, &c.payee},
		{roleMemo, m.MemoColumn, &c.memo}, {roleCategory, m.CategoryColumn, &c.category},
		{roleID, m.IDColumn, &c.id},
	}
	for _, s := range set {
		if s.value == "" {
			continue
		}
		i, err := lay.resolve(s.role, s.value)
		if err != nil {
			return err
		}
		*s.to, taken[i] = i, true
	}
	// By header name, leaving out roles the mode does not use.
	mode := m.AmountMode
	for _, s := range set {
		if *s.to >= 0 || lay.noHeader {
			continue
		}
		switch {
		case s.role == roleAmount && mode == AmountDebitCredit,
			(s.role == roleDebit || s.role == roleCredit) && (mode == AmountSigned || mode == AmountIndicator || c.amount >= 0),
			s.role == roleIndicator && (mode == AmountSigned || mode == AmountDebitCredit):
			continue
		}
		if i := findByName(s.role, lay.normalized, taken); i >= 0 {
			*s.to, taken[i] = i, true
			c.idDetected = c.idDetected || s.role == roleID
		}
	}
	// By content, for files without a header or with names nobody wrote down.
	if c.date < 0 {
		c.date = findByContent(data, lay.width, taken, isDateLike)
		taken[c.date] = c.date >= 0
	}
	if c.amount < 0 && (mode == AmountSigned || mode == AmountIndicator || mode == "" && (c.debit < 0 || c.credit < 0)) {
		c.amount = findByContent(data, lay.width, taken, func(s string) bool { return isAmountLike(s, cur) })
		taken[c.amount] = c.amount >= 0
		if c.amount >= 0 {
			c.debit, c.credit = -1, -1
		}
	}
	if c.indicator < 0 && c.amount >= 0 && mode != AmountSigned && mode != AmountDebitCredit && unsigned(data, c.amount) {
		c.indicator = findByContent(data, lay.width, taken, func(s string) bool {
			return hasWord(debitWords, s) || hasWord(creditWords, s) || hasWord(m.DebitValues, s)
		})
		taken[c.indicator] = c.indicator >= 0
	}
	if c.payee < 0 && lay.noHeader {
		c.payee = wordiest(data, lay.width, taken)
	}

	if mode == "" {
		switch {
		case c.amount >= 0 && c.indicator >= 0:
			mode = AmountIndicator
		case c.amount >= 0:
			mode = AmountSigned
		case c.debit >= 0 || c.credit >= 0:
			mode = AmountDebitCredit
		}
	}
	lay.mode = mode
	if c.date < 0 {
		lay.ambiguous = append(lay.ambiguous, roleDate)
	}
	switch mode {
	case AmountSigned:
		lay.need(roleAmount, c.amount)
	case AmountIndicator:
		lay.need(roleAmount, c.amount)
		lay.need(roleIndicator, c.indicator)
	case AmountDebitCredit:
		lay.need(roleDebit, c.debit)
		lay.need(roleCredit, c.credit)
	default:
		lay.ambiguous = append(lay.ambiguous, roleAmount)
	}
	lay.cols = c
	return nil
}

func (lay *layout) need(role string, column int) {
	if column < 0 {
		lay.ambiguous = append(lay.ambiguous, role)
	}
}

// resolve finds the column a mapping names: by header (in any case), else by 0-based index.
func (lay *layout) resolve(role, value string) (int, error) {
	want := trimCell(value)
	if !lay.noHeader {
		for i, name := range lay.columns {
			if strings.EqualFold(name, want) {
				return i, nil
			}
		}
	}
	if i, err := strconv.Atoi(want); err == nil && i >= 0 && i < lay.width && allDigits(want) {
		return i, nil
	}
	return 0, &MappingError{role, fmt.Sprintf("The file has no column %q. Its columns are %s.", value, lay.list())}
}

func (lay *layout) list() string {
	names := make([]string, len(lay.columns))
	for i, c := range lay.columns {
		names[i] = fmt.Sprintf("%d %q", i, c)
	}
	return strings.Join(names, ", ")
}

// name is how a column is written in the detected Mapping: its header when that is unique,
// else its index.
func (lay *layout) name(i int) string {
	if i < 0 {
		return ""
	}
	if !lay.noHeader && lay.columns[i] != "" {
		unique := true
		for j, c := range lay.columns {
			unique = unique && (j == i || !strings.EqualFold(c, lay.columns[i]))
		}
		if unique {
			return lay.columns[i]
		}
	}
	return strconv.Itoa(i)
}

func delimiterName(d byte) string {
	if d == '\t' {
		return "tab"
	}
	return string(d)
}
