package importer_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tally/importer"
)

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestParseRefuses covers files that cannot be read at all: each is a *FileError with a
// sentence for the user and a kind for the status code.
func TestParseRefuses(t *testing.T) {
	tests := []struct {
		name     string
		content  string
		currency string
		kind     error
		message  string
	}{
		{"PNG image", readTestdata(t, "statement.png"), "USD", importer.ErrBinary,
			"This is an image, not a bank file. Tally reads CSV, OFX, QFX and QIF files."},
		{"PDF statement", "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "USD", importer.ErrBinary,
			"This is a PDF. Tally reads CSV, OFX, QFX and QIF files; most banks offer one of them next to the PDF statement."},
		{"Excel workbook", "PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00", "USD", importer.ErrBinary,
			"This is a spreadsheet workbook or a zip archive. Save the sheet as CSV and import that."},
		{"control bytes", "Date,Amount\n\x00\x01\x02\x03\x04\x05", "USD", importer.ErrBinary,
			"This file is not text. Tally reads CSV, OFX, QFX and QIF files; most banks offer one of them next to the PDF statement."},
		{"empty file", readTestdata(t, "empty.csv"), "USD", importer.ErrEmpty, "The file is empty."},
		{"only line ends and spaces", "\r\n   \n\t\n", "USD", importer.ErrEmpty, "The file is empty."},
		{"header only", readTestdata(t, "header_only.csv"), "USD", importer.ErrNoRows, "The file has a header but no transactions."},
		{"header and blank lines", "Date;Payee;Amount\r\n;;\r\n\r\n", "USD", importer.ErrNoRows, "The file has a header but no transactions."},
		{"one line of prose", "Thank you for banking with us\n", "USD", importer.ErrNoRows, "The file has no transactions."},
		{"a web page saved as .xls", "<html><body><table><tr><td>Date</td></tr></table></body></html>", "USD", importer.ErrUnreadable,
			"This file is a web page or XML, not a bank statement Tally reads. Export the statement as CSV, OFX, QFX or QIF."},
		{"OFX in another currency", readTestdata(t, "bank_v102.ofx"), "EUR", importer.ErrCurrency,
			"This statement is in USD and the account holds EUR. Import it into an account in USD."},
		{"OFX cut short", readTestdata(t, "bank_v102.ofx")[:900], "USD", importer.ErrUnreadable,
			"This OFX file could not be read (XML syntax error: unexpected EOF). Download it again, or export CSV instead."},
		{"OFX header without a body", "OFXHEADER:100\nDATA:OFXSGML\n", "USD", importer.ErrUnreadable,
			"This OFX file could not be read (EOF). Download it again, or export CSV instead."},
		{"OFX without transactions", ofxWith(""), "USD", importer.ErrNoRows, "This statement has no transactions."},
		{"OFX with an investment statement", investmentOFX, "USD", importer.ErrUnreadable,
			"This OFX file holds an investment statement. Tally imports bank and credit card statements."},
		{"QIF with investments only", "!Type:Invst\nD1/15'25\nNBuy\nYACME\nT100.00\n^\n", "USD", importer.ErrNoRows,
			"This QIF file holds no bank, cash or credit card transactions."},
		{"QIF with an empty bank section", "!Type:Bank\n^\n", "USD", importer.ErrNoRows, "The file has no transactions."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := importer.Parse(strings.NewReader(tc.content), "upload", mustCurrency(tc.currency), importer.Mapping{})
			var fe *importer.FileError
			if !errors.As(err, &fe) || !errors.Is(err, tc.kind) {
				t.Fatalf("Parse = %+v, %v; want a FileError of kind %v", res, err, tc.kind)
			}
			if fe.Message != tc.message || err.Error() != tc.message {
				t.Errorf("message = %q, want %q", fe.Message, tc.message)
			}
		})
	}
}

