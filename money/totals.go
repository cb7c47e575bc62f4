package money

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrOverflow is wrapped by Totals.Add when a sum would leave int64's range.
var ErrOverflow = errors.New("money: total out of range")

// Totals sums amounts per currency code. Amounts in different currencies are never added to
// each other: a ledger has no exchange rate that would make that sum mean anything.
// The zero value is empty and ready to use.
type Totals struct {
	byCode map[string]int64
}

// Total is the sum of one currency's amounts, in its minor units.
type Total struct {
	Code  string
	Minor int64
}

// Add adds minor units to code's total. A sum that would overflow int64 returns ErrOverflow
// and leaves the total as it was, rather than wrapping to a wrong sign.
func (t *Totals) Add(code string, minor int64) error {
	code = strings.ToUpper(code)
	sum := t.byCode[code]
	next := sum + minor
	if (minor > 0 && next < sum) || (minor < 0 && next > sum) {
		return fmt.Errorf("%w: %s %d + %d", ErrOverflow, code, sum, minor)
	}
	if t.byCode == nil {
		t.byCode = make(map[string]int64)
	}
	t.byCode[code] = next
	return nil
}

// List returns every currency's total in code order, zero totals included: a currency whose
// amounts cancel out was still used.
func (t *Totals) List() []Total {
	list := make([]Total, 0, len(t.byCode))
	for code, minor := range t.byCode {
		list = append(list, Total{Code: code, Minor: minor})
	}
	slices.SortFunc(list, func(a, b Total) int { return strings.Compare(a.Code, b.Code) })
	return list
}
