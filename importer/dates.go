package importer

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// dateFormats are the patterns detection tries, in the order a tie is reported. A pattern reads
// one or two digits for D and M unless digits follow without a separator (YYYYMMDD), any
// number of spaces for a space, and a month name or abbreviation in English, German, Dutch,
// French or Spanish for MMM; a time after the date ("2025-01-31 14:02") is ignored.
var dateFormats = []string{
	"YYYY-MM-DD", "YYYYMMDD", "YYYY/MM/DD", "YYYY.MM.DD",
	"DD.MM.YYYY", "DD/MM/YYYY", "MM/DD/YYYY", "DD-MM-YYYY", "MM-DD-YYYY",
	"DD.MM.YY", "DD/MM/YY", "MM/DD/YY", "DD-MM-YY", "MM-DD-YY",
	"D MMM YYYY", "D MMM YY", "DD-MMM-YYYY", "DD-MMM-YY", "D. MMM YYYY", "MMM D, YYYY",
}

// dateFormat is a compiled pattern.
type dateFormat struct {
	name   string
	tokens []dateToken
}

type dateToken struct {
	kind  byte   // 'Y' four-digit year, 'y' two-digit year, 'M' month, 'N' month name, 'D' day, 'L' literal
	lit   string // for 'L'
	fixed bool   // digits follow without a separator, so the width is exact
}

func (t dateToken) numeric() bool {
	return t.kind == 'Y' || t.kind == 'y' || t.kind == 'M' || t.kind == 'D'
}

// compileDateFormat reads a pattern such as "DD.MM.YYYY".
func compileDateFormat(name string) (*dateFormat, error) {
	bad := func() error {
		return &MappingError{"date_format", fmt.Sprintf("%q is not a date pattern. Write one with YYYY or YY, MM or MMM, DD and separators, like DD.MM.YYYY.", name)}
	}
	f := &dateFormat{name: name}
	seen := map[byte]bool{}
	for i := 0; i < len(name); {
		c := name[i]
		n := 1
		for i+n < len(name) && name[i+n] == c {
			n++
		}
		var t dateToken
		switch {
		case c == 'Y' && n == 4:
			t.kind = 'Y'
		case c == 'Y' && n == 2:
			t.kind = 'y'
		case c == 'M' && n <= 2:
			t.kind = 'M'
		case c == 'M' && n <= 4:
			t.kind = 'N'
		case c == 'D' && n <= 2:
			t.kind = 'D'
		case c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			return nil, bad()
		default:
			t = dateToken{kind: 'L', lit: name[i : i+n]}
		}
		if t.kind != 'L' {
			group := t.kind
			if group == 'y' {
				group = 'Y'
			} else if group == 'N' {
				group = 'M'
			}
			if seen[group] {
				return nil, bad()
			}
			seen[group] = true
		}
		f.tokens = append(f.tokens, t)
		i += n
	}
	if !seen['Y'] || !seen['M'] || !seen['D'] || len(name) > 40 {
		return nil, bad()
	}
	for i := range f.tokens {
		next := i+1 < len(f.tokens) && f.tokens[i+1].kind != 'L'
		prev := i > 0 && f.tokens[i-1].kind != 'L'
		f.tokens[i].fixed = f.tokens[i].numeric() && (next || prev)
	}
	return f, nil
}

