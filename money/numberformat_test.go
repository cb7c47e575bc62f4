package money_test

import (
	"slices"
	"strings"
	"testing"

	"tally/money"
)

func TestFormats(t *testing.T) {
	want := []money.NumberFormat{"1,234.56", "1.234,56", "1 234,56", "1'234.56"}
	if got := money.Formats(); !slices.Equal(got, want) {
		t.Fatalf("Formats() = %q, want %q (keys are stored in profiles and must not change)", got, want)
	}
	if money.DefaultFormat != money.Formats()[0] || money.DefaultFormat != "1,234.56" {
		t.Errorf("DefaultFormat = %q, want 1,234.56 listed first", money.DefaultFormat)
	}
	labels := map[string]bool{}
	for _, f := range money.Formats() {
		t.Run(string(f), func(t *testing.T) {
			if !f.Valid() {
				t.Error("not Valid")
			}
			if !strings.HasPrefix(f.Label(), string(f)) || labels[f.Label()] {
				t.Errorf("Label() = %q, want a distinct label starting with the example", f.Label())
			}
			labels[f.Label()] = true

			// The key is its own example: 1234.56 USD formats as the key (with a no-break
			// space for a space) and the key parses back.
			shown := strings.ReplaceAll(money.Format(123456, usd, f), "\u00A0", " ")
			if shown != string(f) {
				t.Errorf("Format(123456, USD) = %q, want %q", shown, f)
			}
			if got, err := money.Parse(string(f), usd, f); got != 123456 || err != nil {
				t.Errorf("Parse(%q) = %d, %v; want 123456", f, got, err)
			}
		})
	}
}

func TestFormatValid(t *testing.T) {
	for _, f := range []money.NumberFormat{"", "1.234.56", "1,234.56 ", "1\u00A0234,56", "en-US"} {
		if f.Valid() {
			t.Errorf("NumberFormat(%q).Valid() = true", f)
		}
	}
}
