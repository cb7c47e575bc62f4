package importer

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"tally/money"
)

// parseAmount reads a bank's amount with decimal separator dec ('.' or ','): an optional sign
// ("+", "-" or U+2212 before, "-" after, parentheses around, "CR"/"DR" after), the currency's
// code or symbol on either side, group separators (the other of . and ,, spaces, apostrophes)
// between groups of digits of which the last has three, and at most the currency's decimals.
// Decimals beyond those are refused unless they are zeros ("12.3400" is exact, "12.345" in
// USD is not, and is never rounded). It returns the minor units or a sentence for the user;
// empty is an empty cell.
func parseAmount(s string, dec byte, cur money.Currency) (minor int64, problem string, empty bool) {
	text := trimCell(s)
	minor, fail, decimals := readAmount(text, dec, cur)
	switch fail {
	case amountEmpty:
		return 0, "", true
	case amountNotANumber:
		if strings.IndexFunc(text, func(r rune) bool { return unicode.IsLetter(r) || unicode.Is(unicode.Sc, r) }) >= 0 {
			return 0, fmt.Sprintf("%q is not an amount in %s.", text, cur.Code), false
		}
		return 0, fmt.Sprintf("%q is not an amount.", text), false
	case amountTooManyDecimals:
		return 0, tooManyDecimals(text, decimals, cur), false
	case amountTooLarge:
		return 0, fmt.Sprintf("%q is larger than any amount Tally holds.", text), false
	}
	return minor, "", false
}

// Why readAmount could not read a cell.
const (
	amountOK = iota
	amountEmpty
	amountNotANumber
	amountTooManyDecimals
	amountTooLarge
)

// readAmount is parseAmount without the sentence, for detection, which reads every cell twice.
func readAmount(text string, dec byte, cur money.Currency) (minor int64, fail, decimals int) {
	if text == "" {
		return 0, amountEmpty, 0
	}
	number, negative, ok := peelAmount(text, cur)
	if !ok {
		return 0, amountNotANumber, 0
	}
	whole, fraction, hasDec := strings.Cut(number, string(dec))
	if hasDec && strings.IndexByte(fraction, dec) >= 0 || !allDigits(fraction) ||
		whole == "" && fraction == "" {
		return 0, amountNotANumber, 0
	}
	digits, ok := ungroup(whole, dec)
	if !ok {
		return 0, amountNotANumber, 0
	}
	significant := strings.TrimRight(fraction, "0")
	if len(significant) > max(cur.Exponent, 0) {
		return 0, amountTooManyDecimals, len(fraction)
	}
	machine := digits
	if machine == "" {
		machine = "0"
	}
	if significant != "" {
		machine += "." + significant
	}
	if negative {
		machine = "-" + machine
	}
	// money's own reader keeps the one limit on amounts.
	minor, err := money.ParseMachine(machine, cur)
	if err != nil {
		return 0, amountTooLarge, 0
	}
	return minor, amountOK, 0
}

func tooManyDecimals(text string, n int, cur money.Currency) string {
	unit := "decimals"
	if n == 1 {
		unit = "decimal"
	}
	if cur.Exponent <= 0 {
		return fmt.Sprintf("%q has %d %s; %s amounts have none.", text, n, unit, cur.Code)
	}
	return fmt.Sprintf("%q has %d %s; %s amounts have at most %d.", text, n, unit, cur.Code, cur.Exponent)
}

// peelAmount takes signs, parentheses and the currency off both ends of text.
func peelAmount(text string, cur money.Currency) (number string, negative, ok bool) {
	signs, opens, closes, currencies := 0, 0, 0, 0
	for {
		text = strings.TrimLeftFunc(text, unicode.IsSpace)
		r, size := utf8.DecodeRuneInString(text)
		switch n := currencyAt(text, cur, true); {
		case n > 0:
			currencies++
			size = n
		case r == '+':
			signs++
		case r == '-' || r == '\u2212':
			signs++
			negative = true
		case r == '(':
			opens++
		default:
			size = 0
		}
		if size == 0 {
			break
		}
		text = text[size:]
	}
	for {
		text = strings.TrimRightFunc(text, unicode.IsSpace)
		r, size := utf8.DecodeLastRuneInString(text)
		upper := strings.ToUpper(text[max(0, len(text)-2):])
		switch n := currencyAt(text, cur, false); {
		case n > 0:
			currencies++
			size = n
		case r == '-' || r == '\u2212':
			signs++
			negative = true
		case r == ')':
			closes++
		case upper == "CR" || upper == "DR":
			signs++
			negative = upper == "DR"
			size = 2
		default:
			size = 0
		}
		if size == 0 {
			break
		}
		text = text[:len(text)-size]
	}
	if opens != closes || signs+opens > 1 || currencies > 1 {
		return "", false, false
	}
	return text, negative || opens == 1, true
}

// currencyAt returns the length of cur's code or symbol at the start (or end) of text, in any
// case, or 0.
func currencyAt(text string, cur money.Currency, start bool) int {
	for _, token := range [2]string{cur.Code, cur.Symbol} {
		if token == "" || len(text) < len(token) {
			continue
		}
		part := text[len(text)-len(token):]
		if start {
			part = text[:len(token)]
		}
		if strings.EqualFold(part, token) {
			return len(token)
		}
	}
	return 0
}

// ungroup removes group separators from the whole part of a number: the other of . and , than
// dec, spaces and apostrophes. Groups have one to three digits and the last has exactly three,
// so "1,234", "1.234.567" and India's "1,23,456" read, and "12,34" does not read as 1234.
func ungroup(whole string, dec byte) (string, bool) {
	if allDigits(whole) {
		return whole, true
	}
	var digits strings.Builder
	groups, groupLen := 0, 0
	for _, r := range whole {
		switch {
		case r >= '0' && r <= '9':
			digits.WriteByte(byte(r))
			groupLen++
		case isGroupSeparator(r, dec):
			if groupLen == 0 || groupLen > 3 {
				return "", false
			}
			groups++
			groupLen = 0
		default:
			return "", false
		}
	}
	if groups > 0 && groupLen != 3 {
		return "", false
	}
	return digits.String(), true
}

func isGroupSeparator(r rune, dec byte) bool {
	switch r {
	case '.', ',':
		return byte(r) != dec
	case ' ', '\u00A0', '\u202F', '\'', '\u2019':
		return true
	}
	return false
}

func allDigits(s string) bool {
	for i := range len(s) {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// trimCell trims the spaces banks pad cells with, no-break ones included.
func trimCell(s string) string {
	return strings.TrimFunc(s, unicode.IsSpace)
}

// detectDecimal decides the decimal separator of a file from its amount cells: the one under
// which more of them read ("12,34" and "1.234,56" only read with a comma, "12.34" and
// "1,234.56" only with a point). When both read the same number of cells, and some cell would
// mean different amounts ("1.234" in a currency with three decimals), it is ambiguous; when
// every cell means the same either way (whole numbers), it is the point.
func detectDecimal(cells []string, cur money.Currency) (dec byte, ok bool) {
	dots, commas, differ := 0, 0, false
	for _, c := range cells {
		c = trimCell(c)
		a, failA, _ := readAmount(c, '.', cur)
		if failA == amountEmpty {
			continue
		}
		b, failB, _ := readAmount(c, ',', cur)
		if failA == amountOK {
			dots++
		}
		if failB == amountOK {
			commas++
		}
		if failA == amountOK && failB == amountOK && a != b {
			differ = true
		}
	}
	switch {
	case commas > dots:
		return ',', true
	case dots > commas || !differ:
		return '.', true
	}
	return 0, false
}
