package money

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrEmpty is wrapped by the ParseError for an input of nothing but spaces, so that a form
// with an optional amount can tell "no amount" from a wrong one with errors.Is.
var ErrEmpty = errors.New("money: empty amount")

// maxMajor caps the whole part of a parsed amount: at most 999,999,999,999,999. That is more
// than the world's yearly output in any currency, so a longer number is a typo; and even with
// the three decimals of KWD it stays below 10^18, so it fits in int64 with room for sums
// (Totals.Add reports the sums that would not fit).
const maxMajor = 1_000_000_000_000_000

// ParseError says why an input is not an amount, in a sentence written for the user, so a
// form can show it next to the field.
type ParseError struct {
	Input   string // as given, to show back in the field
	Message string // for example "USD amounts have at most 2 decimals."
	err     error
}

// Error returns Message, so that err.Error() can go into a form as it is.
func (e *ParseError) Error() string { return e.Message }

func (e *ParseError) Unwrap() error { return e.err }

// Parse reads an amount typed by a user whose profile writes numbers in format f. It accepts
//
//   - the format's decimal separator and, optionally, its group separator between groups of
//     exactly three digits ("1,234.56", never "1,23,4.56");
//   - one sign: a leading "+" or "-", a trailing "-", or parentheses around the amount, as
//     accountants write money out;
//   - the currency's symbol or code, once, before or after the number ("$12.34", "-$12.34",
//     "$-12.34", "12,34 €", "EUR 12.34", "12.34 usd");
//   - spaces around any of these.
//
// More decimals than the currency's exponent are refused, never rounded: "12.345" in USD and
// "12.5" in JPY are errors, and so is "12.340" in USD, although its last zero changes nothing;
// one rule, "at most 2 decimals", is simpler to state next to a field than a rule about which
// extra digits are harmless. The whole part is capped as maxMajor says.
//
// Every error is a *ParseError; for an empty input it wraps ErrEmpty.
func Parse(s string, cur Currency, f NumberFormat) (int64, error) {
	p := parser{input: s, cur: cur, format: f, sep: f.separators()}
	text := strings.TrimFunc(s, unicode.IsSpace)
	if text == "" {
		return 0, p.empty()
	}
	number, negative, err := p.peel(text)
	if err != nil {
		return 0, err
	}
	return p.number(number, negative)
}

// ParseMachine reads the plain decimals that FormatMachine writes, for JSON, CSV and other
// input from programs: only -?[0-9]+(\.[0-9]+)?, with no spaces, grouping, "+" or currency,
// so that nothing in a file is guessed. Decimals and size are as strict as in Parse.
func ParseMachine(s string, cur Currency) (int64, error) {
	p := parser{input: s, cur: cur, machine: true, sep: separators{decimal: '.'}}
	if s == "" {
		return 0, p.empty()
	}
	text, negative := strings.CutPrefix(s, "-")
	if strings.HasPrefix(text, ".") {
		return 0, p.fail(p.notANumber())
	}
	return p.number(text, negative)
}

// parser holds one input and what it is read against, to write its errors.
type parser struct {
	input   string
	cur     Currency
	format  NumberFormat
	machine bool
	sep     separators
}

// peel takes the signs, parentheses and currency off both ends of text and returns the number
// between them.
func (p parser) peel(text string) (number string, negative bool, err error) {
	signs, opens, closes, currencies := 0, 0, 0, 0
	for {
		text = strings.TrimFunc(text, unicode.IsSpace)
		r, size := utf8.DecodeRuneInString(text)
		if n := p.currencyPrefix(text); n > 0 {
			currencies++
			size = n
		} else if r == '+' || isMinus(r) {
			signs++
			negative = r != '+'
		} else if r == '(' {
			opens++
		} else {
			break
		}
		text = text[size:]
	}
	for {
		text = strings.TrimFunc(text, unicode.IsSpace)
		r, size := utf8.DecodeLastRuneInString(text)
		if n := p.currencySuffix(text); n > 0 {
			currencies++
			size = n
		} else if isMinus(r) {
			signs++
			negative = true
		} else if r == ')' {
			closes++
		} else {
			break
		}
		text = text[:len(text)-size]
	}
	if opens != closes || signs+opens > 1 {
		return "", false, p.fail(fmt.Sprintf("Write money out as -%s or (%s).", p.example(), p.example()))
	}
	if currencies > 1 {
		return "", false, p.fail("Write the currency once.")
	}
	return text, negative || opens == 1, nil
}

