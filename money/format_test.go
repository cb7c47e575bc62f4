package money_test

import (
	"math"
	"testing"

	"tally/money"
)

const nbsp = "\u00A0"

func TestFormat(t *testing.T) {
	tests := []struct {
		name  string
		minor int64
		cur   money.Currency
		f     money.NumberFormat
		want  string
	}{
		{"zero", 0, usd, money.CommaDot, "0.00"},
		{"one cent", 1, usd, money.CommaDot, "0.01"},
		{"minus five cents", -5, usd, money.CommaDot, "-0.05"},
		{"ten cents", 10, usd, money.CommaDot, "0.10"},
		{"one dollar", 100, usd, money.CommaDot, "1.00"},
		{"three digits", 99999, usd, money.CommaDot, "999.99"},
		{"first group", 100000, usd, money.CommaDot, "1,000.00"},
		{"comma dot", 123456, usd, money.CommaDot, "1,234.56"},
		{"comma dot negative", -123456, usd, money.CommaDot, "-1,234.56"},
		{"comma dot millions", 12345678901, usd, money.CommaDot, "123,456,789.01"},
		{"dot comma", 123456, eur, money.DotComma, "1.234,56"},
		{"dot comma negative", -123456, eur, money.DotComma, "-1.234,56"},
		{"dot comma small", 5, eur, money.DotComma, "0,05"},
		{"dot comma millions", 12345678901, eur, money.DotComma, "123.456.789,01"},
		{"space comma", 123456, eur, money.SpaceComma, "1" + nbsp + "234,56"},
		{"space comma negative", -123456, eur, money.SpaceComma, "-1" + nbsp + "234,56"},
		{"space comma millions", 12345678901, eur, money.SpaceComma, "123" + nbsp + "456" + nbsp + "789,01"},
		{"space comma small", 99, eur, money.SpaceComma, "0,99"},
		{"apostrophe dot", 123456, chf, money.ApostropheDot, "1'234.56"},
		{"apostrophe dot negative", -123456, chf, money.ApostropheDot, "-1'234.56"},
		{"apostrophe dot millions", 12345678901, chf, money.ApostropheDot, "123'456'789.01"},
		{"yen", 1235, jpy, money.CommaDot, "1,235"},
		{"yen zero", 0, jpy, money.CommaDot, "0"},
		{"yen negative", -1000000, jpy, money.CommaDot, "-1,000,000"},
		{"yen dot comma", 1235, jpy, money.DotComma, "1.235"},
		{"won", 10000, krw, money.SpaceComma, "10" + nbsp + "000"},
		{"dinar", 1234567, kwd, money.CommaDot, "1,234.567"},
		{"dinar small", 5, kwd, money.CommaDot, "0.005"},
		{"dinar negative", -1000, kwd, money.CommaDot, "-1.000"},
		{"dinar space comma", 1234567, kwd, money.SpaceComma, "1" + nbsp + "234,567"},
		{"min int64", math.MinInt64, usd, money.CommaDot, "-92,233,720,368,547,758.08"},
		{"min int64 yen", math.MinInt64, jpy, money.CommaDot, "-9,223,372,036,854,775,808"},
		{"min int64 dinar", math.MinInt64, kwd, money.CommaDot, "-9,223,372,036,854,775.808"},
		{"min int64 dot comma", math.MinInt64, eur, money.DotComma, "-92.233.720.368.547.758,08"},
		{"max int64", math.MaxInt64, usd, money.CommaDot, "92,233,720,368,547,758.07"},
		{"unset format is the default", 123456, usd, "", "1,234.56"},
		{"unknown format is the default", 123456, usd, "bogus", "1,234.56"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := money.Format(tc.minor, tc.cur, tc.f); got != tc.want {
				t.Errorf("Format(%d, %s, %q) = %q, want %q", tc.minor, tc.cur.Code, tc.f, got, tc.want)
			}
		})
	}
}

func TestFormatMachine(t *testing.T) {
	tests := []struct {
		name  string
		minor int64
		cur   money.Currency
		want  string
	}{
		{"zero", 0, usd, "0.00"},
		{"cents", 5, usd, "0.05"},
		{"minus cents", -5, usd, "-0.05"},
		{"no grouping", 123456789, usd, "1234567.89"},
		{"negative", -123456, usd, "-1234.56"},
		{"yen", -1235, jpy, "-1235"},
		{"dinar", 1234, kwd, "1.234"},
		{"min int64", math.MinInt64, usd, "-92233720368547758.08"},
		{"max int64 yen", math.MaxInt64, jpy, "9223372036854775807"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := money.FormatMachine(tc.minor, tc.cur); got != tc.want {
				t.Errorf("FormatMachine(%d, %s) = %q, want %q", tc.minor, tc.cur.Code, got, tc.want)
			}
		})
	}
}
