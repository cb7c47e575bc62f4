package importer

import (
	"testing"

	"tally/money"
)

func currency(code string) money.Currency {
	cur, ok := money.Lookup(code)
	if !ok {
		panic(code)
	}
	return cur
}

func TestParseAmount(t *testing.T) {
	usd, eur, jpy, kwd, inr, chf := currency("USD"), currency("EUR"), currency("JPY"), currency("KWD"), currency("INR"), currency("CHF")
	tests := []struct {
		name    string
		in      string
		dec     byte
		cur     money.Currency
		want    int64
		problem string
	}{
		{"plain", "12.34", '.', usd, 1234, ""},
		{"negative", "-12.34", '.', usd, -1234, ""},
		{"unicode minus", "\u221212.34", '.', usd, -1234, ""},
		{"plus", "+12.34", '.', usd, 1234, ""},
		{"trailing minus", "12.34-", '.', usd, -1234, ""},
		{"parentheses", "(12.34)", '.', usd, -1234, ""},
		{"parentheses around a symbol", "($1,234.56)", '.', usd, -123456, ""},
		{"symbol then minus", "$-5.00", '.', usd, -500, ""},
		{"code after", "5.00 USD", '.', usd, 500, ""},
		{"CR and DR", "5.00 DR", '.', usd, -500, ""},
		{"CR", "5.00CR", '.', usd, 500, ""},
		{"thousands", "1,234,567.89", '.', usd, 123456789, ""},
		{"decimal comma", "1.234,56", ',', eur, 123456, ""},
		{"decimal comma alone", "-0,5", ',', eur, -50, ""},
		{"space groups", "1 234,56 €", ',', eur, 123456, ""},
		{"no-break space groups", "1\u00a0234,56", ',', eur, 123456, ""},
		{"Swiss apostrophes", "1'234.50", '.', chf, 123450, ""},
		{"Indian grouping", "1,23,456.78", '.', inr, 12345678, ""},
		{"no whole part", ".50", '.', usd, 50, ""},
		{"whole number", "12", '.', usd, 1200, ""},
		{"padding", "   12.00  ", '.', usd, 1200, ""},
		{"trailing zeros beyond the exponent are exact", "12.3400", '.', usd, 1234, ""},
		{"yen", "1,200", '.', jpy, 1200, ""},
		{"dinars", "1.005", '.', kwd, 1005, ""},
		{"three decimals in dollars", "12.345", '.', usd, 0, `"12.345" has 3 decimals; USD amounts have at most 2.`},
		{"a decimal in yen", "12.5", '.', jpy, 0, `"12.5" has 1 decimal; JPY amounts have none.`},
		{"comma where the point is the separator", "12,34", '.', usd, 0, `"12,34" is not an amount.`},
		{"groups of four", "1,2345.00", '.', usd, 0, `"1,2345.00" is not an amount.`},
		{"two decimal separators", "1.2.3", '.', usd, 0, `"1.2.3" is not an amount.`},
		{"two signs", "-(12.00)", '.', usd, 0, `"-(12.00)" is not an amount.`},
		{"unbalanced parenthesis", "(12.00", '.', usd, 0, `"(12.00" is not an amount.`},
		{"two currencies", "$12.00 USD", '.', usd, 0, `"$12.00 USD" is not an amount in USD.`},
		{"another currency", "£12.00", '.', usd, 0, `"£12.00" is not an amount in USD.`},
		{"words", "n/a", '.', usd, 0, `"n/a" is not an amount in USD.`},
		{"a sign alone", "-", '.', usd, 0, `"-" is not an amount.`},
		{"too large", "1000000000000000.00", '.', usd, 0, `"1000000000000000.00" is larger than any amount Tally holds.`},
		{"largest", "999999999999999.99", '.', usd, 99999999999999999, ""},
		{"leading zeros", "0000012.00", '.', usd, 1200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, problem, empty := parseAmount(tc.in, tc.dec, tc.cur)
			if got != tc.want || problem != tc.problem || empty {
				t.Errorf("parseAmount(%q) = %d, %q, %v; want %d, %q", tc.in, got, problem, empty, tc.want, tc.problem)
			}
		})
	}
	if _, problem, empty := parseAmount("  ", '.', usd); !empty || problem != "" {
		t.Errorf("blank cell: empty %v, problem %q", empty, problem)
	}
}

