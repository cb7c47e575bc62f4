package importer_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"tally/importer"
)

// trn is one OFX 1.x transaction on its own line.
func trn(posted, amount, fitid, rest string) string {
	return "<STMTTRN><TRNTYPE>OTHER<DTPOSTED>" + posted + "<TRNAMT>" + amount + "<FITID>" + fitid + rest + "</STMTTRN>\n"
}

func TestParseOFX(t *testing.T) {
	tests := []struct {
		name      string
		content   string
		currency  string
		mapping   importer.Mapping
		rows      []row
		statement *importer.Balance
	}{
		{
			name:     "amounts to the cent, trailing zeros and a decimal comma",
			content:  ofxWith(trn("20250102", "-12.340", "a", "<NAME>A") + trn("20250103", "7,5", "b", "<NAME>B") + trn("20250104", "+3", "c", "<NAME>C")),
			currency: "USD",
			rows: []row{{Line: 12, Date: "2025-01-02", Payee: "A", Amount: -1234, ExternalID: "a"},
				{Line: 13, Date: "2025-01-03", Payee: "B", Amount: 750, ExternalID: "b"},
				{Line: 14, Date: "2025-01-04", Payee: "C", Amount: 300, ExternalID: "c"}},
			statement: &importer.Balance{Amount: 1000, Date: "2025-01-31"},
		},
		{
			name:      "too many decimals is a row error, never rounded",
			content:   ofxWith(trn("20250102", "-1.005", "a", "<NAME>A")),
			currency:  "USD",
			rows:      []row{{Line: 12, Date: "2025-01-02", Payee: "A", ExternalID: "a", Err: `"-1.005" has 3 decimals; USD amounts have at most 2.`}},
			statement: &importer.Balance{Amount: 1000, Date: "2025-01-31"},
		},
		{
			name:      "yen have no decimals",
			content:   ofxIn("JPY", trn("20250102", "-1200", "a", "<NAME>A")+trn("20250103", "-12.5", "b", "<NAME>B")),
			currency:  "JPY",
			rows:      []row{{Line: 12, Date: "2025-01-02", Payee: "A", Amount: -1200, ExternalID: "a"}, {Line: 13, Date: "2025-01-03", Payee: "B", ExternalID: "b", Err: `"-12.5" has 1 decimal; JPY amounts have none.`}},
			statement: &importer.Balance{Amount: 10, Date: "2025-01-31"},
		},
		{
			name:      "dinars have three",
			content:   ofxIn("KWD", trn("20250102", "-1.005", "a", "<NAME>A")),
			currency:  "KWD",
			rows:      []row{{Line: 12, Date: "2025-01-02", Payee: "A", Amount: -1005, ExternalID: "a"}},
			statement: &importer.Balance{Amount: 10000, Date: "2025-01-31"},
		},
		{
			name:      "invert turns the balance too",
			content:   ofxWith(trn("20250102", "-1.00", "a", "<NAME>A")),
			currency:  "USD",
			mapping:   importer.Mapping{Invert: true},
			rows:      []row{{Line: 12, Date: "2025-01-02", Payee: "A", Amount: 100, ExternalID: "a"}},
			statement: &importer.Balance{Amount: -1000, Date: "2025-01-31"},
		},
		{
			name:     "a bare ampersand, a closed leaf and an entity in SGML",
			content:  ofxWith(trn("20250102", "-1.00", "a", "<NAME>AT&T Wireless</NAME><MEMO>Fish &amp; chips &#233;")),
			currency: "USD",
			rows:     []row{{Line: 12, Date: "2025-01-02", Payee: "AT&T Wireless", Memo: "Fish & chips é", Amount: -100, ExternalID: "a"}},

			statement: &importer.Balance{Amount: 1000, Date: "2025-01-31"},
		},
		{
			name:      "a transaction in another currency",
			content:   ofxWith(trn("20250102", "-1.00", "a", "<NAME>A<CURRENCY><CURRATE>1.1<CURSYM>EUR</CURRENCY>")),
			currency:  "USD",
			rows:      []row{{Line: 12, Date: "2025-01-02", Payee: "A", ExternalID: "a", Err: "This amount is in EUR and the account holds USD."}},
			statement: &importer.Balance{Amount: 1000, Date: "2025-01-31"},
		},
		{
			name:      "the payee's extended name when there is no other",
			content:   ofxWith(trn("20250102", "-1.00", "a", "<EXTDNAME>Long name")),
			currency:  "USD",
			rows:      []row{{Line: 12, Date: "2025-01-02", Payee: "Long name", Amount: -100, ExternalID: "a"}},
			statement: &importer.Balance{Amount: 1000, Date: "2025-01-31"},
		},
		{
			name:     "a file on one line: rows are numbered",
			content:  strings.ReplaceAll(ofxWith(trn("20250102", "-1.00", "a", "<NAME>A")+trn("20250103", "-2.00", "b", "<NAME>B")), "\n", ""),
			currency: "USD",
			rows: []row{{Line: 1, Date: "2025-01-02", Payee: "A", Amount: -100, ExternalID: "a"},
				{Line: 2, Date: "2025-01-03", Payee: "B", Amount: -200, ExternalID: "b"}},
			statement: &importer.Balance{Amount: 1000, Date: "2025-01-31"},
		},
		{
			name:      "a QFX that starts at <OFX> without its header",
			content:   "\r\n" + ofxWith(trn("20250102", "-1.00", "a", "<NAME>A"))[strings.Index(ofxWith(""), "<OFX>"):],
			currency:  "USD",
			rows:      []row{{Line: 3, Date: "2025-01-02", Payee: "A", Amount: -100, ExternalID: "a"}},
			statement: &importer.Balance{Amount: 1000, Date: "2025-01-31"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := importer.Parse(strings.NewReader(tc.content), "bank.ofx", mustCurrency(tc.currency), tc.mapping)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if res.Format != importer.FormatOFX {
				t.Errorf("Format = %q", res.Format)
			}
			checkRows(t, res.Rows, tc.rows)
			if *res.Statement != *tc.statement {
				t.Errorf("Statement = %+v, want %+v", res.Statement, tc.statement)
			}
		})
	}
}

