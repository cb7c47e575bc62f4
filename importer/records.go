package importer

import (
	"bufio"
	"io"
	"unicode/utf8"
)

// recordReader splits CSV text into records, counting physical lines the way a text editor
// does: "\n", "\r\n" and a lone "\r" each end one. encoding/csv does not count a lone "\r"
// (old Mac exports), and bank files need the line where a row starts for the preview.
//
// Quotes follow RFC 4180, read the lenient way spreadsheets do: a quote inside an unquoted
// field is a character, and text after a closing quote is appended to the field, so one stray
// quote never swallows the rest of the file.
type recordReader struct {
	r     *bufio.Reader
	delim byte
	line  int  // the physical line the next byte is on
	fix   bool // repair cells that are not UTF-8 (see cellText)

	buf  []byte
	ends []int
}

// record is one row of cells; line is where it starts.
type record struct {
	line   int
	fields []string
	// unclosed is a quoted field still open at the end of the file.
	unclosed bool
}

// blank reports a record with nothing in it: an empty line, or only delimiters and spaces.
func (rec record) blank() bool {
	for _, f := range rec.fields {
		if trimCell(f) != "" {
			return false
		}
	}
	return true
}

func newRecordReader(r *bufio.Reader, delim byte, fix bool) *recordReader {
	return &recordReader{r: r, delim: delim, line: 1, fix: fix}
}

// skipLines consumes n physical lines whatever they hold.
func (rr *recordReader) skipLines(n int) error {
	for n > 0 {
		c, err := rr.r.ReadByte()
		if err != nil {
			return err
		}
		if c == '\n' || c == '\r' {
			rr.endLine(c)
			n--
		}
	}
	return nil
}

// endLine counts a line end whose first byte was c, consuming the "\n" of a "\r\n" (and
// reporting that it did).
func (rr *recordReader) endLine(c byte) (crlf bool) {
	rr.line++
	if c == '\r' {
		if next, err := rr.r.Peek(1); err == nil && next[0] == '\n' {
			rr.r.ReadByte()
			return true
		}
	}
	return false
}

// read returns the next record, or io.EOF after the last one; other errors come from the
// reader under it.
func (rr *recordReader) read() (record, error) {
	rr.buf, rr.ends = rr.buf[:0], rr.ends[:0]
	rec := record{line: rr.line}
	const (
		fieldStart = iota
		unquoted
		quoted
		quoteInQuoted // a quote seen inside a quoted field: a closing one or the first of ""
		afterQuote    // text after a closing quote
	)
	state := fieldStart
	seen := false
	for {
		c, err := rr.r.ReadByte()
		if err != nil {
			if err != io.EOF {
				return record{}, err
			}
			if !seen {
				return record{}, io.EOF
			}
			rec.unclosed = state == quoted
			break
		}
		seen = true
		if state == quoted {
			switch c {
			case '"':
				state = quoteInQuoted
			case '\r', '\n':
				// A line end inside quotes is part of the cell, kept as written.
				rr.buf = append(rr.buf, c)
				if rr.endLine(c) {
					rr.buf = append(rr.buf, '\n')
				}
			default:
				rr.buf = append(rr.buf, c)
			}
			continue
		}
		if c == '\r' || c == '\n' {
			rr.endLine(c)
			break
		}
		switch {
		case c == rr.delim:
			rr.ends = append(rr.ends, len(rr.buf))
			state = fieldStart
		case state == fieldStart && c == '"':
			state = quoted
		case state == quoteInQuoted && c == '"':
			rr.buf = append(rr.buf, '"')
			state = quoted
		case state == quoteInQuoted:
			rr.buf = append(rr.buf, c)
			state = afterQuote
		case state == fieldStart:
			rr.buf = append(rr.buf, c)
			state = unquoted
		default:
			rr.buf = append(rr.buf, c)
		}
	}
	rr.ends = append(rr.ends, len(rr.buf))

	// One string per record; the cells are slices of it.
	text := string(rr.buf)
	repair := rr.fix && !utf8.ValidString(text)
	rec.fields = make([]string, len(rr.ends))
	start := 0
	for i, end := range rr.ends {
		rec.fields[i] = text[start:end]
		if repair {
			rec.fields[i] = cellText(rec.fields[i])
		}
		start = end
	}
	return rec, nil
}
