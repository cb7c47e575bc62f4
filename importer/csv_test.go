package importer_test

import (
	"reflect"
	"strings"
	"testing"

	"tally/importer"
)

type row = importer.Row

// TestParseCSV covers detection and the mapping on small files: line ends, encodings,
// delimiters, what the user sets, amount modes and the rows that cannot be read.
func TestParseCSV(t *testing.T) {
	tests := []struct {
		name     string
		content  string
		currency string
		mapping  importer.Mapping
		rows     []row
		// mapping, ambiguous: checked when set
		wantMapping   *importer.Mapping
		wantAmbiguous []string
		check         func(t *testing.T, res *importer.Result) // instead of rows
	}{
		{
			name:    "old Mac line ends (CR only) count as lines",
			content: "Date,Payee,Amount\r2025-01-02,A,-1.00\r\r2025-01-03,B,2.00\r",
			rows:    []row{{Line: 2, Date: "2025-01-02", Payee: "A", Amount: -100}, {Line: 4, Date: "2025-01-03", Payee: "B", Amount: 200}},
		},
		{
			name:    "mixed line ends",
			content: "Date,Payee,Amount\r\n2025-01-02,A,-1.00\n2025-01-03,B,2.00\r2025-01-04,C,3.00",
			rows: []row{{Line: 2, Date: "2025-01-02", Payee: "A", Amount: -100}, {Line: 3, Date: "2025-01-03", Payee: "B", Amount: 200},
				{Line: 4, Date: "2025-01-04", Payee: "C", Amount: 300}},
		},
		{
			name:    "a quoted memo over three lines: the next row's line counts them",
			content: "Date,Payee,Memo,Amount\n2025-01-02,A,\"first\r\nsecond \"\"quoted\"\"\nthird\",-1.00\n2025-01-03,B,,2.00\n",
			rows: []row{{Line: 2, Date: "2025-01-02", Payee: "A", Memo: "first\r\nsecond \"quoted\"\nthird", Amount: -100},
				{Line: 5, Date: "2025-01-03", Payee: "B", Amount: 200}},
		},
		{
			name:     "UTF-8 with a byte order mark",
			content:  "\ufeffDate;Empfänger;Betrag\n02.01.2025;Café;-1,50\n",
			currency: "EUR",
			rows:     []row{{Line: 2, Date: "2025-01-02", Payee: "Café", Amount: -150}},
		},
		{
			name:     "UTF-16 big-endian with a byte order mark",
			content:  utf16be("Date,Payee,Amount\n2025-01-02,Zoë,-1.00\n", true),
			rows:     []row{{Line: 2, Date: "2025-01-02", Payee: "Zoë", Amount: -100}},
			currency: "USD",
		},
		{
			name:    "UTF-16 little-endian without a byte order mark",
			content: utf16le("Date,Payee,Amount\n2025-01-02,Zoë,-1.00\n"),
			rows:    []row{{Line: 2, Date: "2025-01-02", Payee: "Zoë", Amount: -100}},
		},
		{
			name: "Windows-1252 after 64 KiB of ASCII is repaired cell by cell",
			content: "Date,Payee,Amount\n" + strings.Repeat("2025-01-02,Shop,-1.00\n", 4000) +
				"2025-01-03,M\xfcller,-2.00\n",
			check: func(t *testing.T, res *importer.Result) {
				if got := res.Rows[len(res.Rows)-1]; got != (row{Line: 4002, Date: "2025-01-03", Payee: "Müller", Amount: -200}) {
					t.Errorf("last row = %+v", got)
				}
				if res.Mapping.Encoding != "utf-8" {
					t.Errorf("encoding %q", res.Mapping.Encoding)
				}
			},
		},
		{
			name:     "Windows-1252 forced on a file that is valid UTF-8 as well",
			content:  "Date,Payee,Amount\n2025-01-02,Ã©,-1.00\n",
			mapping:  importer.Mapping{Encoding: "windows-1252"},
			rows:     []row{{Line: 2, Date: "2025-01-02", Payee: "Ã\u0192Â©", Amount: -100}},
			currency: "USD",
		},
		{
			name:    "pipes",
			content: "Date|Payee|Amount\n2025-01-02|A, B and C|-1.00\n",
			rows:    []row{{Line: 2, Date: "2025-01-02", Payee: "A, B and C", Amount: -100}},
		},
		{
			name:     "semicolons and decimal commas without quotes; Spanish header",
			content:  "Fecha;Concepto;Importe\n02/01/2025;Mercadona;-1.234,56\n15/01/2025;Nómina;2.000,00\n",
			currency: "EUR",
			rows: []row{{Line: 2, Date: "2025-01-02", Payee: "Mercadona", Amount: -123456},
				{Line: 3, Date: "2025-01-15", Payee: "Nómina", Amount: 200000}},
		},
		{
			name: "semicolons win over the decimal commas of preamble lines",
			content: "\"Kontostand:\";\"1.234,56 EUR\";\n\"Verfügbar:\";\"1.000,00 EUR\";\n\"Dispo:\";\"500,00 EUR\";\n\n" +
				"\"Datum\";\"Name\";\"Betrag\";\n\"02.01.2025\";\"A\";\"-1,00\";\n\"03.01.2025\";\"B\";\"-2,00\";\n",
			currency: "EUR",
			rows:     []row{{Line: 6, Date: "2025-01-02", Payee: "A", Amount: -100}, {Line: 7, Date: "2025-01-03", Payee: "B", Amount: -200}},
		},
		{
			name:    "blank lines and empty rows between rows are skipped",
			content: "Date,Payee,Amount\n\n2025-01-02,A,-1.00\n,,\n   \n2025-01-03,B,2.00\n",
			rows:    []row{{Line: 3, Date: "2025-01-02", Payee: "A", Amount: -100}, {Line: 6, Date: "2025-01-03", Payee: "B", Amount: 200}},
		},
		{
			name:    "a trailing delimiter on some rows",
			content: "Date;Payee;Amount\n2025-01-02;A;-1.00;\n2025-01-03;B;2.00\n2025-01-04;C;3.00;x\n",
			rows: []row{{Line: 2, Date: "2025-01-02", Payee: "A", Amount: -100}, {Line: 3, Date: "2025-01-03", Payee: "B", Amount: 200},
				{Line: 4, Err: "Line 4 has 4 fields; the header has 3."}},
		},
		{
			name:    "a quote never closed",
			content: "Date,Payee,Amount\n2025-01-02,A,-1.00\n2025-01-03,\"B,2.00\n2025-01-04,C,3.00\n",
			rows: []row{{Line: 2, Date: "2025-01-02", Payee: "A", Amount: -100},
				{Line: 3, Err: "Line 3 opens a quote that is never closed, so the rest of the file is one cell."}},
		},
		{
			name:    "stray quotes inside cells are text",
			content: "Date,Payee,Amount\n2025-01-02,24\" monitor,-1.00\n2025-01-03,\"Joe's\" Diner,-2.00\n",
			rows: []row{{Line: 2, Date: "2025-01-02", Payee: "24\" monitor", Amount: -100},
				{Line: 3, Date: "2025-01-03", Payee: "Joe's Diner", Amount: -200}},
		},
		{
			name:    "dates with times and two-digit years",
			content: "Datum;Omschrijving;Bedrag\n02-01-25 13:45;A;-1,00\n31-01-25 08:00;B;2,00\n",
			rows:    []row{{Line: 2, Date: "2025-01-02", Payee: "A", Amount: -100}, {Line: 3, Date: "2025-01-31", Payee: "B", Amount: 200}},
			wantMapping: &importer.Mapping{Delimiter: ";", Encoding: "utf-8", DateColumn: "Datum", DateFormat: "DD-MM-YY",
				PayeeColumn: "Omschrijving", AmountMode: "signed", AmountColumn: "Bedrag", DecimalSeparator: ","},
		},
		{
			name:    "ISO dates with a T and seconds",
			content: "Started Date,Description,Amount\n2025-01-02T10:11:12,Coffee,-3.10\n",
			rows:    []row{{Line: 2, Date: "2025-01-02", Payee: "Coffee", Amount: -310}},
		},
		{
			name:     "yen have no decimals: 1,200 is twelve hundred",
			content:  "Date,Payee,Amount\n2025/01/02,Lawson,\"-1,200\"\n2025/01/03,Salary,250000\n",
			currency: "JPY",
			rows:     []row{{Line: 2, Date: "2025-01-02", Payee: "Lawson", Amount: -1200}, {Line: 3, Date: "2025-01-03", Payee: "Salary", Amount: 250000}},
		},
		{
			name:          "dinars: 1.234 reads both ways, so the separator is asked",
			content:       "Date,Payee,Amount\n2025-01-02,A,1.234\n2025-01-03,B,-2.500\n",
			currency:      "KWD",
			wantAmbiguous: []string{"decimal_separator"},
		},
		{
			name:     "dinars once the user chose",
			content:  "Date,Payee,Amount\n2025-01-02,A,1.234\n2025-01-03,B,-2.500\n",
			currency: "KWD",
			mapping:  importer.Mapping{DecimalSeparator: ","},
			rows:     []row{{Line: 2, Date: "2025-01-02", Payee: "A", Amount: 1234000}, {Line: 3, Date: "2025-01-03", Payee: "B", Amount: -2500000}},
		},
		{
			name:    "what the user sets wins: columns by name in any case and by index",
			content: "Date,Payee,Memo,Amount,Balance\n2025-01-02,A,note,-1.00,99.00\n",
			mapping: importer.Mapping{PayeeColumn: "MEMO", MemoColumn: "1", AmountColumn: "Balance"},
			rows:    []row{{Line: 2, Date: "2025-01-02", Payee: "note", Memo: "A", Amount: 9900}},
			wantMapping: &importer.Mapping{Delimiter: ",", Encoding: "utf-8", DateColumn: "Date", DateFormat: "YYYY-MM-DD",
				PayeeColumn: "Memo", MemoColumn: "Payee", AmountMode: "signed", AmountColumn: "Balance", DecimalSeparator: "."},
		},
		{
			name:    "skip_rows set by the user",
			content: "Date,Payee,Amount\n2020-01-01,old header row,0\nWhen,Who,How much\n2025-01-02,A,-1.00\n",
			mapping: importer.Mapping{SkipRows: 2, DateColumn: "When", PayeeColumn: "Who", AmountColumn: "How much"},
			rows:    []row{{Line: 4, Date: "2025-01-02", Payee: "A", Amount: -100}},
		},
		{
			name:    "headers nobody wrote down: date and amount found by their content",
			content: "When;Who;How much\n02.01.2025;A;-1,00\n13.01.2025;B;2,00\n",
			rows:    []row{{Line: 2, Date: "2025-01-02", Amount: -100}, {Line: 3, Date: "2025-01-13", Amount: 200}},
			wantMapping: &importer.Mapping{Delimiter: ";", Encoding: "utf-8", DateColumn: "When", DateFormat: "DD.MM.YYYY",
				AmountMode: "signed", AmountColumn: "How much", DecimalSeparator: ","},
		},
		{
			name:          "no dates anywhere",
			content:       "Payee,Amount\nA,-1.00\nB,2.00\n",
			wantAmbiguous: []string{"date_column"},
		},
		{
			name:          "nothing but text",
			content:       "Payee,Note\nA,x\nB,y\n",
			wantAmbiguous: []string{"date_column", "amount_column"},
		},
		{
			name:          "one column only",
			content:       "Date\n2025-01-02\n2025-01-03\n",
			wantAmbiguous: []string{"delimiter"},
			wantMapping:   &importer.Mapping{Encoding: "utf-8"},
		},
		{
			name:    "debit and credit columns: empty, zero and both",
			content: "Date,Description,Withdrawals,Deposits\n2025-01-02,A,12.00,\n2025-01-03,B,,0.50\n2025-01-04,C,,\n2025-01-05,D,0.00,3.00\n2025-01-06,E,-4.00,\n",
			rows: []row{{Line: 2, Date: "2025-01-02", Payee: "A", Amount: -1200}, {Line: 3, Date: "2025-01-03", Payee: "B", Amount: 50},
				{Line: 4, Date: "2025-01-04", Payee: "C", Err: "The amount is missing."},
				{Line: 5, Date: "2025-01-05", Payee: "D", Amount: 300}, {Line: 6, Date: "2025-01-06", Payee: "E", Amount: -400}},
		},
		{
			name:     "German Soll and Haben columns",
			content:  "Buchungsdatum;Empfänger;Soll;Haben\n02.01.2025;Rewe;-12,34;\n03.01.2025;Arbeitgeber;;2.000,00\n",
			currency: "EUR",
			rows: []row{{Line: 2, Date: "2025-01-02", Payee: "Rewe", Amount: -1234},
				{Line: 3, Date: "2025-01-03", Payee: "Arbeitgeber", Amount: 200000}},
			wantMapping: &importer.Mapping{Delimiter: ";", Encoding: "utf-8", DateColumn: "Buchungsdatum", DateFormat: "DD.MM.YYYY",
				PayeeColumn: "Empfänger", AmountMode: "debit_credit", DebitColumn: "Soll", CreditColumn: "Haben", DecimalSeparator: ","},
		},
		{
			name:    "amount with D/C column: the default words, and one that is neither",
			content: "Date,Payee,Amount,D/C\n2025-01-02,A,12.00,D\n2025-01-03,B,5.00,cr\n2025-01-04,C,1.00,X\n2025-01-05,D,1.00,\n",
			rows: []row{{Line: 2, Date: "2025-01-02", Payee: "A", Amount: -1200}, {Line: 3, Date: "2025-01-03", Payee: "B", Amount: 500},
				{Line: 4, Date: "2025-01-04", Payee: "C", Err: `"X" is neither a debit nor a credit mark.`},
				{Line: 5, Date: "2025-01-05", Payee: "D", Err: "The debit or credit mark is missing."}},
		},
		{
			name:    "debit values set by the user: everything else is a credit",
			content: "Date,Payee,Amount,Type\n2025-01-02,A,12.00,Withdrawal\n2025-01-03,B,5.00,Deposit\n",
			mapping: importer.Mapping{AmountMode: "indicator", IndicatorColumn: "Type", DebitValues: []string{"withdrawal"}},
			rows:    []row{{Line: 2, Date: "2025-01-02", Payee: "A", Amount: -1200}, {Line: 3, Date: "2025-01-03", Payee: "B", Amount: 500}},
		},
		{
			name:    "a unique transaction id column is the external id",
			content: "Date,Payee,Amount,Transaction ID\n2025-01-02,A,-1.00,TX1\n2025-01-03,B,2.00,TX2\n",
			rows: []row{{Line: 2, Date: "2025-01-02", Payee: "A", Amount: -100, ExternalID: "TX1"},
				{Line: 3, Date: "2025-01-03", Payee: "B", Amount: 200, ExternalID: "TX2"}},
		},
		{
			name:    "an id column that repeats is not an id",
			content: "Date,Payee,Amount,Transaction ID\n2025-01-02,A,-1.00,SO-RENT\n2025-02-02,A,-1.00,SO-RENT\n",
			rows:    []row{{Line: 2, Date: "2025-01-02", Payee: "A", Amount: -100}, {Line: 3, Date: "2025-02-02", Payee: "A", Amount: -100}},
			wantMapping: &importer.Mapping{Delimiter: ",", Encoding: "utf-8", DateColumn: "Date", DateFormat: "YYYY-MM-DD",
				PayeeColumn: "Payee", AmountMode: "signed", AmountColumn: "Amount", DecimalSeparator: "."},
		},
		{
			name:    "an id column the user chose is kept even when it repeats",
			content: "Date,Payee,Amount,Ref\n2025-01-02,A,-1.00,R1\n2025-02-02,A,-1.00,R1\n",
			mapping: importer.Mapping{IDColumn: "Ref"},
			rows: []row{{Line: 2, Date: "2025-01-02", Payee: "A", Amount: -100, ExternalID: "R1"},
				{Line: 3, Date: "2025-02-02", Payee: "A", Amount: -100, ExternalID: "R1"}},
		},
		{
			name:    "two columns with one name are named by index",
			content: "Datum;Betrag;Betrag;Name\n02.01.2025;-1,00;x;A\n",
			rows:    []row{{Line: 2, Date: "2025-01-02", Payee: "A", Amount: -100}},
			wantMapping: &importer.Mapping{Delimiter: ";", Encoding: "utf-8", DateColumn: "Datum", DateFormat: "DD.MM.YYYY",
				PayeeColumn: "Name", AmountMode: "signed", AmountColumn: "1", DecimalSeparator: ","},
		},
		{
			name:    "missing cells and unreadable ones",
			content: "Date,Payee,Amount\n,A,-1.00\n2025-01-03,B,\nTotal,,-1.00\n2025-13-01,C,1.0.0\n",
			rows: []row{{Line: 2, Payee: "A", Amount: -100, Err: "The date is missing."},
				{Line: 3, Date: "2025-01-03", Payee: "B", Err: "The amount is missing."},
				{Line: 4, Amount: -100, Err: `"Total" is not a date like YYYY-MM-DD.`},
				{Line: 5, Payee: "C", Err: `"2025-13-01" is not a date like YYYY-MM-DD. "1.0.0" is not an amount.`}},
		},
		{
			name:    "an amount in another currency",
			content: "Date,Payee,Amount\n2025-01-02,A,€1.00\n2025-01-03,B,$2.00\n",
			rows: []row{{Line: 2, Date: "2025-01-02", Payee: "A", Err: `"€1.00" is not an amount in USD.`},
				{Line: 3, Date: "2025-01-03", Payee: "B", Amount: 200}},
		},
		{
			name:    "a decimal comma where points were detected is refused, not read as thousands",
			content: "Date,Payee,Amount\n2025-01-02,A,12.50\n2025-01-03,B,7.25\n2025-01-04,C,\"12,34\"\n",
			rows: []row{{Line: 2, Date: "2025-01-02", Payee: "A", Amount: 1250}, {Line: 3, Date: "2025-01-03", Payee: "B", Amount: 725},
				{Line: 4, Date: "2025-01-04", Payee: "C", Err: `"12,34" is not an amount.`}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code := tc.currency
			if code == "" {
				code = "USD"
			}
			res, err := importer.Parse(strings.NewReader(tc.content), "test.csv", mustCurrency(code), tc.mapping)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if tc.check != nil {
				tc.check(t, res)
			} else {
				checkRows(t, res.Rows, tc.rows)
			}
			if !reflect.DeepEqual(res.Ambiguous, tc.wantAmbiguous) {
				t.Errorf("Ambiguous = %q, want %q", res.Ambiguous, tc.wantAmbiguous)
			}
			if len(res.Ambiguous) > 0 && res.Rows != nil {
				t.Errorf("rows with an ambiguous result: %+v", res.Rows)
			}
			if tc.wantMapping != nil && !reflect.DeepEqual(res.Mapping, *tc.wantMapping) {
				t.Errorf("Mapping =\n%#v\nwant\n%#v", res.Mapping, *tc.wantMapping)
			}
		})
	}
}

func utf16le(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteByte(byte(r))
		b.WriteByte(byte(r >> 8))
	}
	return b.String()
}

func utf16be(s string, bom bool) string {
	var b strings.Builder
	if bom {
		b.WriteString("\xfe\xff")
	}
	for _, r := range s {
		b.WriteByte(byte(r >> 8))
		b.WriteByte(byte(r))
	}
	return b.String()
}
