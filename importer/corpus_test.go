package importer_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"tally/importer"
	"tally/money"
)

func mustCurrency(code string) money.Currency {
	cur, ok := money.Lookup(code)
	if !ok {
		panic("unknown currency " + code)
	}
	return cur
}

func parseFile(t *testing.T, name, code string, m importer.Mapping) (*importer.Result, error) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return importer.Parse(f, name, mustCurrency(code), m)
}

// checkResult compares everything Parse returned with what a test expects.
func checkResult(t *testing.T, got *importer.Result, want importer.Result) {
	t.Helper()
	if got == nil {
		t.Fatal("Parse returned no result")
	}
	if got.Format != want.Format {
		t.Errorf("Format = %q, want %q", got.Format, want.Format)
	}
	if !reflect.DeepEqual(got.Mapping, want.Mapping) {
		t.Errorf("Mapping =\n%#v\nwant\n%#v", got.Mapping, want.Mapping)
	}
	if !reflect.DeepEqual(got.Columns, want.Columns) {
		t.Errorf("Columns = %q, want %q", got.Columns, want.Columns)
	}
	if !reflect.DeepEqual(got.Statement, want.Statement) {
		t.Errorf("Statement = %+v, want %+v", got.Statement, want.Statement)
	}
	if !reflect.DeepEqual(got.Ambiguous, want.Ambiguous) {
		t.Errorf("Ambiguous = %q, want %q", got.Ambiguous, want.Ambiguous)
	}
	checkRows(t, got.Rows, want.Rows)
}

func checkRows(t *testing.T, got, want []importer.Row) {
	t.Helper()
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			t.Errorf("row %d missing, want %+v", i, want[i])
		case i >= len(want):
			t.Errorf("row %d = %+v, want none", i, got[i])
		case got[i] != want[i]:
			t.Errorf("row %d =\n%+v\nwant\n%+v", i, got[i], want[i])
		}
	}
}

