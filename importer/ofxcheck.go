package importer

import (
	"strings"
)

// maxOFXDepth bounds the nesting of elements; a real statement nests about a dozen deep (in
// SGML, where leaf elements are not closed, each open leaf counts until its parent closes).
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

// checkOFXShape refuses, before ofxgo sees it, what would make it work without bound:
// ofxgo reads amounts with big.Rat.SetString, which takes "1e999999" or a million digits at
// their word (seconds of CPU each), and skips unknown elements recursively, so nesting a
// million deep grows the stack past its limit, which no recover catches. Amounts must be plain
// decimals written directly in their element (no entity, comment or CDATA section to hide
// anything in), and nesting is bounded.
func checkOFXShape(text string) error {
	head := text[:min(len(text), 1024)]
	sgml := strings.Contains(head, "OFXHEADER:")
	if x := strings.Index(head, "OFXHEADER="); x >= 0 && x <= strings.Index(head, "OFXHEADER:") {
		sgml = false
	}
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
			if err := checkOFXAmount(text[i:], name, sgml); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkOFXAmount checks the text after an amount's start tag.
func checkOFXAmount(after, name string, sgml bool) error {
	end := strings.IndexByte(after, '<')
	if end < 0 {
		end = len(after)
	}
	value := strings.TrimSpace(after[:end])
	next := after[end:]
	fine := plainDecimal(value) && !strings.HasPrefix(next, "<!") && !strings.HasPrefix(next, "<?")
	if !sgml {
		// XML elements close right after their text; another element inside would add text.
		fine = fine && strings.HasPrefix(next, "</"+name+">")
	}
	if !fine {
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
