package money

import (
	"strconv"
	"strings"
)

// Format writes minor units in the user's number format, without a currency: 123456 is
// "1,234.56" in USD, "123,456" in JPY and "123.456" in KWD; negatives start with "-".
func Format(minor int64, cur Currency, f NumberFormat) string {
	sep := f.separators()
	return formatDigits(minor, cur.Exponent, sep.group, sep.decimal)
}

// FormatMachine writes minor units as a plain decimal, "-1234.56", for JSON, CSV and anything
// else read by a program; ParseMachine reads it back.
func FormatMachine(minor int64, cur Currency) string {
	return formatDigits(minor, cur.Exponent, 0, '.')
}

// formatDigits writes minor with exponent digits after decimal, grouping the whole part in
// threes with group unless group is 0.
func formatDigits(minor int64, exponent int, group, decimal rune) string {
	exponent = max(exponent, 0)
	// The magnitude is negated as a uint64 because int64 cannot hold that of math.MinInt64.
	magnitude := uint64(minor)
	if minor < 0 {
		magnitude = -magnitude
	}
	digits := strconv.FormatUint(magnitude, 10)
	if len(digits) <= exponent {
		digits = strings.Repeat("0", exponent+1-len(digits)) + digits
	}
	whole, fraction := digits[:len(digits)-exponent], digits[len(digits)-exponent:]

	var b strings.Builder
	if minor < 0 {
		b.WriteByte('-')
	}
	for i := range len(whole) {
		if group != 0 && i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteRune(group)
		}
		b.WriteByte(whole[i])
	}
	if exponent > 0 {
		b.WriteRune(decimal)
		b.WriteString(fraction)
	}
	return b.String()
}
