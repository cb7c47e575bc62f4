package money

import "slices"

// NumberFormat is how a user writes numbers, a profile setting. Each value is its own example,
// so it reads plainly in the database and in a select box, and never changes once stored.
type NumberFormat string

// The formats a profile can hold; DefaultFormat is the one of a profile that never chose.
const (
	CommaDot      NumberFormat = "1,234.56"
	DotComma      NumberFormat = "1.234,56"
	SpaceComma    NumberFormat = "1 234,56"
	ApostropheDot NumberFormat = "1'234.56"

	DefaultFormat = CommaDot
)

// Formats lists the number formats for a select box, the default first.
func Formats() []NumberFormat {
	return []NumberFormat{CommaDot, DotComma, SpaceComma, ApostropheDot}
}

// Valid reports whether f is one of Formats, for validating a submitted profile form.
func (f NumberFormat) Valid() bool {
	return slices.Contains(Formats(), f)
}

// Label names the format for a person choosing one.
func (f NumberFormat) Label() string {
	switch f {
	case CommaDot:
		return "1,234.56 (English)"
	case DotComma:
		return "1.234,56 (German, Spanish, Italian)"
	case SpaceComma:
		return "1 234,56 (French, Nordic, Polish)"
	case ApostropheDot:
		return "1'234.56 (Swiss)"
	}
	return string(f)
}

// separators are the characters a number format writes and reads.
type separators struct {
	group   rune   // what Format writes between groups of three digits
	groups  []rune // what Parse accepts there: group and what keyboards and pastes produce
	decimal rune
}

// separators falls back to DefaultFormat for anything not in Formats, the empty string of a
// profile that never chose included, so a page shows amounts instead of failing.
func (f NumberFormat) separators() separators {
	switch f {
	case DotComma:
		return separators{group: '.', groups: []rune{'.'}, decimal: ','}
	case SpaceComma:
		// Written as a no-break space so that an amount never wraps across lines; read also as
		// a plain space (typed) and a narrow no-break space (what French locales write).
		return separators{group: '\u00A0', groups: []rune{' ', '\u00A0', '\u202F'}, decimal: ','}
	case ApostropheDot:
		// Swiss locales write a right single quotation mark, and phones type one for "'".
		return separators{group: '\'', groups: []rune{'\'', '\u2019'}, decimal: '.'}
	}
	return separators{group: ',', groups: []rune{','}, decimal: '.'}
}
