// Package importer reads bank files (CSV, OFX/QFX, QIF) into rows for the import preview, and
// writes Tally's own CSV export. It knows nothing of the ledger: it turns bytes into dated,
// signed amounts in minor units of one currency, and says in a sentence what it could not read.
//
// A file is read once, as a stream: detection looks at the first 64 KiB, the rows are kept as
// the few cells the mapping names, and the date format and decimal separator are decided from
// every row before the rows are converted. There is no float anywhere.
package importer

import (
	"errors"
	"fmt"
	"io"

	"tally/money"
)

// Limits on one file: MaxRows data rows are accepted, one more is ErrTooManyRows; a file of
// MaxBytes is accepted, one byte more is ErrTooLarge.
const (
	MaxBytes = 5 << 20
	MaxRows  = 50000
)

// Mapping says how to read a CSV; the zero value means "detect", and each field the user set
// wins over detection. Columns are named by their header or by a 0-based index as a string.
type Mapping struct {
	Delimiter string `json:"delimiter"` // ",", ";", "\t", "|"
	Encoding  string `json:"encoding"`  // "utf-8", "utf-16", "windows-1252"
	// SkipRows counts the physical lines before the header (or before the first row when
	// NoHeader), blank ones included.
	SkipRows int `json:"skip_rows"`
	// NoHeader says the file starts with data (after SkipRows); columns are then named by
	// index only.
	NoHeader         bool     `json:"no_header"`
	DateColumn       string   `json:"date_column"`
	DateFormat       string   `json:"date_format"` // "YYYY-MM-DD", "DD/MM/YYYY", "MM/DD/YYYY", "DD.MM.YYYY", "D MMM YYYY", "YYYYMMDD", ...
	PayeeColumn      string   `json:"payee_column"`
	MemoColumn       string   `json:"memo_column"`
	CategoryColumn   string   `json:"category_column"`
	AmountMode       string   `json:"amount_mode"` // "signed" | "debit_credit" | "indicator"
	AmountColumn     string   `json:"amount_column"`
	DebitColumn      string   `json:"debit_column"`
	CreditColumn     string   `json:"credit_column"`
	IndicatorColumn  string   `json:"indicator_column"`
	DebitValues      []string `json:"debit_values"` // e.g. ["D","Debit","Af"]; matched case-insensitively
	Invert           bool     `json:"invert"`
	IDColumn         string   `json:"id_column"`
	DecimalSeparator string   `json:"decimal_separator"` // "." or ","; inferred when empty
}

// The amount modes of a Mapping.
const (
	AmountSigned      = "signed"
	AmountDebitCredit = "debit_credit"
	AmountIndicator   = "indicator"
)

// Format is the kind of file that was read.
type Format string

const (
	FormatCSV Format = "csv"
	FormatOFX Format = "ofx"
	FormatQIF Format = "qif"
)

// Row is one transaction of the file, or a line that should have been one.
type Row struct {
	Line     int    // the file's physical line (first line is 1) where the row starts
	Date     string // YYYY-MM-DD
	Payee    string
	Memo     string
	Category string // QIF's L field, a mapped category column, Tally's own export; "" when none
	Amount   int64  // minor units of the target currency; negative = money out
	// ExternalID is OFX's FITID or the mapped id column; "" when none.
	ExternalID string
	// Err is a sentence for the user when the row cannot be read; the other fields then hold
	// what could be read, to recognise the row by.
	Err string
}

// Result is what Parse read.
type Result struct {
	Format Format
	// Mapping is the mapping used, with what was detected filled in; for OFX and QIF only the
	// fields that apply (encoding, date format, decimal separator, invert).
	Mapping Mapping
	Columns []string // CSV header names (labels "Column 1"... without a header), nil otherwise
	Rows    []Row    // every data row, good and bad, in file order
	// Statement is OFX's ledger balance when the file has one (to compare after import).
	Statement *Balance
	// Ambiguous lists the Mapping fields (by JSON name) that could not be decided and must be
	// asked, e.g. "date_format" when every date fits both DD/MM and MM/DD. Rows is empty when
	// anything is ambiguous.
	Ambiguous []string
}

