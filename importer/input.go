package importer

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// sniffSize is how much of a file detection looks at: enough for any bank's preamble and a few
// hundred rows to find the delimiter and the header by.
const sniffSize = 64 << 10

// limitReader reads at most one byte more than MaxBytes and remembers that it got there.
type limitReader struct {
	r    io.Reader
	n    int64
	over bool
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.over {
		return 0, errTooLarge
	}
	if rest := MaxBytes + 1 - l.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := l.r.Read(p)
	l.n += int64(n)
	if l.n > MaxBytes {
		l.over = true
		return n, errTooLarge
	}
	return n, err
}

// input is a file opened for reading: its text decoded to UTF-8 without a byte order mark.
type input struct {
	text     *bufio.Reader
	head     []byte // the first bytes of text, peeked; the whole file when complete
	complete bool
	encoding string // "utf-8", "utf-16" or "windows-1252"
	format   Format
}

// openInput detects the encoding (unless forced) and the format, and refuses files that are
// not text.
func openInput(r io.Reader, forced string) (*input, error) {
	raw := bufio.NewReaderSize(r, sniffSize)
	head, err := raw.Peek(sniffSize)
	if err != nil && err != io.EOF {
		return nil, err
	}
	if len(head) == 0 {
		return nil, fileError(ErrEmpty, "The file is empty.")
	}
	if err := sniffBinary(head); err != nil {
		return nil, err
	}

	in := &input{encoding: forced}
	var dec *encoding.Decoder
	bomLen := 0
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}) && forced != "windows-1252" && forced != "utf-16":
		in.encoding, bomLen = "utf-8", 3
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}) && forced != "utf-8" && forced != "windows-1252":
		in.encoding, bomLen = "utf-16", 2
		dec = unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewDecoder()
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}) && forced != "utf-8" && forced != "windows-1252":
		in.encoding, bomLen = "utf-16", 2
		dec = unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM).NewDecoder()
	default:
		if forced == "" {
			in.encoding = guessEncoding(head, err == io.EOF)
		}
		switch in.encoding {
		case "utf-16":
			order := unicode.LittleEndian
			if nulsAt(head, 0) > nulsAt(head, 1) {
				order = unicode.BigEndian
			}
			dec = unicode.UTF16(order, unicode.IgnoreBOM).NewDecoder()
		case "windows-1252":
			dec = charmap.Windows1252.NewDecoder()
		}
	}
	if _, err := raw.Discard(bomLen); err != nil {
		return nil, err
	}
	var decoded io.Reader = raw
	if dec != nil {
		decoded = transform.NewReader(raw, dec)
	}

	in.text = bufio.NewReaderSize(decoded, sniffSize)
	in.head, err = in.text.Peek(sniffSize)
	if err != nil && err != io.EOF {
		return nil, err
	}
	in.complete = err == io.EOF
	if len(bytes.Trim(in.head, " \t\r\n\f\v\x1a")) == 0 && in.complete {
		return nil, fileError(ErrEmpty, "The file is empty.")
	}
	if hasControls(in.head) {
		return nil, fileError(ErrBinary, "This file is not text. Tally reads CSV, OFX, QFX and QIF files; most banks offer one of them next to the PDF statement.")
	}
	in.format, err = sniffFormat(in.head)
	return in, err
}

// magic numbers of the files people upload by mistake, with what to do instead.
var magic = []struct {
	prefix, message string
}{
	{"\x89PNG", "This is an image, not a bank file. Tally reads CSV, OFX, QFX and QIF files."},
	{"\xFF\xD8\xFF", "This is an image, not a bank file. Tally reads CSV, OFX, QFX and QIF files."},
	{"GIF8", "This is an image, not a bank file. Tally reads CSV, OFX, QFX and QIF files."},
	{"%PDF", "This is a PDF. Tally reads CSV, OFX, QFX and QIF files; most banks offer one of them next to the PDF statement."},
	{"PK\x03\x04", "This is a spreadsheet workbook or a zip archive. Save the sheet as CSV and import that."},
	{"\xD0\xCF\x11\xE0", "This is an Excel workbook. Save the sheet as CSV and import that."},
	{"\x1F\x8B", "This file is compressed. Unpack it and import the CSV, OFX, QFX or QIF file inside."},
}

