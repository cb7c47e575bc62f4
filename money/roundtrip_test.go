package money_test

import (
	"errors"
	"math"
	"testing"

	"tally/money"
)

// largest is the largest amount Parse accepts in cur, 999,999,999,999,999 and a full set of
// decimals, in minor units.
func largest(cur money.Currency) int64 {
	limit := int64(999_999_999_999_999)
	for range cur.Exponent {
		limit = limit*10 + 9
	}
	return limit
}

func TestRoundTrip(t *testing.T) {
	values := []int64{0, 1, 5, 9, 10, 99, 100, 101, 999, 1000, 1001, 123456, 999999, 1000000,
		12345678901, 100000000000000, 99999999999999999}
	for _, code := range money.Codes() {
		cur := mustLookup(code)
		for _, f := range money.Formats() {
			t.Run(string(f)+" "+code, func(t *testing.T) {
				for _, v := range append(values, largest(cur)) {
					v = min(v, largest(cur))
					for _, minor := range []int64{v, -v} {
						shown := money.Format(minor, cur, f)
						inputs := []string{shown, cur.Symbol + shown, shown + " " + cur.Code}
						if minor < 0 {
							inputs = append(inputs, "("+money.Format(-minor, cur, f)+")")
						}
						for _, input := range inputs {
							if got, err := money.Parse(input, cur, f); got != minor || err != nil {
								t.Errorf("Parse(%q) = %d, %v; want %d", input, got, err, minor)
							}
						}
						machine := money.FormatMachine(minor, cur)
						if got, err := money.ParseMachine(machine, cur); got != minor || err != nil {
							t.Errorf("ParseMachine(%q) = %d, %v; want %d", machine, got, err, minor)
						}
					}
				}
			})
		}
	}
}

// TestParseLimit checks the cap in every currency: its largest amount parses, one minor unit
// more does not, either way round.
func TestParseLimit(t *testing.T) {
	for _, code := range money.Codes() {
		cur := mustLookup(code)
		t.Run(code, func(t *testing.T) {
			for _, limit := range []int64{largest(cur), -largest(cur)} {
				if got, err := money.Parse(money.Format(limit, cur, money.DefaultFormat), cur, money.DefaultFormat); got != limit || err != nil {
					t.Errorf("Parse(Format(%d)) = %d, %v", limit, got, err)
				}
				beyond := limit + 1
				if limit < 0 {
					beyond = limit - 1
				}
				var perr *money.ParseError
				if _, err := money.Parse(money.Format(beyond, cur, money.DefaultFormat), cur, money.DefaultFormat); !errors.As(err, &perr) {
					t.Errorf("Parse(Format(%d)) error = %v, want a ParseError", beyond, err)
				}
				if _, err := money.ParseMachine(money.FormatMachine(beyond, cur), cur); !errors.As(err, &perr) {
					t.Errorf("ParseMachine(FormatMachine(%d)) error = %v, want a ParseError", beyond, err)
				}
			}
		})
	}
}

// TestCentsAddUp is the sum a float ledger gets wrong: 0.10 + 0.10 + 0.10 is 0.30 exactly.
func TestCentsAddUp(t *testing.T) {
	var totals money.Totals
	for range 3 {
		dime, err := money.Parse("0.10", usd, money.CommaDot)
		if err != nil || dime != 10 {
			t.Fatalf(`Parse("0.10") = %d, %v; want 10`, dime, err)
		}
		if err := totals.Add("USD", dime); err != nil {
			t.Fatal(err)
		}
	}
	list := totals.List()
	if len(list) != 1 || list[0].Minor != 30 {
		t.Fatalf("List() = %+v, want USD 30", list)
	}
	thirty, _ := money.Parse("0.30", usd, money.CommaDot)
	if shown := money.Format(list[0].Minor, usd, money.CommaDot); shown != "0.30" || thirty != list[0].Minor {
		t.Errorf("total is %q (%d), want 0.30 (%d)", shown, list[0].Minor, thirty)
	}
}

// FuzzParseFormat checks that what Format writes, Parse reads back exactly, for any amount
// within Parse's limit, in any currency and format; the same for the machine pair.
func FuzzParseFormat(f *testing.F) {
	f.Add(int64(0), uint8(0), uint8(0))
	f.Add(int64(-123456), uint8(1), uint8(8))
	f.Add(int64(math.MaxInt64), uint8(2), uint8(14))
	f.Add(int64(math.MinInt64), uint8(3), uint8(16))
	codes := money.Codes()
	f.Fuzz(func(t *testing.T, minor int64, formatIndex, currencyIndex uint8) {
		cur := mustLookup(codes[int(currencyIndex)%len(codes)])
		format := money.Formats()[int(formatIndex)%len(money.Formats())]
		minor %= largest(cur) + 1

		shown := money.Format(minor, cur, format)
		if got, err := money.Parse(shown, cur, format); got != minor || err != nil {
			t.Errorf("Parse(%q, %s, %q) = %d, %v; want %d", shown, cur.Code, format, got, err, minor)
		}
		machine := money.FormatMachine(minor, cur)
		if got, err := money.ParseMachine(machine, cur); got != minor || err != nil {
			t.Errorf("ParseMachine(%q, %s) = %d, %v; want %d", machine, cur.Code, got, err, minor)
		}
	})
}

// FuzzParse checks that any input either fails with a message for the user or gives an amount
// within the limit that formats to a text meaning the same.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{"12.34", "-$1,234.56", "(12,34 €)", "1 234,56", "1'234.56", "1,23,4", "--1", ""} {
		f.Add(seed, uint8(0))
	}
	f.Fuzz(func(t *testing.T, input string, formatIndex uint8) {
		format := money.Formats()[int(formatIndex)%len(money.Formats())]
		minor, err := money.Parse(input, usd, format)
		if err != nil {
			var perr *money.ParseError
			if !errors.As(err, &perr) || perr.Message == "" || minor != 0 {
				t.Fatalf("Parse(%q) = %d, %v; want 0 and a ParseError with a message", input, minor, err)
			}
			return
		}
		if minor > largest(usd) || minor < -largest(usd) {
			t.Fatalf("Parse(%q) = %d, beyond the limit", input, minor)
		}
		shown := money.Format(minor, usd, format)
		if again, err := money.Parse(shown, usd, format); again != minor || err != nil {
			t.Fatalf("Parse(%q) = %d, but Parse(Format) = %d, %v", input, minor, again, err)
		}
	})
}