// isMinus accepts U+2212 too, the minus sign of typeset pages that users copy amounts from.
func isMinus(r rune) bool { return r == '-' || r == '\u2212' }

// currencyPrefix returns the length of the currency's code or symbol that text starts with,
// in any case, or 0.
func (p parser) currencyPrefix(text string) int {
	for _, token := range []string{p.cur.Code, p.cur.Symbol} {
		if token != "" && len(text) >= len(token) && strings.EqualFold(text[:len(token)], token) {
			return len(token)
		}
	}
	return 0
}

// currencySuffix returns the length of the currency's code or symbol that text ends with, in
// any case, or 0.
func (p parser) currencySuffix(text string) int {
	for _, token := range []string{p.cur.Code, p.cur.Symbol} {
		if token != "" && len(text) >= len(token) && strings.EqualFold(text[len(text)-len(token):], token) {
			return len(token)
		}
	}
	return 0
}

// number reads digits with the format's separators into minor units.
func (p parser) number(text string, negative bool) (int64, error) {
	whole, fraction, hasDecimal := strings.Cut(text, string(p.sep.decimal))
	if (whole == "" && fraction == "") || (hasDecimal && fraction == "") || !allDigits(fraction) {
		return 0, p.fail(p.notANumber())
	}
	digits, err := p.ungroup(whole)
	if err != nil {
		return 0, err
	}
	exponent := max(p.cur.Exponent, 0)
	if len(fraction) > exponent {
		if exponent == 0 {
			return 0, p.fail(fmt.Sprintf("%s amounts have no decimals.", p.cur.Code))
		}
		return 0, p.fail(fmt.Sprintf("%s amounts have at most %d decimals.", p.cur.Code, exponent))
	}

	var minor int64
	for _, d := range digits {
		minor = minor*10 + int64(d-'0')
		if minor >= maxMajor {
			return 0, p.tooLarge()
		}
	}
	for i := range exponent {
		// Only a currency with more decimals than ISO 4217 knows could overflow here.
		if minor > (math.MaxInt64-9)/10 {
			return 0, p.tooLarge()
		}
		minor *= 10
		if i < len(fraction) {
			minor += int64(fraction[i] - '0')
		}
	}
	if negative {
		minor = -minor
	}
	return minor, nil
}

// ungroup checks the group separators in whole and returns its digits alone.
func (p parser) ungroup(whole string) (string, error) {
	digits := make([]byte, 0, len(whole))
	groups, groupLen := 0, 0
	for _, r := range whole {
		switch {
		case '0' <= r && r <= '9':
			digits = append(digits, byte(r))
			groupLen++
		case slices.Contains(p.sep.groups, r):
			first := groups == 0 && groupLen >= 1 && groupLen <= 3
			if !first && !(groups > 0 && groupLen == 3) {
				return "", p.badGrouping()
			}
			groups++
			groupLen = 0
		default:
			return "", p.fail(p.notANumber())
		}
	}
	if groups > 0 && groupLen != 3 {
		return "", p.badGrouping()
	}
	return string(digits), nil
}

func allDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func (p parser) fail(message string) error {
	return &ParseError{Input: p.input, Message: message}
}

func (p parser) empty() error {
	return &ParseError{Input: p.input, Message: "Enter an amount.", err: ErrEmpty}
}

func (p parser) notANumber() string {
	return fmt.Sprintf("Enter a number like %s.", p.example())
}

func (p parser) badGrouping() error {
	return p.fail(fmt.Sprintf("Group digits in threes, like %s.", p.example()))
}

func (p parser) tooLarge() error {
	limit := Format(maxMajor, Currency{}, p.format)
	if p.machine {
		limit = FormatMachine(maxMajor, Currency{})
	}
	return p.fail(fmt.Sprintf("Enter an amount under %s.", limit))
}

// example is 1234.567… with the currency's decimals, written the way the input should be.
func (p parser) example() string {
	minor := int64(1234)
	for i := range min(max(p.cur.Exponent, 0), 9) {
		minor = minor*10 + int64(5+i)%10
	}
	if p.machine {
		return FormatMachine(minor, p.cur)
	}
	return Format(minor, p.cur, p.format)
}
