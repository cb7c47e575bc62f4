package importer

import (
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"time"

	"github.com/aclindsa/ofxgo"

	"tally/money"
)

var lineInError = regexp.MustCompile(` on line [0-9]+`)

// parseOFX reads an OFX 1.x (SGML) or 2.x (XML) file, QFX included, with one bank or credit
// card statement.
func parseOFX(in *input, cur money.Currency, m Mapping) (*Result, error) {
	text, err := in.readAll()
	if err != nil {
		return nil, err
	}
	body := strings.TrimLeft(text, " \t\r\n\ufeff")
	if len(body) < 5 || !strings.EqualFold(body[:5], "<?xml") {
		body = sgmlToXML(body)
	}
	if err := checkOFXShape(body); err != nil {
		return nil, err
	}
	resp, err := decodeOFX(body)
	if err != nil {
		// The line of an XML error is one of the converted text, not the file's.
		reason := lineInError.ReplaceAllString(err.Error(), "")
		return nil, fileError(ErrUnreadable, "This OFX file could not be read (%s). Download it again, or export CSV instead.", reason)
	}

	stmt, err := oneStatement(resp)
	if err != nil {
		return nil, err
	}
	if code := stmt.currency.String(); code != "XXX" && code != cur.Code {
		return nil, fileError(ErrCurrency, "This statement is in %s and the account holds %s. Import it into an account in %s.", code, cur.Code, code)
	}
	if len(stmt.transactions) > MaxRows {
		return nil, errTooMany
	}
	if len(stmt.transactions) == 0 {
		return nil, fileError(ErrNoRows, "This statement has no transactions.")
	}

	res := &Result{Format: FormatOFX, Mapping: Mapping{Invert: m.Invert}}
	lines := tagLines(text, "<STMTTRN>", len(stmt.transactions))
	res.Rows = make([]Row, len(stmt.transactions))
	for i, t := range stmt.transactions {
		res.Rows[i] = ofxRow(t, lines[i], cur, m.Invert)
	}
	if !stmt.balanceAsOf.IsZero() {
		if amount, problem := ratMinor(&stmt.balance.Rat, cur); problem == "" {
			if m.Invert {
				amount = -amount
			}
			res.Statement = &Balance{Amount: amount, Date: stmt.balanceAsOf.Format(time.DateOnly)}
		}
	}
	return res, nil
}

// decodeOFX runs ofxgo without letting a panic in it reach the server.
func decodeOFX(body string) (resp *ofxgo.Response, err error) {
	defer func() {
		if p := recover(); p != nil {
			resp, err = nil, fmt.Errorf("%v", p)
		}
	}()
	// DecodeResponse without Valid: banks leave out elements the specification requires (a
	// payee's address, the language) that the import has no use for.
	return ofxgo.DecodeResponse(strings.NewReader(body))
}

// statement is what the import needs of a bank or a credit card statement.
type statement struct {
	currency     ofxgo.CurrSymbol
	transactions []ofxgo.Transaction
	balance      ofxgo.Amount
	balanceAsOf  time.Time
}

func oneStatement(resp *ofxgo.Response) (statement, error) {
	var all []statement
	for _, msg := range resp.Bank {
		if s, ok := msg.(*ofxgo.StatementResponse); ok {
			st := statement{currency: s.CurDef, balance: s.BalAmt, balanceAsOf: s.DtAsOf.Time}
			if s.BankTranList != nil {
				st.transactions = s.BankTranList.Transactions
			}
			all = append(all, st)
		}
	}
	for _, msg := range resp.CreditCard {
		if s, ok := msg.(*ofxgo.CCStatementResponse); ok {
			st := statement{currency: s.CurDef, balance: s.BalAmt, balanceAsOf: s.DtAsOf.Time}
			if s.BankTranList != nil {
				st.transactions = s.BankTranList.Transactions
			}
			all = append(all, st)
		}
	}
	switch {
	case len(all) == 1:
		return all[0], nil
	case len(all) > 1:
		return statement{}, fileError(ErrUnreadable, "This OFX file holds statements of %d accounts. Download one account at a time.", len(all))
	case len(resp.InvStmt) > 0:
		return statement{}, fileError(ErrUnreadable, "This OFX file holds an investment statement. Tally imports bank and credit card statements.")
	}
	return statement{}, fileError(ErrNoRows, "This OFX file holds no bank or credit card statement.")
}

