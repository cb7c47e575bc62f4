package importer_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"tally/importer"
)

// germanCSV is a DKB-style export of n rows: a preamble, semicolons, quotes, decimal commas,
// dates to detect; about 95 bytes a row.
func germanCSV(n int) []byte {
	var b bytes.Buffer
	b.WriteString("\"Kontonummer:\";\"DE12 1203 0000 1234 5678 90 / Girokonto\";\n\n")
	b.WriteString("\"Buchungstag\";\"Wertstellung\";\"Auftraggeber / Begünstigter\";\"Verwendungszweck\";\"Betrag (EUR)\";\n")
	for i := range n {
		fmt.Fprintf(&b, "\"%02d.%02d.2025\";\"%02d.%02d.2025\";\"Händler %d GmbH\";\"Rechnung %d vom Monat\";\"-%d.%03d,%02d\";\n",
			i%28+1, i%12+1, i%28+1, i%12+1, i%5000, i, i%100, i%1000, i%100)
	}
	return b.Bytes()
}

func qifFile(n int) []byte {
	var b bytes.Buffer
	b.WriteString("!Type:Bank\n")
	for i := range n {
		fmt.Fprintf(&b, "D%d/%d'25\nT-%d.%02d\nPPayee %d\nMMemo %d\nLFood\n^\n", i%12+1, i%28+1, i%1000, i%100, i%5000, i)
	}
	return b.Bytes()
}

func ofxFile(n int) []byte {
	var b strings.Builder
	for i := range n {
		b.WriteString(trn(fmt.Sprintf("202501%02d", i%28+1), fmt.Sprintf("-%d.%02d", i%1000, i%100), fmt.Sprint(i), fmt.Sprintf("<NAME>Payee %d", i%5000)))
	}
	return []byte(ofxWith(b.String()))
}

// BenchmarkParse50k parses files of 50,000 rows, the most an import accepts.
func BenchmarkParse50k(b *testing.B) {
	files := []struct {
		name string
		data []byte
		code string
	}{
		{"csv", germanCSV(importer.MaxRows), "EUR"},
		{"qif", qifFile(importer.MaxRows), "USD"},
		{"ofx", ofxFile(importer.MaxRows), "USD"},
	}
	for _, f := range files {
		b.Run(f.name, func(b *testing.B) {
			cur := mustCurrency(f.code)
			b.SetBytes(int64(len(f.data)))
			b.ReportAllocs()
			for b.Loop() {
				res, err := importer.Parse(bytes.NewReader(f.data), f.name, cur, importer.Mapping{})
				if err != nil || len(res.Rows) != importer.MaxRows || res.Rows[0].Err != "" {
					b.Fatalf("Parse: %v, %d rows", err, len(res.Rows))
				}
			}
		})
	}
}