// Balance is a statement's balance on a date.
type Balance struct {
	Amount int64  // minor units, the sign as in the file (after Invert)
	Date   string // YYYY-MM-DD
}

// Kinds of FileError, for errors.Is.
var (
	ErrEmpty       = errors.New("importer: empty file")
	ErrBinary      = errors.New("importer: not a text file")
	ErrTooLarge    = errors.New("importer: file too large")
	ErrTooManyRows = errors.New("importer: too many rows")
	ErrNoRows      = errors.New("importer: no transactions")
	ErrUnreadable  = errors.New("importer: unreadable file")
	ErrCurrency    = errors.New("importer: other currency")
)

// FileError is why a whole file cannot be read, in a sentence written for the user;
// errors.Is tells its kind (ErrTooLarge and ErrTooManyRows are a 413, the others a 422).
type FileError struct {
	Message string
	kind    error
}

func (e *FileError) Error() string { return e.Message }
func (e *FileError) Unwrap() error { return e.kind }

func fileError(kind error, format string, args ...any) *FileError {
	return &FileError{Message: fmt.Sprintf(format, args...), kind: kind}
}

// MappingError is a Mapping that cannot apply to the file: a column that is not there, a date
// format that is not a pattern. Field is the JSON name of the field.
type MappingError struct {
	Field   string
	Message string
}

func (e *MappingError) Error() string { return e.Message }

var (
	errTooLarge = fileError(ErrTooLarge, "The file is larger than 5 MiB. Export a shorter period and import it in parts.")
	errTooMany  = fileError(ErrTooManyRows, "The file has more than 50,000 rows. Export a shorter period and import it in parts.")
)

// Parse reads a bank file for an account in currency cur. m may be zero (detect everything) or
// partial (what the user set wins, the rest is detected). fileName is not used to decide
// anything: the format is told by content, as banks' names say little (an .xls that is a web
// page, a .csv with semicolons). It never panics on any input: a file it cannot read at all is a *FileError (or a
// *MappingError for a mapping that does not fit), a row it cannot read is a Row with Err. Other
// errors come from reading r.
func Parse(r io.Reader, fileName string, cur money.Currency, m Mapping) (*Result, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	limited := &limitReader{r: r}
	in, err := openInput(limited, m.Encoding)
	if err == nil {
		var res *Result
		switch in.format {
		case FormatOFX:
			res, err = parseOFX(in, cur, m)
		case FormatQIF:
			res, err = parseQIF(in, cur, m)
		default:
			res, err = parseCSV(in, cur, m)
		}
		if err == nil {
			// What detection did not need to read (a result that asks for a mapping stops
			// early) still counts towards the limit, so that a file is too large either way.
			_, err = io.Copy(io.Discard, in.text)
		}
		if err == nil && !limited.over {
			res.Mapping.Encoding = in.encoding
			return res, nil
		}
	}
	if limited.over {
		return nil, errTooLarge
	}
	return nil, err
}

// check refuses the fields of a mapping that have a fixed set of values.
func (m Mapping) check() error {
	switch m.Delimiter {
	case "", ",", ";", "\t", "|":
	default:
		return &MappingError{"delimiter", fmt.Sprintf("The delimiter %q is not one of , ; tab or |.", m.Delimiter)}
	}
	switch m.Encoding {
	case "", "utf-8", "utf-16", "windows-1252":
	default:
		return &MappingError{"encoding", fmt.Sprintf("The encoding %q is not one of utf-8, utf-16 or windows-1252.", m.Encoding)}
	}
	switch m.AmountMode {
	case "", AmountSigned, AmountDebitCredit, AmountIndicator:
	default:
		return &MappingError{"amount_mode", fmt.Sprintf("The amount mode %q is not one of signed, debit_credit or indicator.", m.AmountMode)}
	}
	switch m.DecimalSeparator {
	case "", ".", ",":
	default:
		return &MappingError{"decimal_separator", fmt.Sprintf("The decimal separator %q is not . or ,.", m.DecimalSeparator)}
	}
	if m.SkipRows < 0 {
		return &MappingError{"skip_rows", "The number of lines to skip cannot be negative."}
	}
	if m.DateFormat != "" {
		if _, err := compileDateFormat(m.DateFormat); err != nil {
			return err
		}
	}
	return nil
}
