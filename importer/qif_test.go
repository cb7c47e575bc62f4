package importer_test

import (
	"reflect"
	"strings"
	"testing"

	"tally/importer"
)

func TestParseQIF(t *testing.T) {
	tests := []struct {
		name      string
		content   string
		currency  string
		mapping   importer.Mapping
		rows      []row
		mapped    importer.Mapping
		ambiguous []string
	}{
		{
			name:     "UK credit card: DD/MM/YYYY, charges positive, inverted",
			content:  "!Type:CCard\nD15/01/2025\nT12.50\nPTesco\n^\nD02/02/2025\nT-100.00\nPPayment\n^\n",
			currency: "GBP",
			mapping:  importer.Mapping{Invert: true},
			rows:     []row{{Line: 2, Date: "2025-01-15", Payee: "Tesco", Amount: -1250}, {Line: 6, Date: "2025-02-02", Payee: "Payment", Amount: 10000}},
			mapped:   importer.Mapping{Encoding: "utf-8", DateFormat: "DD/MM/YYYY", DecimalSeparator: ".", Invert: true},
		},
		{
			name:     "German Quicken: DD.MM.YYYY and decimal commas",
			content:  "!Type:Bank\r\nD02.01.2025\r\nT-1.234,56\r\nPMiete\r\n^\r\nD15.01.2025\r\nT2.000,00\r\nPGehalt\r\n^\r\n",
			currency: "EUR",
			rows:     []row{{Line: 2, Date: "2025-01-02", Payee: "Miete", Amount: -123456}, {Line: 6, Date: "2025-01-15", Payee: "Gehalt", Amount: 200000}},
			mapped:   importer.Mapping{Encoding: "utf-8", DateFormat: "DD.MM.YYYY", DecimalSeparator: ","},
		},
		{
			name: "an account list and a category list before the bank section; a last record without ^",
			content: "!Option:AutoSwitch\n!Account\nNChecking\nTBank\n^\n!Clear:AutoSwitch\n!Type:Cat\nNFood\nE\n^\n" +
				"!Type:Bank\nD 1/ 5'25\nT-3.50\nPCafé\n^\nD12/31'24\nT-1.00\nPShop",
			currency: "USD",
			rows:     []row{{Line: 12, Date: "2025-01-05", Payee: "Café", Amount: -350}, {Line: 16, Date: "2024-12-31", Payee: "Shop", Amount: -100}},
			mapped:   importer.Mapping{Encoding: "utf-8", DateFormat: "MM/DD/YYYY", DecimalSeparator: "."},
		},
		{
			name:     "investment records are skipped, the bank section after them read",
			content:  "!Type:Invst\nD1/15'25\nNBuy\nT100.00\n^\n!Type:Bank\nD1/16'25\nT-5.00\nPFee\n^\nD1/17'25\nT5.00\nPRefund\n^\n",
			currency: "USD",
			rows:     []row{{Line: 7, Date: "2025-01-16", Payee: "Fee", Amount: -500}, {Line: 11, Date: "2025-01-17", Payee: "Refund", Amount: 500}},
			mapped:   importer.Mapping{Encoding: "utf-8", DateFormat: "MM/DD/YYYY", DecimalSeparator: "."},
		},
		{
			name:      "dates that read either way are asked",
			content:   "!Type:Bank\nD01/02/2025\nT-1.00\n^\nD03/04/2025\nT-2.00\n^\n",
			currency:  "USD",
			mapped:    importer.Mapping{Encoding: "utf-8", DecimalSeparator: "."},
			ambiguous: []string{"date_format"},
		},
		{
			name:     "rows that cannot be read",
			content:  "!Type:Bank\nD1/15'25\nT-1.005\nPA\n^\nD2/30'25\nT1.00\nPB\n^\nPC\n^\n",
			currency: "USD",
			rows: []row{{Line: 2, Date: "2025-01-15", Payee: "A", Err: `"-1.005" has 3 decimals; USD amounts have at most 2.`},
				{Line: 6, Payee: "B", Amount: 100, Err: `"2/30'25" does not exist: February 2025 has 28 days.`},
				{Line: 10, Payee: "C", Err: "The date is missing. The amount is missing."}},
			mapped: importer.Mapping{Encoding: "utf-8", DateFormat: "MM/DD/YYYY", DecimalSeparator: "."},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := importer.Parse(strings.NewReader(tc.content), "bank.qif", mustCurrency(tc.currency), tc.mapping)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if res.Format != importer.FormatQIF || res.Columns != nil || res.Statement != nil {
				t.Errorf("Format %q, Columns %q, Statement %v", res.Format, res.Columns, res.Statement)
			}
			checkRows(t, res.Rows, tc.rows)
			if !reflect.DeepEqual(res.Mapping, tc.mapped) {
				t.Errorf("Mapping = %#v, want %#v", res.Mapping, tc.mapped)
			}
			if !reflect.DeepEqual(res.Ambiguous, tc.ambiguous) {
				t.Errorf("Ambiguous = %q, want %q", res.Ambiguous, tc.ambiguous)
			}
		})
	}
}
