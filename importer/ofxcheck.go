package importer

import (
	"strings"
)

// maxOFXDepth bounds the nesting of elements; a real statement nests about a dozen deep.
const maxOFXDepth = 200

// ofxAmountTags are the elements ofxgo reads with big.Rat.SetString.
var ofxAmountTags = map[string]bool{}

func init() {
	for _, tag := range strings.Fields(`ACCRDINT AFTERTAX AFTERTAXCONTRIBAMT AFTERTAXCONTRIBPCT AVAILCASH
		AVGCOSTBASIS BALAMT BASEMATCHAMT BASEMATCHPCT BUYPOWER CALLPRICE CASHADVBALAMT CASHBAL COMMISSION
		COUPONRT CURRATE CURRENTLOANBAL CURRENTVESTPCT DEFERPCTAFTERTAX DEFERPCTPRETAX FEES FRACCASH GAIN
		INITIALLOANBAL INTRATE INTRATECASH INTRATEPURCH INTRATEXFER LIMITPRICE LOAD LOANINTEREST
		LOANINTERESTTODATE LOANPMTAMT LOANPRINCIPAL LOANRATE LOANTOTALPROJINTEREST MARGINBALANCE MARKDOWN
		MARKUP MATCH MATCHCONTRIBAMT MATCHCONTRIBPCT MATCHPCT MATURITYAMOUNT MAXMATCHAMT MAXMATCHPCT
		MINBALREQ MINUNITS MKTVAL NEWUNITS OLDUNITS OTHERNONVEST OTHERNONVESTAMT OTHERNONVESTPCT OTHERVEST
		OTHERVESTAMT OTHERVESTPCT OVERDRAFTLIMIT PARVALUE PENALTY PERCENT PRETAX PRETAXCONTRIBAMT
		PRETAXCONTRIBPCT PROFITSHARING PROFITSHARINGCONTRIBAMT PROFITSHARINGCONTRIBPCT REWARDBAL
		REWARDEARNED ROLLOVER ROLLOVERCONTRIBAMT ROLLOVERCONTRIBPCT SHORTBALANCE STATEWITHHOLDING STOPPRICE
		STRIKEPRICE TAXES TOTAL TRNAMT UNITPRICE UNITS UNITSSTREET UNITSUSER VALUE VESTPCT WITHHOLDING
		YIELD YIELDTOCALL YIELDTOMAT`) {
		ofxAmountTags[tag] = true
	}
}

