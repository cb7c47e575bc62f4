package importer

import (
	"bufio"
	"io"
	"strings"

	"tally/money"
)

// qifTypes are the QIF sections that hold a cash account's transactions; investment
// sections, category lists and memorized transactions are skipped.
var qifTypes = map[string]bool{"bank": true, "ccard": true, "cash": true, "oth a": true, "oth l": true}

// parseQIF reads the D T P M L ^ records of a QIF file's bank, cash and credit card sections.
// QIF has no ids, and writes dates in the style of the program that wrote it: the date format
// and the decimal separator are detected from all records, as for CSV.
func parseQIF(in *input, cur money.Currency, m Mapping) (*Result, error) {
	lr := lineReader{r: in.text, fix: in.encoding == "utf-8"}
	var rows []Row
	var amounts []amountCells
	var rec *Row // the record being read, its Date as the file wrote it
	var amount string
	inBank, sawBank := false, false
	finish := func() error {
		if rec != nil && inBank {
			if len(rows) == MaxRows {
				return errTooMany
			}
			rows = append(rows, *rec)
			amounts = append(amounts, amountCells{a: amount})
		}
		rec, amount = nil, ""
		return nil
	}
	for {
		text, line, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		text = strings.TrimRight(text, " \t")
		if text == "" {
			continue
		}
		if text[0] == '!' {
			if err := finish(); err != nil {
				return nil, err
			}
			header := strings.ToLower(text)
			if kind, ok := strings.CutPrefix(header, "!type:"); ok {
				inBank = qifTypes[strings.TrimSpace(kind)]
				sawBank = sawBank || inBank
			} else if strings.HasPrefix(header, "!account") {
				inBank = false
			}
			continue
		}
		if text[0] == '^' {
			if err := finish(); err != nil {
				return nil, err
			}
			continue
		}
		if rec == nil {
			rec = &Row{Line: line}
		}
		value := trimCell(text[1:])
		switch text[0] {
		case 'D':
			rec.Date = value
		case 'T':
			amount = value
		case 'U':
			if amount == "" {
				amount = value
			}
		case 'P':
			rec.Payee = value
		case 'M':
			rec.Memo = value
		case 'L':
			rec.Category = value
		}
	}
	if err := finish(); err != nil {
		return nil, err
	}
	if !sawBank {
		return nil, fileError(ErrNoRows, "This QIF file holds no bank, cash or credit card transactions.")
	}
	if len(rows) == 0 {
		return nil, fileError(ErrNoRows, "The file has no transactions.")
	}

	res := &Result{Format: FormatQIF, Mapping: Mapping{Invert: m.Invert}}
	conv := &converter{cur: cur, mode: AmountSigned, invert: m.Invert, normalize: normalizeQIFDate}
	conv.decide(rows, amounts, m, res)
	if len(res.Ambiguous) > 0 {
		return res, nil
	}
	conv.convert(rows, amounts)
	res.Rows = rows
	return res, nil
}

// normalizeQIFDate turns Quicken's dates into plain ones: "1/15'24" (an apostrophe before the
// year for 2000 and later) is "1/15/2024", and " 1/ 5/24" loses its padding.
func normalizeQIFDate(s string) string {
	s = strings.ReplaceAll(s, " ", "")
	before, year, found := strings.Cut(s, "'")
	if !found {
		return s
	}
	if len(year) <= 2 && allDigits(year) && year != "" {
		year = "20" + strings.Repeat("0", 2-len(year)) + year
	}
	return before + "/" + year
}

// lineReader reads physical lines ending in "\n", "\r\n" or a lone "\r".
type lineReader struct {
	r    *bufio.Reader
	line int
	fix  bool
	buf  []byte
}

// next returns the next line without its end, and its number.
func (lr *lineReader) next() (string, int, error) {
	lr.buf = lr.buf[:0]
	lr.line++
	for {
		c, err := lr.r.ReadByte()
		if err != nil {
			if err == io.EOF && len(lr.buf) > 0 {
				break
			}
			return "", lr.line, err
		}
		if c == '\n' {
			break
		}
		if c == '\r' {
			if next, err := lr.r.Peek(1); err == nil && next[0] == '\n' {
				lr.r.ReadByte()
			}
			break
		}
		lr.buf = append(lr.buf, c)
	}
	s := string(lr.buf)
	if lr.fix {
		s = cellText(s)
	}
	return s, lr.line, nil
}
