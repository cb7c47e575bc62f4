package importer_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"tally/importer"
)

// fuzzMappings are the mappings FuzzParse tries, so that what a user sets is fuzzed too.
var fuzzMappings = []importer.Mapping{
	{},
	{Invert: true, DecimalSeparator: ","},
	{DateFormat: "DD/MM/YYYY", Delimiter: ";"},
	{SkipRows: 1, NoHeader: true, DateColumn: "0", AmountColumn: "1"},
	{Encoding: "utf-16"},
	{Encoding: "windows-1252", AmountMode: "debit_credit"},
	{AmountMode: "indicator", DebitValues: []string{"D"}},
	{DateFormat: "D MMM YY", Delimiter: "\t"},
}

var fuzzCurrencies = []string{"USD", "EUR", "JPY", "KWD"}

// FuzzParse checks that Parse never panics and that what it returns holds together.
func FuzzParse(f *testing.F) {
	files, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	for i, file := range files {
		b, err := os.ReadFile(filepath.Join("testdata", file.Name()))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(i))
	}
	f.Add([]byte(ofxWith(trn("20250102", "-1.00", "a", "<NAME>A"))), uint8(0))
	f.Add([]byte("!Type:Bank\nD1/15'25\nT-1.00\n^\n"), uint8(1))
	f.Add([]byte("Date,Payee,Amount\n2025-01-02,\"x\r\ny\",(1.00)\r"), uint8(2))

	f.Fuzz(func(t *testing.T, data []byte, choice uint8) {
		m := fuzzMappings[int(choice)%len(fuzzMappings)]
		cur := mustCurrency(fuzzCurrencies[int(choice/16)%len(fuzzCurrencies)])
		res, err := importer.Parse(bytes.NewReader(data), "fuzz", cur, m)
		if err != nil {
			var fe *importer.FileError
			var me *importer.MappingError
			if !errors.As(err, &fe) && !errors.As(err, &me) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatal("an error without a sentence")
			}
			return
		}
		if err := checkInvariants(res); err != nil {
			t.Fatal(err)
		}
	})
}

func checkInvariants(res *importer.Result) error {
	if len(res.Ambiguous) > 0 && res.Rows != nil {
		return fmt.Errorf("rows with an ambiguous result")
	}
	if len(res.Rows) > importer.MaxRows {
		return fmt.Errorf("%d rows", len(res.Rows))
	}
	last := 0
	for _, r := range res.Rows {
		if r.Line <= last {
			return fmt.Errorf("line %d after line %d", r.Line, last)
		}
		last = r.Line
		for _, s := range []string{r.Payee, r.Memo, r.Category, r.ExternalID, r.Err} {
			if !utf8.ValidString(s) {
				return fmt.Errorf("line %d: %q is not UTF-8", r.Line, s)
			}
		}
		if r.Err == "" && (len(r.Date) != 10 || r.Date[4] != '-' || r.Date[7] != '-') {
			return fmt.Errorf("line %d: a row without an error and with the date %q", r.Line, r.Date)
		}
		if r.Amount >= 1e18 || r.Amount <= -1e18 {
			return fmt.Errorf("line %d: amount %d", r.Line, r.Amount)
		}
	}
	return nil
}