// TestParseOFXHostile checks that what would make ofxgo work without bound is refused at once.
func TestParseOFXHostile(t *testing.T) {
	xmlStatement := func(amount string) string {
		return strings.Replace(readTestdata(t, "card_v211.qfx"), "<TRNAMT>-23.99</TRNAMT>", amount, 1)
	}
	tests := []struct {
		name    string
		content string
		message string
	}{
		{"an exponent", ofxWith(trn("20250102", "1e999999", "a", "")),
			"This OFX file has an amount that is not a plain decimal number: <TRNAMT>1e999999."},
		{"a million digits", ofxWith(trn("20250102", strings.Repeat("9", 1_000_000), "a", "")),
			"This OFX file has an amount that is not a plain decimal number: <TRNAMT>" + strings.Repeat("9", 40) + "…."},
		{"a fraction", ofxWith(trn("20250102", "1/3", "a", "")),
			"This OFX file has an amount that is not a plain decimal number: <TRNAMT>1/3."},
		{"a balance with an exponent", strings.Replace(ofxWith(""), "<BALAMT>10.00", "<BALAMT>-1E+500000", 1),
			"This OFX file has an amount that is not a plain decimal number: <BALAMT>-1E+500000."},
		{"a character reference", xmlStatement("<TRNAMT>&#49;e999999</TRNAMT>"),
			"This OFX file has an amount that is not a plain decimal number: <TRNAMT>&#49;e999999."},
		{"a CDATA section", xmlStatement("<TRNAMT><![CDATA[1e999999]]></TRNAMT>"),
			"This OFX file has an amount that is not a plain decimal number: <TRNAMT>."},
		{"a comment inside the amount", xmlStatement("<TRNAMT>1<!-- -->e999999</TRNAMT>"),
			"This OFX file has an amount that is not a plain decimal number: <TRNAMT>1."},
		{"an element inside the amount", xmlStatement("<TRNAMT>1<X/>e999999</TRNAMT>"),
			"This OFX file has an amount that is not a plain decimal number: <TRNAMT>1."},
		{"a namespace prefix", xmlStatement("<o:TRNAMT>1e999999</o:TRNAMT>"),
			"This OFX file has an amount that is not a plain decimal number: <o:TRNAMT>1e999999."},
		{"nesting a million deep", ofxWith(trn("20250102", "-1", "a", strings.Repeat("<X>", 1_000_000))),
			"This OFX file nests its elements too deeply to be a bank statement."},
		{"two statements", strings.Replace(ofxWith(trn("20250102", "-1", "a", "")), "</STMTTRNRS>",
			"</STMTTRNRS>"+ofxWith("")[strings.Index(ofxWith(""), "<STMTTRNRS>"):strings.Index(ofxWith(""), "</BANKMSGSRSV1>")], 1),
			"This OFX file holds statements of 2 accounts. Download one account at a time."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := importer.Parse(strings.NewReader(tc.content), "bank.ofx", mustCurrency("USD"), importer.Mapping{})
			if !errors.Is(err, importer.ErrUnreadable) || err.Error() != tc.message {
				t.Errorf("Parse error = %v, want %q", err, tc.message)
			}
			if d := time.Since(start); d > time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}