// TestParseMappingErrors covers mappings that cannot apply to the file.
func TestParseMappingErrors(t *testing.T) {
	csv := "Date,Payee,Amount\n2025-01-02,Shop,-1.00\n"
	tests := []struct {
		name    string
		mapping importer.Mapping
		field   string
		message string
	}{
		{"unknown column name", importer.Mapping{AmountColumn: "Betrag"}, "amount_column",
			`The file has no column "Betrag". Its columns are 0 "Date", 1 "Payee", 2 "Amount".`},
		{"index out of range", importer.Mapping{DateColumn: "3"}, "date_column",
			`The file has no column "3". Its columns are 0 "Date", 1 "Payee", 2 "Amount".`},
		{"negative index", importer.Mapping{DateColumn: "-1"}, "date_column",
			`The file has no column "-1". Its columns are 0 "Date", 1 "Payee", 2 "Amount".`},
		{"date pattern without a day", importer.Mapping{DateFormat: "YYYY-MM"}, "date_format",
			`"YYYY-MM" is not a date pattern. Write one with YYYY or YY, MM or MMM, DD and separators, like DD.MM.YYYY.`},
		{"date pattern with letters", importer.Mapping{DateFormat: "%Y-%m-%d"}, "date_format",
			`"%Y-%m-%d" is not a date pattern. Write one with YYYY or YY, MM or MMM, DD and separators, like DD.MM.YYYY.`},
		{"delimiter", importer.Mapping{Delimiter: ":"}, "delimiter", `The delimiter ":" is not one of , ; tab or |.`},
		{"encoding", importer.Mapping{Encoding: "latin1"}, "encoding", `The encoding "latin1" is not one of utf-8, utf-16 or windows-1252.`},
		{"amount mode", importer.Mapping{AmountMode: "split"}, "amount_mode", `The amount mode "split" is not one of signed, debit_credit or indicator.`},
		{"decimal separator", importer.Mapping{DecimalSeparator: "'"}, "decimal_separator", `The decimal separator "'" is not . or ,.`},
		{"a delimiter the file does not have", importer.Mapping{Delimiter: "\t"}, "delimiter", "No line of the file has a tab in it."},
		{"negative skip", importer.Mapping{SkipRows: -1}, "skip_rows", "The number of lines to skip cannot be negative."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := importer.Parse(strings.NewReader(csv), "x.csv", mustCurrency("USD"), tc.mapping)
			var me *importer.MappingError
			if !errors.As(err, &me) {
				t.Fatalf("Parse error = %v, want a MappingError", err)
			}
			if me.Field != tc.field || me.Message != tc.message {
				t.Errorf("MappingError = %q %q, want %q %q", me.Field, me.Message, tc.field, tc.message)
			}
		})
	}
}

const investmentOFX = `<?xml version="1.0"?>
<?OFX OFXHEADER="200" VERSION="203" SECURITY="NONE" OLDFILEUID="NONE" NEWFILEUID="NONE"?>
<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS><DTSERVER>20250101</DTSERVER>
<LANGUAGE>ENG</LANGUAGE></SONRS></SIGNONMSGSRSV1><INVSTMTMSGSRSV1><INVSTMTTRNRS><TRNUID>1</TRNUID><STATUS><CODE>0</CODE>
<SEVERITY>INFO</SEVERITY></STATUS><INVSTMTRS><DTASOF>20250101</DTASOF><CURDEF>USD</CURDEF><INVACCTFROM><BROKERID>b</BROKERID>
<ACCTID>1</ACCTID></INVACCTFROM></INVSTMTRS></INVSTMTTRNRS></INVSTMTMSGSRSV1></OFX>
`

// rowsCSV is a CSV with a header and n rows.
func rowsCSV(n int) string {
	var b strings.Builder
	b.WriteString("Date,Payee,Memo,Amount\n")
	for i := range n {
		fmt.Fprintf(&b, "2025-01-%02d,Payee %d,Memo,-%d.%02d\n", i%28+1, i, i%1000, i%100)
	}
	return b.String()
}

// sized pads the memo of a CSV's last row so the file has exactly n bytes.
func sized(csv string, n int) string {
	last := strings.LastIndex(csv, ",Memo,")
	return csv[:last+5] + strings.Repeat("m", n-len(csv)) + csv[last+5:]
}

