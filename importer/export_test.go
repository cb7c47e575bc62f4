package importer_test

import (
	"bytes"
	"errors"
	"iter"
	"reflect"
	"testing"

	"tally/importer"
)

func seq(rows []importer.ExportRow) iter.Seq2[importer.ExportRow, error] {
	return func(yield func(importer.ExportRow, error) bool) {
		for _, r := range rows {
			if !yield(r, nil) {
				return
			}
		}
	}
}

// TestExportRoundTrip writes Tally's CSV and reads it back: the same rows, formula escapes
// undone, line numbers counting a memo over two lines.
func TestExportRoundTrip(t *testing.T) {
	usd := mustCurrency("USD")
	rows := []importer.ExportRow{
		{Date: "2025-01-02", Payee: `=HYPERLINK("http://example.com","x")`, Memo: "+1 555 0100", Category: "-minus", Account: "@Checking", Amount: -1234, Currency: usd},
		{Date: "2025-01-03", Payee: "\tTabbed", Memo: "line one\nline two, \"quoted\"", Category: "Groceries", Account: "Checking", Amount: 0, Currency: usd},
		{Date: "2025-01-04", Payee: "'=already escaped", Memo: "'plain apostrophe", Category: "''=two", Account: "Checking", Amount: 150000, Currency: usd},
		{Date: "2025-01-05", Payee: "\rCarriage", Memo: "Café; déjà vu", Account: "Checking", Amount: -5, Currency: usd},
	}
	var buf bytes.Buffer
	if err := importer.WriteCSV(&buf, seq(rows)); err != nil {
		t.Fatal(err)
	}
	want := "Date,Payee,Memo,Category,Amount,Account\n" +
		`2025-01-02,"'=HYPERLINK(""http://example.com"",""x"")",'+1 555 0100,'-minus,-12.34,'@Checking` + "\n" +
		"2025-01-03,'\tTabbed,\"line one\nline two, \"\"quoted\"\"\",Groceries,0.00,Checking\n" +
		"2025-01-04,''=already escaped,'plain apostrophe,'''=two,1500.00,Checking\n" +
		"2025-01-05,\"'\rCarriage\",Café; déjà vu,,-0.05,Checking\n"
	if buf.String() != want {
		t.Errorf("WriteCSV wrote\n%q\nwant\n%q", buf.String(), want)
	}

	res, err := importer.Parse(bytes.NewReader(buf.Bytes()), "tally.csv", usd, importer.Mapping{})
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, res.Rows, []row{
		{Line: 2, Date: "2025-01-02", Payee: rows[0].Payee, Memo: rows[0].Memo, Category: rows[0].Category, Amount: -1234},
		{Line: 3, Date: "2025-01-03", Payee: rows[1].Payee, Memo: rows[1].Memo, Category: rows[1].Category, Amount: 0},
		{Line: 5, Date: "2025-01-04", Payee: rows[2].Payee, Memo: rows[2].Memo, Category: rows[2].Category, Amount: 150000},
		{Line: 6, Date: "2025-01-05", Payee: rows[3].Payee, Memo: rows[3].Memo, Amount: -5},
	})
	wantMapping := importer.Mapping{Delimiter: ",", Encoding: "utf-8", DateColumn: "Date", DateFormat: "YYYY-MM-DD",
		PayeeColumn: "Payee", MemoColumn: "Memo", CategoryColumn: "Category", AmountMode: "signed", AmountColumn: "Amount",
		DecimalSeparator: "."}
	if !reflect.DeepEqual(res.Mapping, wantMapping) {
		t.Errorf("Mapping = %#v", res.Mapping)
	}
}

// TestExportEscapesOnlyTallysOwnFile checks that a bank's cell starting with an apostrophe
// keeps it: the escape is undone only under Tally's header.
func TestExportEscapesOnlyTallysOwnFile(t *testing.T) {
	csv := "Date,Payee,Amount\n2025-01-02,'=not ours,-1.00\n"
	res, err := importer.Parse(bytes.NewReader([]byte(csv)), "bank.csv", mustCurrency("USD"), importer.Mapping{})
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, res.Rows, []row{{Line: 2, Date: "2025-01-02", Payee: "'=not ours", Amount: -100}})
}

func TestWriteCSVStopsAtAnError(t *testing.T) {
	failed := errors.New("database gone")
	rows := func(yield func(importer.ExportRow, error) bool) {
		if yield(importer.ExportRow{Date: "2025-01-02", Payee: "A", Currency: mustCurrency("EUR")}, nil) {
			yield(importer.ExportRow{}, failed)
		}
	}
	var buf bytes.Buffer
	if err := importer.WriteCSV(&buf, rows); !errors.Is(err, failed) {
		t.Fatalf("WriteCSV error = %v, want %v", err, failed)
	}
}
