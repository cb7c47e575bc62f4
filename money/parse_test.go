package money_test

import (
	"errors"
	"testing"

	"tally/money"
)

func TestParse(t *testing.T) {
	tests := []struct {
		input string
		cur   money.Currency
		f     money.NumberFormat
		want  int64
	}{
		{"12.34", usd, money.CommaDot, 1234},
		{"1,234.56", usd, money.CommaDot, 123456},
		{"1234.56", usd, money.CommaDot, 123456},
		{"1,234,567.89", usd, money.CommaDot, 123456789},
		{"-1,234.56", usd, money.CommaDot, -123456},
		{"+12.34", usd, money.CommaDot, 1234},
		{"12.34-", usd, money.CommaDot, -1234},
		{"12.34 -", usd, money.CommaDot, -1234},
		{"\u221212.34", usd, money.CommaDot, -1234},
		{"(12.34)", usd, money.CommaDot, -1234},
		{"( 12.34 )", usd, money.CommaDot, -1234},
		{"$12.34", usd, money.CommaDot, 1234},
		{"-$12.34", usd, money.CommaDot, -1234},
		{"$-12.34", usd, money.CommaDot, -1234},
		{"$ 12.34", usd, money.CommaDot, 1234},
		{"($12.34)", usd, money.CommaDot, -1234},
		{"$(12.34)", usd, money.CommaDot, -1234},
		{"(12.34 USD)", usd, money.CommaDot, -1234},
		{"12.34 USD", usd, money.CommaDot, 1234},
		{"12.34- USD", usd, money.CommaDot, -1234},
		{"USD 12.34", usd, money.CommaDot, 1234},
		{"usd12.34", usd, money.CommaDot, 1234},
		{"  12.34  ", usd, money.CommaDot, 1234},
		{"\u00A0\t12.34\u202F", usd, money.CommaDot, 1234},
		{"12", usd, money.CommaDot, 1200},
		{"12.5", usd, money.CommaDot, 1250},
		{".5", usd, money.CommaDot, 50},
		{"0", usd, money.CommaDot, 0},
		{"-0", usd, money.CommaDot, 0},
		{"0.00", usd, money.CommaDot, 0},
		{"007", usd, money.CommaDot, 700},
		{"1,000,000", usd, money.CommaDot, 100000000},
		{"999,999,999,999,999.99", usd, money.CommaDot, 99999999999999999},
		{"-999,999,999,999,999.99", usd, money.CommaDot, -99999999999999999},

		{"1.234,56", eur, money.DotComma, 123456},
		{"1234,56", eur, money.DotComma, 123456},
		{"12.345", eur, money.DotComma, 1234500},
		{"12,34 €", eur, money.DotComma, 1234},
		{"-12,34 €", eur, money.DotComma, -1234},
		{"€12,34", eur, money.DotComma, 1234},
		{"EUR 1.234,56", eur, money.DotComma, 123456},
		{"(1.234,56 €)", eur, money.DotComma, -123456},
		{",5", eur, money.DotComma, 50},

		{"1 234,56", eur, money.SpaceComma, 123456},
		{"1\u00A0234,56", eur, money.SpaceComma, 123456},
		{"1\u202F234,56", eur, money.SpaceComma, 123456},
		{"1 234 567,89 EUR", eur, money.SpaceComma, 123456789},
		{"-1 234,56 €", eur, money.SpaceComma, -123456},
		{"1234,56", eur, money.SpaceComma, 123456},

		{"1'234.56", chf, money.ApostropheDot, 123456},
		{"1\u2019234.56", chf, money.ApostropheDot, 123456},
		{"CHF 1'234.50", chf, money.ApostropheDot, 123450},
		{"-1'234'567.89", chf, money.ApostropheDot, -123456789},

		{"1,235", jpy, money.CommaDot, 1235},
		{"¥1,235", jpy, money.CommaDot, 1235},
		{"-¥500", jpy, money.CommaDot, -500},
		{"1235 JPY", jpy, money.CommaDot, 1235},
		{"1.235", jpy, money.DotComma, 1235},
		{"₩10,000", krw, money.CommaDot, 10000},
		{"kr 1.000", mustLookup("ISK"), money.DotComma, 1000},
		{"R12.34", mustLookup("ZAR"), money.CommaDot, 1234},
		{"$12.34", mustLookup("CAD"), money.CommaDot, 1234},

		{"1.234", kwd, money.CommaDot, 1234},
		{"KD 1,234.567", kwd, money.CommaDot, 1234567},
		{"0.005", kwd, money.CommaDot, 5},
		{"1 234,567", kwd, money.SpaceComma, 1234567},
		{"-999999999999999.999", kwd, money.CommaDot, -999999999999999999},
	}
	for _, tc := range tests {
		t.Run(string(tc.f)+" "+tc.cur.Code+" "+tc.input, func(t *testing.T) {
			got, err := money.Parse(tc.input, tc.cur, tc.f)
			if err != nil || got != tc.want {
				t.Errorf("Parse(%q, %s, %q) = %d, %v; want %d", tc.input, tc.cur.Code, tc.f, got, err, tc.want)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	const (
		number      = "Enter a number like 1,234.56."
		grouping    = "Group digits in threes, like 1,234.56."
		signs       = "Write money out as -1,234.56 or (1,234.56)."
		usdDecimals = "USD amounts have at most 2 decimals."
		tooLarge    = "Enter an amount under 1,000,000,000,000,000."
	)
	tests := []struct {
		name  string
		input string
		cur   money.Currency
		f     money.NumberFormat
		want  string
	}{
		{"three decimals in USD", "12.345", usd, money.CommaDot, usdDecimals},
		{"trailing zero beyond the exponent", "12.340", usd, money.CommaDot, usdDecimals},
		{"comma decimals in USD", "12,345", usd, money.DotComma, usdDecimals},
		{"decimals in JPY", "12.5", jpy, money.CommaDot, "JPY amounts have no decimals."},
		{"zero decimal in JPY", "12.0", jpy, money.CommaDot, "JPY amounts have no decimals."},
		{"four decimals in KWD", "1.2345", kwd, money.CommaDot, "KWD amounts have at most 3 decimals."},

		{"group of two", "1,23,4.00", usd, money.CommaDot, grouping},
		{"comma decimal in comma dot", "12,34", usd, money.CommaDot, grouping},
		{"group of four", "1,2345", usd, money.CommaDot, grouping},
		{"first group of four", "1234,567.00", usd, money.CommaDot, grouping},
		{"leading separator", ",123", usd, money.CommaDot, grouping},
		{"trailing separator", "1,234,", usd, money.CommaDot, grouping},
		{"double separator", "1,,234", usd, money.CommaDot, grouping},
		{"dots as groups of one", "1.2.3", usd, money.DotComma, "Group digits in threes, like 1.234,56."},
		{"space not in threes", "12 34", eur, money.SpaceComma, "Group digits in threes, like 1\u00A0234,56."},

		{"two decimal points", "1.2.3", usd, money.CommaDot, number},
		{"two decimal commas", "1,2,3", eur, money.DotComma, "Enter a number like 1.234,56."},
		{"other format's number", "1.234,56", usd, money.CommaDot, number},
		{"dot in space comma", "1 234.56", eur, money.SpaceComma, "Enter a number like 1\u00A0234,56."},
		{"space in comma dot", "12 34", usd, money.CommaDot, number},
		{"letters after", "12abc", usd, money.CommaDot, number},
		{"letters only", "abc", usd, money.CommaDot, number},
		{"exponent", "1e3", usd, money.CommaDot, number},
		{"hex", "0x10", usd, money.CommaDot, number},
		{"fullwidth digits", "１２", usd, money.CommaDot, number},
		{"symbol alone", "$", usd, money.CommaDot, number},
		{"sign alone", "-", usd, money.CommaDot, number},
		{"empty parentheses", "()", usd, money.CommaDot, number},
		{"dangling decimal point", "12.", usd, money.CommaDot, number},
		{"decimal point alone", ".", usd, money.CommaDot, number},
		{"trailing plus", "12+", usd, money.CommaDot, number},
		{"another currency's symbol", "€12.34", usd, money.CommaDot, number},
		{"another currency's code", "12.34 EUR", usd, money.CommaDot, number},
		{"yen decimals message", "abc", jpy, money.CommaDot, "Enter a number like 1,234."},
		{"dinar decimals message", "abc", kwd, money.CommaDot, "Enter a number like 1,234.567."},

		{"two minus signs", "--12", usd, money.CommaDot, signs},
		{"plus and minus", "+-12", usd, money.CommaDot, signs},
		{"leading and trailing minus", "-12-", usd, money.CommaDot, signs},
		{"minus inside parentheses", "(-12)", usd, money.CommaDot, signs},
		{"minus before parentheses", "-(12)", usd, money.CommaDot, signs},
		{"two minus around symbol", "-$-12", usd, money.CommaDot, signs},
		{"double parentheses", "((12))", usd, money.CommaDot, signs},
		{"unclosed parenthesis", "(12", usd, money.CommaDot, signs},
		{"unopened parenthesis", "12)", usd, money.CommaDot, signs},
		{"two currencies", "$12 USD", usd, money.CommaDot, "Write the currency once."},
		{"two symbols", "$$12", usd, money.CommaDot, "Write the currency once."},

		{"sixteen digits", "1,000,000,000,000,000.00", usd, money.CommaDot, tooLarge},
		{"beyond int64", "99999999999999999999999", usd, money.CommaDot, tooLarge},
		{"beyond int64 negative", "-99999999999999999999999", usd, money.CommaDot, tooLarge},
		{"max int64 in yen", "9223372036854775807", jpy, money.CommaDot, tooLarge},
		{"limit in dot comma", "1.000.000.000.000.000", eur, money.DotComma, "Enter an amount under 1.000.000.000.000.000."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := money.Parse(tc.input, tc.cur, tc.f)
			var perr *money.ParseError
			if !errors.As(err, &perr) {
				t.Fatalf("Parse(%q) = %d, %v; want a *ParseError", tc.input, got, err)
			}
			if perr.Message != tc.want || err.Error() != tc.want || perr.Input != tc.input {
				t.Errorf("Parse(%q) error = %+v, want message %q and the input", tc.input, perr, tc.want)
			}
			if got != 0 || errors.Is(err, money.ErrEmpty) {
				t.Errorf("Parse(%q) = %d, %v; want 0 and not ErrEmpty", tc.input, got, err)
			}
		})
	}
}

func TestParseEmpty(t *testing.T) {
	for _, input := range []string{"", " ", "\t\n", "\u00A0\u202F"} {
		_, err := money.Parse(input, usd, money.CommaDot)
		var perr *money.ParseError
		if !errors.Is(err, money.ErrEmpty) || !errors.As(err, &perr) || perr.Message != "Enter an amount." {
			t.Errorf("Parse(%q) error = %v, want a ParseError wrapping ErrEmpty", input, err)
		}
	}
	if _, err := money.ParseMachine("", usd); !errors.Is(err, money.ErrEmpty) {
		t.Errorf(`ParseMachine("") error = %v, want ErrEmpty`, err)
	}
}

func TestParseMachine(t *testing.T) {
	tests := []struct {
		input string
		cur   money.Currency
		want  int64
	}{
		{"0", usd, 0},
		{"-0", usd, 0},
		{"1234.56", usd, 123456},
		{"-1234.56", usd, -123456},
		{"12.5", usd, 1250},
		{"0.05", usd, 5},
		{"0007", usd, 700},
		{"1235", jpy, 1235},
		{"-1235", jpy, -1235},
		{"1.234", kwd, 1234},
		{"999999999999999.99", usd, 99999999999999999},
	}
	for _, tc := range tests {
		t.Run(tc.cur.Code+" "+tc.input, func(t *testing.T) {
			got, err := money.ParseMachine(tc.input, tc.cur)
			if err != nil || got != tc.want {
				t.Errorf("ParseMachine(%q, %s) = %d, %v; want %d", tc.input, tc.cur.Code, got, err, tc.want)
			}
		})
	}
}

func TestParseMachineRejects(t *testing.T) {
	const number = "Enter a number like 1234.56."
	tests := []struct {
		input string
		cur   money.Currency
		want  string
	}{
		{"+12", usd, number},
		{" 12", usd, number},
		{"12 ", usd, number},
		{"1,234.56", usd, number},
		{"1234,56", usd, number},
		{"12.", usd, number},
		{".5", usd, number},
		{"-.5", usd, number},
		{"-", usd, number},
		{"--1", usd, number},
		{"12-", usd, number},
		{"(12)", usd, number},
		{"1e3", usd, number},
		{"$12", usd, number},
		{"12 USD", usd, number},
		{"12.345", usd, "USD amounts have at most 2 decimals."},
		{"12.340", usd, "USD amounts have at most 2 decimals."},
		{"12.5", jpy, "JPY amounts have no decimals."},
		{"1000000000000000", usd, "Enter an amount under 1000000000000000."},
		{"-9223372036854775808", jpy, "Enter an amount under 1000000000000000."},
	}
	for _, tc := range tests {
		t.Run(tc.cur.Code+" "+tc.input, func(t *testing.T) {
			got, err := money.ParseMachine(tc.input, tc.cur)
			var perr *money.ParseError
			if !errors.As(err, &perr) || perr.Message != tc.want || got != 0 {
				t.Errorf("ParseMachine(%q, %s) = %d, %v; want error %q", tc.input, tc.cur.Code, got, err, tc.want)
			}
		})
	}
}