func TestParseLimits(t *testing.T) {
	usd := mustCurrency("USD")
	t.Run("50,000 rows are accepted", func(t *testing.T) {
		res, err := importer.Parse(strings.NewReader(rowsCSV(importer.MaxRows)), "big.csv", usd, importer.Mapping{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Rows) != 50000 {
			t.Fatalf("%d rows, want 50000", len(res.Rows))
		}
		last := res.Rows[len(res.Rows)-1]
		if want := (importer.Row{Line: 50001, Date: "2025-01-20", Payee: "Payee 49999", Memo: "Memo", Amount: -99999}); last != want {
			t.Errorf("last row = %+v, want %+v", last, want)
		}
	})
	tooMany := []struct{ name, content string }{
		{"CSV", rowsCSV(importer.MaxRows + 1)},
		{"CSV with blank lines between", strings.ReplaceAll(rowsCSV(importer.MaxRows+1), "\n", "\n\n")},
		{"QIF", "!Type:Bank\n" + strings.Repeat("D01/02/2025\nT-1.00\nPShop\n^\n", importer.MaxRows+1)},
		{"OFX", ofxWith(strings.Repeat("<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20250102<TRNAMT>-1<FITID>1</STMTTRN>\n", importer.MaxRows+1))},
	}
	for _, tc := range tooMany {
		t.Run("50,001 rows: "+tc.name, func(t *testing.T) {
			_, err := importer.Parse(strings.NewReader(tc.content), "big", usd, importer.Mapping{})
			if !errors.Is(err, importer.ErrTooManyRows) {
				t.Fatalf("Parse error = %v, want ErrTooManyRows", err)
			}
			if err.Error() != "The file has more than 50,000 rows. Export a shorter period and import it in parts." {
				t.Errorf("message %q", err)
			}
		})
	}

	base := rowsCSV(10000)
	t.Run("5 MiB exactly is accepted", func(t *testing.T) {
		content := sized(base, importer.MaxBytes)
		if len(content) != importer.MaxBytes {
			t.Fatalf("test file has %d bytes", len(content))
		}
		res, err := importer.Parse(strings.NewReader(content), "big.csv", usd, importer.Mapping{})
		if err != nil || len(res.Rows) != 10000 || res.Rows[9999].Err != "" {
			t.Fatalf("Parse = %v rows, %v", len(res.Rows), err)
		}
	})
	tooLarge := []struct {
		name string
		r    io.Reader
	}{
		{"CSV one byte over", strings.NewReader(sized(base, importer.MaxBytes+1))},
		{"QIF", strings.NewReader("!Type:Bank\nD01/02/2025\nT-1.00\nP" + strings.Repeat("x", importer.MaxBytes) + "\n^\n")},
		{"OFX", strings.NewReader(ofxWith(strings.Repeat("<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20250102<TRNAMT>-1<FITID>1</STMTTRN>\n", 80000)))},
		{"UTF-16", strings.NewReader("\xff\xfe" + strings.Repeat("a\x00,\x00b\x00\n\x00", importer.MaxBytes/8+1))},
		{"a stream without end", endless{}},
	}
	for _, tc := range tooLarge {
		t.Run("over 5 MiB: "+tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := importer.Parse(tc.r, "big", usd, importer.Mapping{})
			if !errors.Is(err, importer.ErrTooLarge) {
				t.Fatalf("Parse error = %v, want ErrTooLarge", err)
			}
			if err.Error() != "The file is larger than 5 MiB. Export a shorter period and import it in parts." {
				t.Errorf("message %q", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// endless is a reader that never ends, as a client that keeps sending rows of 200 bytes.
type endless struct{}

var endlessRow = "2025-01-02," + strings.Repeat("x", 183) + ",-1.00\n"

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = endlessRow[i%len(endlessRow)]
	}
	return len(p), nil
}

// ofxWith wraps transactions in an OFX 1.x bank statement in USD.
func ofxWith(transactions string) string { return ofxIn("USD", transactions) }

// ofxIn wraps transactions in an OFX 1.x bank statement in currency code.
func ofxIn(code, transactions string) string {
	return "OFXHEADER:100\nDATA:OFXSGML\nVERSION:102\nSECURITY:NONE\nENCODING:USASCII\nCHARSET:1252\nCOMPRESSION:NONE\n" +
		"OLDFILEUID:NONE\nNEWFILEUID:NONE\n\n<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS>" +
		"<DTSERVER>20250201<LANGUAGE>ENG</SONRS></SIGNONMSGSRSV1><BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>0" +
		"<SEVERITY>INFO</STATUS><STMTRS><CURDEF>" + code + "<BANKACCTFROM><BANKID>1<ACCTID>2<ACCTTYPE>CHECKING</BANKACCTFROM>" +
		"<BANKTRANLIST><DTSTART>20250101<DTEND>20250131\n" + transactions +
		"</BANKTRANLIST><LEDGERBAL><BALAMT>10.00<DTASOF>20250131</LEDGERBAL></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>\n"
}