func TestDetectDecimal(t *testing.T) {
	tests := []struct {
		name  string
		cells []string
		code  string
		want  byte
		ok    bool
	}{
		{"points", []string{"12.34", "-1,234.56", ""}, "USD", '.', true},
		{"commas", []string{"12,34", "-1.234,56"}, "EUR", ',', true},
		{"thousands with a point, no decimals", []string{"1.234", "12.345"}, "EUR", ',', true},
		{"thousands with a comma, no decimals", []string{"1,234"}, "USD", '.', true},
		{"whole numbers", []string{"12", "-3"}, "USD", '.', true},
		{"more cells read one way", []string{"12.34", "5.00", "7,25"}, "USD", '.', true},
		{"three decimals read either way", []string{"1.234"}, "KWD", 0, false},
		{"nothing", nil, "USD", '.', true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := detectDecimal(tc.cells, currency(tc.code))
			if got != tc.want || ok != tc.ok {
				t.Errorf("detectDecimal = %q, %v; want %q, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestDateFormats(t *testing.T) {
	tests := []struct {
		format, in, want, problem string
	}{
		{"YYYY-MM-DD", "2025-01-02", "2025-01-02", ""},
		{"YYYY-MM-DD", "2025-1-2", "2025-01-02", ""},
		{"YYYY-MM-DD", "2025-01-02 13:45:00", "2025-01-02", ""},
		{"YYYY-MM-DD", "2025-01-02T13:45:00Z", "2025-01-02", ""},
		{"YYYY-MM-DD", "2025-01-02x", "", `"2025-01-02x" is not a date like YYYY-MM-DD.`},
		{"YYYY-MM-DD", "2025-02-30", "", `"2025-02-30" does not exist: February 2025 has 28 days.`},
		{"YYYY-MM-DD", "2024-02-29", "2024-02-29", ""},
		{"YYYY-MM-DD", "2025-04-31", "", `"2025-04-31" does not exist: April 2025 has 30 days.`},
		{"YYYY-MM-DD", "0001-01-01", "", `"0001-01-01" is not a date in a bank statement: the year is 1.`},
		{"YYYYMMDD", "20250102", "2025-01-02", ""},
		{"YYYYMMDD", "2025012", "", `"2025012" is not a date like YYYYMMDD.`},
		{"DD.MM.YYYY", "2.1.2025", "2025-01-02", ""},
		{"DD/MM/YY", "02/01/25", "2025-01-02", ""},
		{"DD/MM/YY", "02/01/99", "1999-01-02", ""},
		{"MM/DD/YYYY", "12/31/2024", "2024-12-31", ""},
		{"MM/DD/YYYY", "31/12/2024", "", `"31/12/2024" is not a date like MM/DD/YYYY.`},
		{"D MMM YYYY", "2 Jan 2025", "2025-01-02", ""},
		{"D MMM YYYY", "02  JANUARY 2025", "2025-01-02", ""},
		{"D MMM YYYY", "2 Mär 2025", "2025-03-02", ""},
		{"D MMM YYYY", "2 févr. 2025", "2025-02-02", ""},
		{"D MMM YYYY", "2 ago 2025", "2025-08-02", ""},
		{"D MMM YYYY", "2 Foo 2025", "", `"2 Foo 2025" is not a date like D MMM YYYY.`},
		{"DD-MMM-YY", "02-Mrt-25", "2025-03-02", ""},
		{"MMM D, YYYY", "Jan 2, 2025", "2025-01-02", ""},
		{"D. MMM YYYY", "2. Okt. 2025", "2025-10-02", ""},
	}
	for _, tc := range tests {
		t.Run(tc.format+" "+tc.in, func(t *testing.T) {
			f, err := compileDateFormat(tc.format)
			if err != nil {
				t.Fatal(err)
			}
			got, problem := f.parse(tc.in, tc.in)
			if got != tc.want || problem != tc.problem {
				t.Errorf("parse(%q) = %q, %q; want %q, %q", tc.in, got, problem, tc.want, tc.problem)
			}
		})
	}
}

func TestDetectDateFormat(t *testing.T) {
	tests := []struct {
		name   string
		values []string
		want   string
		ok     bool
	}{
		{"a day over 12 decides", []string{"01/02/2025", "13/02/2025"}, "DD/MM/YYYY", true},
		{"a month position over 12 decides the other way", []string{"01/02/2025", "02/13/2025"}, "MM/DD/YYYY", true},
		{"all days 12 or less", []string{"01/02/2025", "03/04/2025"}, "", false},
		{"day equals month everywhere: either reads the same", []string{"01/01/2025", "05/05/2025"}, "DD/MM/YYYY", true},
		{"German", []string{"31.01.2025"}, "DD.MM.YYYY", true},
		{"one row of rubbish does not stop the others", []string{"31.01.2025", "Summe", "01.02.2025"}, "DD.MM.YYYY", true},
		{"nothing fits", []string{"soon", "later"}, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, ok := detectDateFormat(tc.values)
			got := ""
			if f != nil {
				got = f.name
			}
			if got != tc.want || ok != tc.ok {
				t.Errorf("detectDateFormat = %q, %v; want %q, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestNormalizeHeader(t *testing.T) {
	tests := map[string]string{
		"Betrag (EUR)":                "betrag",
		"Af/Bij":                      "af bij",
		"Trans. Date":                 "trans date",
		"Libellé de l'opération":      "libelle de l operation",
		"Auftraggeber / Begünstigter": "auftraggeber begunstigter",
		"Amount in EUR":               "amount",
		"Money in":                    "money in",
		"\ufeffDate":                  "date",
		"  Importe  [€] ":             "importe",
	}
	for in, want := range tests {
		if got := normalizeHeader(in); got != want {
			t.Errorf("normalizeHeader(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEscapeCell(t *testing.T) {
	for _, s := range []string{"", "=1+1", "+1", "-1", "@x", "\tx", "\rx", "'", "''", "'=x", "''=x", "'x", "x'", "plain", "é"} {
		if got := unescapeCell(escapeCell(s)); got != s {
			t.Errorf("unescapeCell(escapeCell(%q)) = %q", s, got)
		}
		if e := escapeCell(s); e != "" && formulaStart(e[0]) {
			t.Errorf("escapeCell(%q) = %q starts a formula", s, e)
		}
	}
}
