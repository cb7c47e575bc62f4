package money_test

import (
	"slices"
	"strings"
	"testing"

	"tally/money"
)

// mustLookup is for currencies the tests rely on being known.
func mustLookup(code string) money.Currency {
	cur, ok := money.Lookup(code)
	if !ok {
		panic("unknown currency " + code)
	}
	return cur
}

var (
	usd = mustLookup("USD")
	eur = mustLookup("EUR")
	chf = mustLookup("CHF")
	jpy = mustLookup("JPY")
	krw = mustLookup("KRW")
	kwd = mustLookup("KWD")
)

func TestExponents(t *testing.T) {
	want := map[string]int{
		"USD": 2, "EUR": 2, "GBP": 2, "CHF": 2, "JPY": 0, "KRW": 0, "CAD": 2, "AUD": 2, "NZD": 2,
		"SEK": 2, "NOK": 2, "DKK": 2, "PLN": 2, "CZK": 2, "HUF": 2, "INR": 2, "CNY": 2, "BRL": 2,
		"MXN": 2, "ZAR": 2, "KWD": 3, "BHD": 3, "OMR": 3, "JOD": 3, "TND": 3, "ISK": 0,
	}
	for code, exponent := range want {
		t.Run(code, func(t *testing.T) {
			cur, ok := money.Lookup(code)
			if !ok {
				t.Fatalf("Lookup(%q) found nothing", code)
			}
			if cur.Code != code || cur.Exponent != exponent || cur.Symbol == "" {
				t.Errorf("Lookup(%q) = %+v, want code %s, exponent %d and a symbol", code, cur, code, exponent)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		name   string
		code   string
		want   string
		wantOK bool
	}{
		{"upper", "USD", "USD", true},
		{"lower", "usd", "USD", true},
		{"mixed", "kWd", "KWD", true},
		{"unknown", "XXX", "", false},
		{"empty", "", "", false},
		{"spaces are not trimmed", " USD", "", false},
		{"symbol is not a code", "$", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cur, ok := money.Lookup(tc.code)
			if ok != tc.wantOK || cur.Code != tc.want {
				t.Errorf("Lookup(%q) = %+v, %v; want code %q, %v", tc.code, cur, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestCodes(t *testing.T) {
	codes := money.Codes()
	if len(codes) < 26 {
		t.Errorf("Codes() has %d codes, want at least 26", len(codes))
	}
	if !slices.IsSorted(codes) {
		t.Errorf("Codes() is not sorted: %v", codes)
	}
	if len(slices.Compact(slices.Clone(codes))) != len(codes) {
		t.Errorf("Codes() has duplicates: %v", codes)
	}
	for _, code := range codes {
		if cur, ok := money.Lookup(code); !ok || cur.Code != code || code != strings.ToUpper(code) {
			t.Errorf("code %q: Lookup = %+v, %v", code, cur, ok)
		}
	}

	codes[0] = "changed"
	if money.Codes()[0] == "changed" {
		t.Error("changing the slice from Codes changed the next call's result")
	}
}