func sniffBinary(head []byte) error {
	for _, m := range magic {
		if bytes.HasPrefix(head, []byte(m.prefix)) {
			return fileError(ErrBinary, "%s", m.message)
		}
	}
	return nil
}

// guessEncoding decides from the first bytes of a file without a byte order mark: UTF-16 when
// every other byte is zero (ASCII text in UTF-16), UTF-8 when the bytes are valid UTF-8, else
// Windows-1252, the encoding of European banks' exports from Windows programs. A UTF-8 file
// whose first non-ASCII byte comes after the head has its other cells repaired by cellText.
func guessEncoding(head []byte, complete bool) string {
	pairs := len(head) / 2
	if pairs >= 2 && (nulsAt(head, 0) > pairs*4/10 || nulsAt(head, 1) > pairs*4/10) {
		return "utf-16"
	}
	if !complete {
		head = trimPartialRune(head) // the head may end inside a character
	}
	if utf8.Valid(head) {
		return "utf-8"
	}
	return "windows-1252"
}

// trimPartialRune drops an incomplete UTF-8 sequence at the end of b.
func trimPartialRune(b []byte) []byte {
	for i := 1; i < utf8.UTFMax && i <= len(b); i++ {
		c := b[len(b)-i]
		if c < 0x80 {
			return b
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			return b
		}
	}
	return b
}

// nulsAt counts the zero bytes at even (parity 0) or odd (parity 1) offsets of the first KiB.
func nulsAt(head []byte, parity int) int {
	n := 0
	for i := parity; i < min(len(head), 1024); i += 2 {
		if head[i] == 0 {
			n++
		}
	}
	return n
}

// hasControls reports text that no bank writes: a NUL, or more than one control character in a
// hundred (tabs, line ends, form feeds and DOS's end-of-file mark are text).
func hasControls(text []byte) bool {
	controls := 0
	for _, c := range text {
		switch {
		case c == 0:
			return true
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v' && c != 0x1A:
			controls++
		}
	}
	return controls > len(text)/100
}

// sniffFormat tells the format by content: OFX by its header or root element, QIF by its
// leading "!" line, CSV otherwise; markup that is not OFX is refused with advice.
func sniffFormat(head []byte) (Format, error) {
	text := strings.TrimLeft(string(head[:min(len(head), 4096)]), " \t\r\n\ufeff")
	upper := strings.ToUpper(text)
	switch {
	case strings.HasPrefix(upper, "OFXHEADER"), strings.HasPrefix(upper, "<OFX>"),
		strings.HasPrefix(upper, "<?XML") && strings.Contains(upper, "OFX"):
		return FormatOFX, nil
	case strings.HasPrefix(upper, "!TYPE"), strings.HasPrefix(upper, "!OPTION"),
		strings.HasPrefix(upper, "!ACCOUNT"), strings.HasPrefix(upper, "!CLEAR"):
		return FormatQIF, nil
	case strings.HasPrefix(upper, "<"):
		return "", fileError(ErrUnreadable, "This file is a web page or XML, not a bank statement Tally reads. Export the statement as CSV, OFX, QFX or QIF.")
	}
	return FormatCSV, nil
}

// cellText repairs text that is not UTF-8 although the file's head was: such a byte is read as
// Windows-1252, as it would have been had it come earlier.
func cellText(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	fixed, err := charmap.Windows1252.NewDecoder().String(s)
	if err != nil {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	return fixed
}

// readAll reads the rest of the text, for the formats that are read as a whole.
func (in *input) readAll() (string, error) {
	var b strings.Builder
	_, err := io.Copy(&b, in.text)
	if errors.Is(err, ErrTooLarge) {
		return "", errTooLarge
	}
	return b.String(), err
}