func ofxRow(t ofxgo.Transaction, line int, cur money.Currency, invert bool) Row {
	row := Row{Line: line, Memo: string(t.Memo), ExternalID: string(t.FiTID)}
	switch {
	case t.Name != "":
		row.Payee = string(t.Name)
	case t.Payee != nil && t.Payee.Name != "":
		row.Payee = string(t.Payee.Name)
	default:
		row.Payee = string(t.ExtdName)
	}
	var problems []string
	posted := t.DtPosted.Time
	if posted.IsZero() && t.DtUser != nil {
		posted = t.DtUser.Time
	}
	switch {
	case posted.IsZero():
		problems = append(problems, "The date is missing.")
	case posted.Year() < 1900 || posted.Year() > 2199:
		problems = append(problems, fmt.Sprintf("The year %d is not in a bank statement.", posted.Year()))
	default:
		row.Date = posted.Format(time.DateOnly) // the bank's own day, in its time zone
	}
	if t.Currency != nil {
		if code := t.Currency.CurSym.String(); code != "XXX" && code != cur.Code {
			problems = append(problems, fmt.Sprintf("This amount is in %s and the account holds %s.", code, cur.Code))
		}
	}
	if amount, problem := ratMinor(&t.TrnAmt.Rat, cur); problem != "" {
		problems = append(problems, problem)
	} else if len(problems) == 0 {
		row.Amount = amount
		if invert {
			row.Amount = -amount
		}
	}
	row.Err = strings.Join(problems, " ")
	return row
}

// ratMinor converts an exact amount to minor units of cur, refusing what does not fit exactly.
func ratMinor(r *big.Rat, cur money.Currency) (int64, string) {
	exponent := max(cur.Exponent, 0)
	scaled := new(big.Int).Mul(r.Num(), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(exponent)), nil))
	q, rem := new(big.Int).QuoRem(scaled, r.Denom(), new(big.Int))
	if rem.Sign() != 0 {
		for n := exponent + 1; n <= 30; n++ {
			if new(big.Int).Rem(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil), r.Denom()).Sign() == 0 {
				return 0, tooManyDecimals(r.FloatString(n), n, cur)
			}
		}
		return 0, fmt.Sprintf("%s is not an amount.", r.FloatString(exponent+3))
	}
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(15+exponent)), nil)
	if new(big.Int).Abs(q).Cmp(limit) >= 0 {
		return 0, "The amount is larger than any amount Tally holds."
	}
	return q.Int64(), ""
}

// tagLines returns the physical line of each of the first n occurrences of tag in text. When
// there are not n, or two share a line (an OFX file written on one line), the rows are
// numbered 1 to n instead, so that a line still names one row.
func tagLines(text, tag string, n int) []int {
	lines := make([]int, 0, n)
	line, from := 1, 0
	for len(lines) < n {
		i := strings.Index(text[from:], tag)
		if i < 0 {
			break
		}
		line += countLines(text[from : from+i])
		if len(lines) > 0 && lines[len(lines)-1] == line {
			break
		}
		lines = append(lines, line)
		from += i + len(tag)
	}
	if len(lines) != n {
		lines = lines[:0]
		for i := range n {
			lines = append(lines, i+1)
		}
	}
	return lines
}

// countLines counts the line ends in s: "\n", "\r\n" and a lone "\r".
func countLines(s string) int {
	n := strings.Count(s, "\n") + strings.Count(s, "\r") - strings.Count(s, "\r\n")
	return n
}