// match reads s into a year, month and day; ok is false when s does not have the pattern's
// shape, which includes a month beyond 12 or a day beyond 31 (so DD/MM and MM/DD tell apart).
// The calendar (30 February) is checked by parse.
func (f *dateFormat) match(s string) (y, m, d int, ok bool) {
	i := 0
	for _, t := range f.tokens {
		switch t.kind {
		case 'L':
			for j := 0; j < len(t.lit); j++ {
				if t.lit[j] == ' ' {
					if i >= len(s) || s[i] != ' ' {
						return 0, 0, 0, false
					}
					for i < len(s) && s[i] == ' ' {
						i++
					}
					continue
				}
				if i >= len(s) || s[i] != t.lit[j] {
					return 0, 0, 0, false
				}
				i++
			}
		case 'N':
			j := i
			for j < len(s) {
				r, size := utf8.DecodeRuneInString(s[j:])
				if !unicode.IsLetter(r) {
					break
				}
				j += size
			}
			month, found := monthNames[strings.ToLower(s[i:j])]
			if !found {
				return 0, 0, 0, false
			}
			m, i = month, j
			if i < len(s) && s[i] == '.' {
				i++
			}
		default:
			minWidth, maxWidth := 1, 2
			switch {
			case t.kind == 'Y':
				minWidth, maxWidth = 4, 4
			case t.kind == 'y' || t.fixed:
				minWidth = 2
			}
			n, v := 0, 0
			for i+n < len(s) && n < maxWidth && s[i+n] >= '0' && s[i+n] <= '9' {
				v = v*10 + int(s[i+n]-'0')
				n++
			}
			if n < minWidth {
				return 0, 0, 0, false
			}
			i += n
			switch t.kind {
			case 'Y':
				y = v
			case 'y':
				y = 1900 + v
				if v < 70 {
					y = 2000 + v
				}
			case 'M':
				m = v
			case 'D':
				d = v
			}
		}
	}
	if rest := s[i:]; rest != "" {
		// A time may follow: "2025-01-31 14:02:00", "2025-01-31T14:02".
		if len(rest) < 2 || (rest[0] != ' ' && rest[0] != 'T') || strings.TrimLeft(rest[1:], " ") == "" ||
			!isDigit(strings.TrimLeft(rest[1:], " ")[0]) {
			return 0, 0, 0, false
		}
	}
	return y, m, d, m >= 1 && m <= 12 && d >= 1 && d <= 31
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// parse reads s into YYYY-MM-DD, or returns a sentence saying why it cannot, quoting shown (s
// as the file wrote it).
func (f *dateFormat) parse(s, shown string) (string, string) {
	y, m, d, ok := f.match(s)
	if !ok {
		return "", fmt.Sprintf("%q is not a date like %s.", shown, f.name)
	}
	if y < 1900 || y > 2199 {
		return "", fmt.Sprintf("%q is not a date in a bank statement: the year is %d.", shown, y)
	}
	if last := daysIn(y, time.Month(m)); d > last {
		return "", fmt.Sprintf("%q does not exist: %s %d has %d days.", shown, time.Month(m), y, last)
	}
	var b [10]byte
	put := func(at, v, width int) {
		for i := width - 1; i >= 0; i-- {
			b[at+i] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, y, 4)
	b[4] = '-'
	put(5, m, 2)
	b[7] = '-'
	put(8, d, 2)
	return string(b[:]), ""
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// detectDateFormat decides the pattern of a column of dates (empty ones left out): the pattern
// that fits every value, or, when none does, the one that fits most. Patterns that fit equally
// well but read some value as different dates (01/02 is January or February) make it
// ambiguous; ok is false then, and when nothing fits at all.
func detectDateFormat(values []string) (f *dateFormat, ok bool) {
	if len(values) == 0 {
		return nil, true
	}
	compiled := make([]*dateFormat, len(dateFormats))
	var best []*dateFormat
	for i, name := range dateFormats {
		compiled[i], _ = compileDateFormat(name)
		if compiled[i].fitsAll(values) {
			best = append(best, compiled[i])
		}
	}
	if len(best) == 0 {
		most := 0
		for _, c := range compiled {
			n := c.fits(values)
			switch {
			case n > most:
				most, best = n, []*dateFormat{c}
			case n == most && n > 0:
				best = append(best, c)
			}
		}
	}
	if len(best) == 0 {
		return nil, false
	}
	for _, other := range best[1:] {
		if !sameDates(best[0], other, values) {
			return nil, false
		}
	}
	return best[0], true
}

func (f *dateFormat) fitsAll(values []string) bool {
	for _, v := range values {
		if _, _, _, ok := f.match(v); !ok {
			return false
		}
	}
	return true
}

func (f *dateFormat) fits(values []string) int {
	n := 0
	for _, v := range values {
		if _, _, _, ok := f.match(v); ok {
			n++
		}
	}
	return n
}

// sameDates reports whether a and b read every value that both fit as the same date.
func sameDates(a, b *dateFormat, values []string) bool {
	for _, v := range values {
		y1, m1, d1, ok1 := a.match(v)
		y2, m2, d2, ok2 := b.match(v)
		if ok1 && ok2 && (y1 != y2 || m1 != m2 || d1 != d2) {
			return false
		}
	}
	return true
}

// monthNames maps month names and their usual abbreviations, lower case, in the five languages
// of the header names, to month numbers.
var monthNames = func() map[string]int {
	names := [12]string{
		"january jan januar jänner jän januari janvier janv enero ene",
		"february feb februar februari février fevrier févr fevr febrero",
		"march mar märz mär mrz maart mrt mars marzo",
		"april apr avril avr abril abr",
		"may mai mei mayo",
		"june jun juni juin junio",
		"july jul juli juillet juil julio",
		"august aug augustus août aout agosto ago",
		"september sep sept septembre septiembre setiembre set",
		"october oct oktober okt octobre octubre",
		"november nov novembre noviembre",
		"december dec dezember dez décembre déc decembre diciembre dic",
	}
	m := map[string]int{}
	for i, list := range names {
		for _, name := range strings.Fields(list) {
			m[name] = i + 1
		}
	}
	return m
}()