// TestParseCorpus reads files made to look like real banks' exports, detecting everything.
func TestParseCorpus(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		currency string
		mapping  importer.Mapping
		want     importer.Result
	}{
		{
			name: "German DKB: Windows-1252, semicolons, preamble, decimal comma, signed", file: "de_dkb_girokonto.csv", currency: "EUR",
			want: importer.Result{
				Format: importer.FormatCSV,
				Mapping: importer.Mapping{Delimiter: ";", Encoding: "windows-1252", SkipRows: 6, DateColumn: "Buchungstag",
					DateFormat: "DD.MM.YYYY", PayeeColumn: "Auftraggeber / Begünstigter", MemoColumn: "Verwendungszweck",
					AmountMode: "signed", AmountColumn: "Betrag (EUR)", DecimalSeparator: ","},
				Columns: []string{"Buchungstag", "Wertstellung", "Buchungstext", "Auftraggeber / Begünstigter", "Verwendungszweck",
					"Kontonummer", "BLZ", "Betrag (EUR)", "Gläubiger-ID", "Mandatsreferenz", "Kundenreferenz", ""},
				Rows: []importer.Row{
					{Line: 8, Date: "2025-01-02", Payee: "REWE Markt GmbH", Memo: "REWE SAGT DANKE 58431", Amount: -2345},
					{Line: 9, Date: "2025-01-03", Payee: "Müller & Söhne GmbH", Memo: "Gehalt Januar 2025", Amount: 312000},
					{Line: 10, Date: "2025-01-06", Payee: "Stadtwerke München", Memo: "Abschlag Strom/Gas 01/2025", Amount: -104510},
					{Line: 11, Date: "2025-01-15", Payee: "Bäckerei Kühn", Memo: "Brötchen und Kaffee", Amount: -480},
					{Line: 12, Date: "2025-01-31", Memo: "Kontoführungsentgelt", Amount: -495},
				},
			},
		},
		{
			name: "German Volksbank: Soll/Haben mark in a column without a name", file: "de_volksbank_soll_haben.csv", currency: "EUR",
			want: importer.Result{
				Format: importer.FormatCSV,
				Mapping: importer.Mapping{Delimiter: ";", Encoding: "windows-1252", SkipRows: 10, DateColumn: "Buchungstag",
					DateFormat: "DD.MM.YYYY", PayeeColumn: "Empfänger/Zahlungspflichtiger", MemoColumn: "Vorgang/Verwendungszweck",
					AmountMode: "indicator", AmountColumn: "Umsatz", IndicatorColumn: "12", DebitValues: []string{"S"},
					DecimalSeparator: ","},
				Columns: []string{"Buchungstag", "Valuta", "Auftraggeber/Zahlungsempfänger", "Empfänger/Zahlungspflichtiger",
					"Konto-Nr.", "IBAN", "BLZ", "BIC", "Vorgang/Verwendungszweck", "Kundenreferenz", "Währung", "Umsatz", ""},
				Rows: []importer.Row{
					{Line: 12, Date: "2025-01-02", Payee: "Edeka Südmarkt", Memo: "Kartenzahlung girocard", Amount: -3417},
					{Line: 13, Date: "2025-01-03", Payee: "Arbeitgeber GmbH", Memo: "Lohn/Gehalt 01/2025", Amount: 248000},
					{Line: 14, Date: "2025-01-10", Payee: "Vermieter Schäfer", Memo: "Dauerauftrag Miete Jänner", Amount: -95000},
					{Line: 15, Date: "2025-01-31", Memo: "Abschluss Entgelt", Amount: -750},
				},
			},
		},
		{
			name: "Dutch ING: Af/Bij column, YYYYMMDD, decimal comma in quotes", file: "nl_ing.csv", currency: "EUR",
			want: importer.Result{
				Format: importer.FormatCSV,
				Mapping: importer.Mapping{Delimiter: ",", Encoding: "utf-8", DateColumn: "Datum", DateFormat: "YYYYMMDD",
					PayeeColumn: "Naam / Omschrijving", MemoColumn: "Mededelingen", AmountMode: "indicator",
					AmountColumn: "Bedrag (EUR)", IndicatorColumn: "Af Bij", DebitValues: []string{"Af"}, DecimalSeparator: ","},
				Columns: []string{"Datum", "Naam / Omschrijving", "Rekening", "Tegenrekening", "Code", "Af Bij", "Bedrag (EUR)",
					"Mutatiesoort", "Mededelingen"},
				Rows: []importer.Row{
					{Line: 2, Date: "2025-01-02", Payee: "Albert Heijn 1234 AMSTERDAM",
						Memo: "Pasvolgnr: 004 02-01-2025 17:32 Transactie: 12A3B4 Term: CT123456", Amount: -2345},
					{Line: 3, Date: "2025-01-03", Payee: "Werkgever B.V.",
						Memo: "Naam: Werkgever B.V. Omschrijving: Salaris januari 2025 IBAN: NL91ABNA0417164300", Amount: 285000},
					{Line: 4, Date: "2025-01-05", Payee: "NS GROEP IZ NS REIZIGERS",
						Memo: "Naam: NS GROEP IZ NS REIZIGERS Omschrijving: Abonnement januari Kenmerk: 0001234567", Amount: -11280},
					{Line: 5, Date: "2025-01-10", Payee: "Café de Jaren", Memo: "Pasvolgnr: 004 10-01-2025 21:05", Amount: -1850},
					{Line: 6, Date: "2025-01-31", Payee: "Rente", Memo: "Rente over januari 2025", Amount: 42},
				},
			},
		},
		{
			name: "UK Lloyds: debit and credit columns, DD/MM/YYYY, balance ignored", file: "uk_lloyds.csv", currency: "GBP",
			want: importer.Result{
				Format: importer.FormatCSV,
				Mapping: importer.Mapping{Delimiter: ",", Encoding: "utf-8", DateColumn: "Transaction Date", DateFormat: "DD/MM/YYYY",
					PayeeColumn: "Transaction Description", AmountMode: "debit_credit", DebitColumn: "Debit Amount",
					CreditColumn: "Credit Amount", DecimalSeparator: "."},
				Columns: []string{"Transaction Date", "Transaction Type", "Sort Code", "Account Number", "Transaction Description",
					"Debit Amount", "Credit Amount", "Balance"},
				Rows: []importer.Row{
					{Line: 2, Date: "2025-01-24", Payee: "THAMES WATER", Amount: -3800},
					{Line: 3, Date: "2025-01-13", Payee: "TESCO STORES 3217", Amount: -4217},
					{Line: 4, Date: "2025-01-02", Payee: "ACME LTD SALARY", Amount: 215000},
					{Line: 5, Date: "2025-01-01", Payee: "INTEREST", Amount: 25},
				},
			},
		},
		{
			name: "UK Nationwide: preamble, pound signs, D MMM YYYY, paid out and in", file: "uk_nationwide.csv", currency: "GBP",
			want: importer.Result{
				Format: importer.FormatCSV,
				Mapping: importer.Mapping{Delimiter: ",", Encoding: "utf-8", SkipRows: 4, DateColumn: "Date", DateFormat: "D MMM YYYY",
					PayeeColumn: "Description", AmountMode: "debit_credit", DebitColumn: "Paid out", CreditColumn: "Paid in",
					DecimalSeparator: "."},
				Columns: []string{"Date", "Transaction type", "Description", "Paid out", "Paid in", "Balance"},
				Rows: []importer.Row{
					{Line: 6, Date: "2025-01-02", Payee: "PRET A MANGER", Amount: -425},
					{Line: 7, Date: "2025-01-05", Payee: "ACME LTD", Amount: 215000},
					{Line: 8, Date: "2025-01-13", Payee: "THAMES WATER", Amount: -3800},
				},
			},
		},
		{
			name: "US credit card: charges positive, inverted", file: "us_card.csv", currency: "USD",
			mapping: importer.Mapping{Invert: true},
			want: importer.Result{
				Format: importer.FormatCSV,
				Mapping: importer.Mapping{Delimiter: ",", Encoding: "utf-8", DateColumn: "Trans. Date", DateFormat: "MM/DD/YYYY",
					PayeeColumn: "Description", CategoryColumn: "Category", AmountMode: "signed", AmountColumn: "Amount",
					Invert: true, DecimalSeparator: "."},
				Columns: []string{"Trans. Date", "Post Date", "Description", "Amount", "Category"},
				Rows: []importer.Row{
					{Line: 2, Date: "2025-01-02", Payee: "AMAZON MKTPL*2K4LM1 AMZN.COM/BILLWA", Category: "Merchandise", Amount: -2399},
					{Line: 3, Date: "2025-01-05", Payee: "SHELL OIL 57444 HOUSTON TX", Category: "Gasoline", Amount: -4510},
					{Line: 4, Date: "2025-01-15", Payee: "INTERNET PAYMENT - THANK YOU", Category: "Payments and Credits", Amount: 50000},
					{Line: 5, Date: "2025-01-20", Payee: "TRADER JOE S #552 AUSTIN TX", Category: "Supermarkets", Amount: -120456},
					{Line: 6, Date: "2025-01-28", Payee: "AMAZON MKTPL RETURN", Category: "Awards and Rebate Credits", Amount: 1200},
				},
			},
		},
		{
			name: "US bank without a header: columns found by their content", file: "us_noheader.csv", currency: "USD",
			want: importer.Result{
				Format: importer.FormatCSV,
				Mapping: importer.Mapping{Delimiter: ",", Encoding: "utf-8", NoHeader: true, DateColumn: "0", DateFormat: "MM/DD/YYYY",
					PayeeColumn: "4", AmountMode: "signed", AmountColumn: "1", DecimalSeparator: "."},
				Columns: []string{"Column 1", "Column 2", "Column 3", "Column 4", "Column 5"},
				Rows: []importer.Row{
					{Line: 1, Date: "2025-01-02", Payee: "WHOLE FOODS MARKET AUSTIN TX", Amount: -4217},
					{Line: 2, Date: "2025-01-03", Payee: "ACME CORP PAYROLL", Amount: 215000},
					{Line: 3, Date: "2025-01-15", Payee: "CHECK # 1043", Amount: -120000},
				},
			},
		},
		{
			name: "parentheses, trailing minus, currency signs, CR", file: "accounting_signs.csv", currency: "USD",
			want: importer.Result{
				Format: importer.FormatCSV,
				Mapping: importer.Mapping{Delimiter: ",", Encoding: "utf-8", DateColumn: "Date", DateFormat: "YYYY-MM-DD",
					PayeeColumn: "Payee", MemoColumn: "Memo", AmountMode: "signed", AmountColumn: "Amount", DecimalSeparator: "."},
				Columns: []string{"Date", "Payee", "Memo", "Amount"},
				Rows: []importer.Row{
					{Line: 2, Date: "2025-03-01", Payee: "Office Depot", Memo: "Printer paper", Amount: -4520},
					{Line: 3, Date: "2025-03-02", Payee: "Client A", Memo: "Invoice 1001", Amount: 125000},
					{Line: 4, Date: "2025-03-03", Payee: "Bank fee", Amount: -1250},
					{Line: 5, Date: "2025-03-04", Payee: "Refund", Amount: 800},
					{Line: 6, Date: "2025-03-05", Payee: "Big purchase", Amount: -123456},
					{Line: 7, Date: "2025-03-06", Payee: "Wire in", Amount: 125000},
				},
			},
		},
		{
			name: "UTF-16 LE with BOM, tabs, French header, spaces between thousands", file: "fr_utf16le.txt", currency: "EUR",
			want: importer.Result{
				Format: importer.FormatCSV,
				Mapping: importer.Mapping{Delimiter: "\t", Encoding: "utf-16", DateColumn: "Date", DateFormat: "DD/MM/YYYY",
					PayeeColumn: "Libellé", AmountMode: "signed", AmountColumn: "Montant", DecimalSeparator: ","},
				Columns: []string{"Date", "Libellé", "Montant"},
				Rows: []importer.Row{
					{Line: 2, Date: "2025-03-15", Payee: "Café Crème", Amount: -350},
					{Line: 3, Date: "2025-03-16", Payee: "Virement salaire", Amount: 250000},
					{Line: 4, Date: "2025-03-17", Payee: "Boulangerie Pâtisserie", Amount: -1280},
				},
			},
		},
		{
			name: "every day 12 or less: the date format is asked", file: "ambiguous_dates.csv", currency: "USD",
			want: importer.Result{
				Format: importer.FormatCSV,
				Mapping: importer.Mapping{Delimiter: ",", Encoding: "utf-8", DateColumn: "Date", PayeeColumn: "Description",
					AmountMode: "signed", AmountColumn: "Amount", DecimalSeparator: "."},
				Columns:   []string{"Date", "Description", "Amount"},
				Ambiguous: []string{"date_format"},
			},
		},
		{
			name: "the ambiguous dates once the user chose", file: "ambiguous_dates.csv", currency: "USD",
			mapping: importer.Mapping{DateFormat: "DD/MM/YYYY"},
			want: importer.Result{
				Format: importer.FormatCSV,
				Mapping: importer.Mapping{Delimiter: ",", Encoding: "utf-8", DateColumn: "Date", DateFormat: "DD/MM/YYYY",
					PayeeColumn: "Description", AmountMode: "signed", AmountColumn: "Amount", DecimalSeparator: "."},
				Columns: []string{"Date", "Description", "Amount"},
				Rows: []importer.Row{
					{Line: 2, Date: "2025-02-01", Payee: "Coffee", Amount: -350},
					{Line: 3, Date: "2025-04-03", Payee: "Books", Amount: -2000},
					{Line: 4, Date: "2025-06-05", Payee: "Salary", Amount: 150000},
				},
			},
		},
		{
			name: "ragged rows are errors naming their line", file: "ragged.csv", currency: "USD",
			want: importer.Result{
				Format: importer.FormatCSV,
				Mapping: importer.Mapping{Delimiter: ",", Encoding: "utf-8", DateColumn: "Date", DateFormat: "YYYY-MM-DD",
					PayeeColumn: "Payee", AmountMode: "signed", AmountColumn: "Amount", DecimalSeparator: "."},
				Columns: []string{"Date", "Payee", "Amount"},
				Rows: []importer.Row{
					{Line: 2, Date: "2025-01-02", Payee: "Shop", Amount: -100},
					{Line: 3, Err: "Line 3 has 4 fields; the header has 3."},
					{Line: 4, Date: "2025-01-04", Payee: "Shop", Amount: -300},
					{Line: 5, Err: "Line 5 has 2 fields; the header has 3."},
				},
			},
		},
		{
			name: "an impossible date is a row error", file: "impossible_date.csv", currency: "USD",
			want: importer.Result{
				Format: importer.FormatCSV,
				Mapping: importer.Mapping{Delimiter: ",", Encoding: "utf-8", DateColumn: "Date", DateFormat: "YYYY-MM-DD",
					PayeeColumn: "Payee", AmountMode: "signed", AmountColumn: "Amount", DecimalSeparator: "."},
				Columns: []string{"Date", "Payee", "Amount"},
				Rows: []importer.Row{
					{Line: 2, Date: "2025-02-28", Payee: "Rent", Amount: -90000},
					{Line: 3, Payee: "Rent", Amount: -90000, Err: `"2025-02-30" does not exist: February 2025 has 28 days.`},
					{Line: 4, Date: "2024-02-29", Payee: "Leap day", Amount: -100},
				},
			},
		},
		{
			name: "too many decimals is a row error, never rounded; zeros beyond are exact", file: "too_many_decimals.csv", currency: "USD",
			want: importer.Result{
				Format: importer.FormatCSV,
				Mapping: importer.Mapping{Delimiter: ",", Encoding: "utf-8", DateColumn: "Date", DateFormat: "YYYY-MM-DD",
					PayeeColumn: "Payee", AmountMode: "signed", AmountColumn: "Amount", DecimalSeparator: "."},
				Columns: []string{"Date", "Payee", "Amount"},
				Rows: []importer.Row{
					{Line: 2, Date: "2025-01-02", Payee: "Fuel", Err: `"-45.129" has 3 decimals; USD amounts have at most 2.`},
					{Line: 3, Date: "2025-01-03", Payee: "Broker", Amount: 1234},
					{Line: 4, Date: "2025-01-04", Payee: "Shop", Amount: -750},
				},
			},
		},
		{
			name: "OFX 1.x SGML bank statement", file: "bank_v102.ofx", currency: "USD",
			want: importer.Result{
				Format:    importer.FormatOFX,
				Mapping:   importer.Mapping{Encoding: "utf-8"},
				Statement: &importer.Balance{Amount: 195783, Date: "2025-01-31"},
				Rows: []importer.Row{
					{Line: 43, Date: "2025-01-03", Payee: "WHOLE FOODS MARKET", Memo: "POS PURCHASE 0103 AUSTIN TX", Amount: -4217, ExternalID: "2025010300001"},
					// Midnight in Berlin is the 9th in UTC: the date is the bank's.
					{Line: 51, Date: "2025-01-10", Payee: "ACME CORP PAYROLL", Amount: 215000, ExternalID: "2025011000002"},
					{Line: 58, Date: "2025-01-15", Payee: "Oak Street Properties", Memo: "Rent January", Amount: -120000, ExternalID: "2025011500003"},
					{Line: 74, Date: "2025-01-31", Payee: "MONTHLY SERVICE FEE", Amount: -450, ExternalID: "2025013100004"},
				},
			},
		},
		{
			name: "OFX 2.x XML credit card statement", file: "card_v211.qfx", currency: "USD",
			want: importer.Result{
				Format:    importer.FormatOFX,
				Mapping:   importer.Mapping{Encoding: "utf-8"},
				Statement: &importer.Balance{Amount: -123456, Date: "2025-01-31"},
				Rows: []importer.Row{
					{Line: 22, Date: "2025-01-04", Payee: "AMAZON MKTPL*2K4LM1", Memo: "AMZN.COM/BILL WA", Amount: -2399, ExternalID: "320250040243791"},
					{Line: 30, Date: "2025-01-12", Payee: "CAFÉ BLEU & BAR", Amount: -6140, ExternalID: "320250120311842"},
					{Line: 37, Date: "2025-01-20", Payee: "PAYMENT THANK YOU", Amount: 50000, ExternalID: "320250200100233"},
				},
			},
		},
		{
			name: "QIF bank with Quicken's apostrophe years", file: "bank.qif", currency: "USD",
			want: importer.Result{
				Format:  importer.FormatQIF,
				Mapping: importer.Mapping{Encoding: "utf-8", DateFormat: "MM/DD/YYYY", DecimalSeparator: "."},
				Rows: []importer.Row{
					{Line: 2, Date: "2025-01-15", Payee: "Landlord Property Mgmt", Memo: "January rent", Category: "Housing:Rent", Amount: -123456},
					{Line: 8, Date: "2025-01-20", Payee: "ACME Corp", Category: "Salary", Amount: 250000},
					{Line: 14, Date: "2025-01-31", Payee: "Streaming Service", Memo: "Subscription", Category: "Entertainment", Amount: -499},
				},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := parseFile(t, tc.file, tc.currency, tc.mapping)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			checkResult(t, res, tc.want)
		})
	}
}
