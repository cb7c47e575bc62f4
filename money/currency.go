package money

import (
	"slices"
	"strings"
)

// Currency is an ISO 4217 currency as the ledger needs it.
type Currency struct {
	Code string // uppercase ISO 4217 code, "USD"
	// Exponent is the number of digits after the decimal separator: 2 for USD, 0 for JPY,
	// 3 for KWD. An amount of 1234 minor units is 12.34 USD, 1234 JPY or 1.234 KWD.
	Exponent int
	// Symbol is written the way people at home write it, so CAD is "$" like USD. It is what a
	// user types next to a number, and Parse accepts it; where currencies mix on one page,
	// show Code, which is unique.
	Symbol string
}

// iso4217 lists the currencies a ledger account may hold, in code order.
var iso4217 = []Currency{
	{"AUD", 2, "$"},
	{"BHD", 3, "BD"},
	{"BRL", 2, "R$"},
	{"CAD", 2, "$"},
	{"CHF", 2, "CHF"},
	{"CNY", 2, "¥"},
	{"CZK", 2, "Kč"},
	{"DKK", 2, "kr"},
	{"EUR", 2, "€"},
	{"GBP", 2, "£"},
	{"HUF", 2, "Ft"},
	{"INR", 2, "₹"},
	{"ISK", 0, "kr"},
	{"JOD", 3, "JD"},
	{"JPY", 0, "¥"},
	{"KRW", 0, "₩"},
	{"KWD", 3, "KD"},
	{"MXN", 2, "$"},
	{"NOK", 2, "kr"},
	{"NZD", 2, "$"},
	{"OMR", 3, "RO"},
	{"PLN", 2, "zł"},
	{"SEK", 2, "kr"},
	{"TND", 3, "DT"},
	{"USD", 2, "$"},
	{"ZAR", 2, "R"},
}

// Lookup finds a currency by its code in any case ("usd" finds USD).
func Lookup(code string) (Currency, bool) {
	code = strings.ToUpper(code)
	for _, c := range iso4217 {
		if c.Code == code {
			return c, true
		}
	}
	return Currency{}, false
}

// Codes lists every known currency code in alphabetical order, for a select box. The slice
// is the caller's to keep or change.
func Codes() []string {
	codes := make([]string, 0, len(iso4217))
	for _, c := range iso4217 {
		codes = append(codes, c.Code)
	}
	slices.Sort(codes)
	return codes
}