// checkOFXShape refuses, before ofxgo sees an OFX file as XML, what would make it work without
// bound:
// ofxgo reads amounts with big.Rat.SetString, which takes "1e999999" or a million digits at
// their word (seconds of CPU each), and skips unknown elements recursively, so nesting a
// million deep grows the stack past its limit, which no recover catches. Amounts must be plain
// decimals written directly in their element (no entity, comment or CDATA section to hide
// anything in), and nesting is bounded.
func checkOFXShape(text string) error {
	deep := fileError(ErrUnreadable, "This OFX file nests its elements too deeply to be a bank statement.")
	var open []string
	for i := 0; i < len(text); {
		lt := strings.IndexByte(text[i:], '<')
		if lt < 0 {
			break
		}
		lt += i
		rest := text[lt:]
		switch {
		case strings.HasPrefix(rest, "<!--"):
			i = skipPast(text, lt, "-->")
			continue
		case strings.HasPrefix(rest, "<![CDATA["):
			i = skipPast(text, lt, "]]>")
			continue
		case strings.HasPrefix(rest, "<!"), strings.HasPrefix(rest, "<?"):
			i = skipPast(text, lt, ">")
			continue
		}
		gt := strings.IndexByte(rest, '>')
		if gt < 0 {
			break
		}
		gt += lt
		closing := text[lt+1] == '/'
		name := tagName(text[lt+1 : gt])
		i = gt + 1
		if closing {
			for j := len(open) - 1; j >= 0; j-- {
				if open[j] == name {
					open = open[:j]
					break
				}
			}
			continue
		}
		if text[gt-1] != '/' {
			open = append(open, name)
			if len(open) > maxOFXDepth {
				return deep
			}
		}
		if local := name[strings.LastIndexByte(name, ':')+1:]; ofxAmountTags[local] {
			if err := checkOFXAmount(text[i:], name); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkOFXAmount checks the text after an amount's start tag: a plain decimal and the end tag,
// as anything between them (another element, a comment) could add text.
func checkOFXAmount(after, name string) error {
	end := strings.IndexByte(after, '<')
	if end < 0 {
		end = len(after)
	}
	value := strings.TrimSpace(after[:end])
	if !plainDecimal(value) || !strings.HasPrefix(after[end:], "</"+name+">") {
		if len(value) > 40 {
			value = value[:40] + "…"
		}
		return fileError(ErrUnreadable, "This OFX file has an amount that is not a plain decimal number: <%s>%s.", name, value)
	}
	return nil
}

// plainDecimal is an optional sign, at most 30 digits, and at most one decimal point or comma.
func plainDecimal(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	digits, seps := 0, 0
	for i := range len(s) {
		switch c := s[i]; {
		case isDigit(c):
			digits++
		case c == '.' || c == ',':
			seps++
		default:
			return false
		}
	}
	return digits > 0 && digits <= 30 && seps <= 1
}

func tagName(inside string) string {
	inside = strings.TrimPrefix(inside, "/")
	if i := strings.IndexAny(inside, " \t\r\n/"); i >= 0 {
		inside = inside[:i]
	}
	return inside
}

func skipPast(text string, from int, end string) int {
	if i := strings.Index(text[from:], end); i >= 0 {
		return from + i + len(end)
	}
	return len(text)
}

// xmlHeader replaces an OFX 1.x SGML header: ofxgo then reads the file as OFX 2 XML.
const xmlHeader = `<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
	`<?OFX OFXHEADER="200" VERSION="220" SECURITY="NONE" OLDFILEUID="NONE" NEWFILEUID="NONE"?>` + "\n"

// sgmlToXML turns OFX 1.x SGML into XML: an element followed by text is a leaf, closed after
// its text unless the file closes it; a bare & becomes &amp;; control characters become
// spaces. ofxgo reads SGML itself, but its SGML decoder compares every token with each of
// several hundred leaf names, lower-casing both (about 100 µs a token: a minute of CPU for a
// 5 MiB file); as XML the same file takes a fraction of a second.
func sgmlToXML(body string) string {
	start := strings.IndexByte(body, '<')
	if start < 0 {
		return xmlHeader
	}
	var b strings.Builder
	b.Grow(len(body) + len(body)/4)
	b.WriteString(xmlHeader)
	rest := body[start:]
	for len(rest) > 0 {
		gt := strings.IndexByte(rest, '>')
		if gt < 0 {
			b.WriteString(xmlText(rest))
			break
		}
		tag := rest[:gt+1]
		b.WriteString(tag)
		rest = rest[gt+1:]
		end := strings.IndexByte(rest, '<')
		if end < 0 {
			end = len(rest)
		}
		text := rest[:end]
		rest = rest[end:]
		leaf := len(tag) > 2 && tag[1] != '/' && tag[1] != '!' && tag[1] != '?' && tag[len(tag)-2] != '/' &&
			strings.TrimSpace(text) != ""
		if !leaf {
			b.WriteString(xmlText(text))
			continue
		}
		name := tagName(tag[1 : len(tag)-1])
		b.WriteString(xmlText(strings.TrimSpace(text)))
		if !strings.HasPrefix(rest, "</"+name+">") {
			b.WriteString("</" + name + ">")
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// xmlText escapes a bare & (SGML files write "AT&T") and replaces characters XML forbids.
func xmlText(s string) string {
	if !strings.ContainsAny(s, "&\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '&' && !entityAt(s[i:]):
			b.WriteString("&amp;")
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r':
			b.WriteByte(' ')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// entityAt reports an XML entity or character reference at the start of s.
func entityAt(s string) bool {
	end := strings.IndexByte(s, ';')
	if end < 2 || end > 10 {
		return false
	}
	name := s[1:end]
	switch name {
	case "amp", "lt", "gt", "quot", "apos":
		return true
	}
	if name[0] != '#' || len(name) < 2 {
		return false
	}
	digits := name[1:]
	hex := digits[0] == 'x' || digits[0] == 'X'
	if hex {
		digits = digits[1:]
	}
	if digits == "" {
		return false
	}
	for i := range len(digits) {
		c := digits[i]
		if !isDigit(c) && !(hex && (c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F')) {
			return false
		}
	}
	return true
}
