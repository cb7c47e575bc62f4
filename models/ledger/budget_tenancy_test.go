package ledger

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"gorm.io/gorm"

	"tally/money"
)

// budgetSnapshot is every budget amount of a user, as text: the tenancy snapshot does not read
// the budgets table, so the budget cases compare it themselves.
func budgetSnapshot(t *testing.T, db *gorm.DB, userID uint) string {
	t.Helper()
	var rows []struct {
		Month, Currency string
		CategoryID      uint
		Amount          int64
	}
	noErr(t, db.Raw(`SELECT month, currency, category_id, amount FROM budgets WHERE user_id = ? ORDER BY 1, 2, 3`, userID).Scan(&rows).Error)
	var out strings.Builder
	for _, r := range rows {
		fmt.Fprintln(&out, r.Month, r.Currency, r.CategoryID, r.Amount)
	}
	return out.String()
}

// categoryIDs is every category id of the fixture's user.
func (f *ledgerFixture) categoryIDs(t *testing.T) []uint {
	var ids []uint
	for _, c := range must[[]Category](t)(f.book.Categories()) {
		ids = append(ids, c.ID)
	}
	return ids
}

// withBudgets gives b's user budget amounts in January and February 2024, then runs call as a
// and checks that b's amounts did not change, nor (when refused) a's.
func withBudgets(refused bool, call func(t *testing.T, a, b *ledgerFixture)) tenancyCase {
	return tenancyCase{refused, func(t *testing.T, a, b *ledgerFixture) {
		for _, m := range []string{"2024-01", "2024-02"} {
			noErr(t, b.book.SetBudget(m, b.category, "USD", 40_00))
			noErr(t, b.book.SetBudget(m, b.category, "EUR", 4_00))
		}
		db := a.book.db
		theirs, mine := budgetSnapshot(t, db, b.book.userID), budgetSnapshot(t, db, a.book.userID)
		call(t, a, b)
		if budgetSnapshot(t, db, b.book.userID) != theirs {
			t.Error("the other user's budget changed")
		}
		if refused && budgetSnapshot(t, db, a.book.userID) != mine {
			t.Error("refused, yet the caller's budget changed")
		}
	}}
}

func init() {
	tenancyCases["CategoryReport"] = tenancyCase{true, func(t *testing.T, a, b *ledgerFixture) {
		_, err := a.book.CategoryReport("2024-01", "2024-12", b.checking)
		wantNotFound(t, "CategoryReport of their account", err)
		r := must[*CategoryReport](t)(a.book.CategoryReport("2024-01", "2024-12", 0))
		got := map[string]int64{}
		for _, s := range r.Series {
			noneOf(t, "CategoryReport", []uint{s.CategoryID}, b.categoryIDs(t)...)
			for i, v := range s.Totals {
				if v != 0 {
					got[fmt.Sprintf("%d %s %s", s.CategoryID, s.Currency, r.Months[i])] = v
				}
			}
		}
		if want := directSums(t, a.book.db, a.book.userID, "2024-01", "2024-12", 0); !reflect.DeepEqual(got, want) {
			t.Errorf("CategoryReport = %v, want the caller's rows %v", got, want)
		}
	}}
	tenancyCases["NetWorthReport"] = tenancyCase{true, func(t *testing.T, a, b *ledgerFixture) {
		_, err := a.book.NetWorthReport("2024-01", "2024-12", b.checking)
		wantNotFound(t, "NetWorthReport of their account", err)
		r := must[*NetWorthReport](t)(a.book.NetWorthReport("2024-01", "2049-12", 0))
		var got []money.Total
		for _, s := range r.Series {
			got = append(got, money.Total{Code: s.Currency, Minor: s.Balances[len(s.Balances)-1]})
		}
		if want := must[[]money.Total](t)(a.book.NetWorth()); !reflect.DeepEqual(got, want) {
			t.Errorf("NetWorthReport ends at %+v, net worth is %+v", got, want)
		}
	}}
	tenancyCases["FirstMonth"] = tenancyCase{true, func(t *testing.T, a, b *ledgerFixture) {
		_, err := a.book.FirstMonth(b.checking)
		wantNotFound(t, "FirstMonth of their account", err)
		var want string
		noErr(t, a.book.db.Raw(`SELECT substr(MIN(date), 1, 7) FROM transactions WHERE user_id = ?`, a.book.userID).Scan(&want).Error)
		if got := must[string](t)(a.book.FirstMonth(0)); got != want {
			t.Errorf("FirstMonth = %q, the caller's rows start in %q", got, want)
		}
	}}
	tenancyCases["BudgetMonth"] = withBudgets(true, func(t *testing.T, a, b *ledgerFixture) {
		r := must[*BudgetReport](t)(a.book.BudgetMonth("2024-02"))
		for _, l := range r.Lines {
			noneOf(t, "BudgetMonth", []uint{l.CategoryID}, b.categoryIDs(t)...)
			if l.HasBudget {
				t.Errorf("the caller has no budget, yet %+v", l)
			}
			if l.CategoryID == a.category && l.Activity != -5_00 {
				t.Errorf("the caller's category shows %+v", l)
			}
		}
	})
	tenancyCases["BudgetReport"] = withBudgets(true, func(t *testing.T, a, b *ledgerFixture) {
		_, err := a.book.BudgetReport("2024-01", "2024-12", b.checking)
		wantNotFound(t, "BudgetReport of their account", err)
		for _, l := range must[*BudgetReport](t)(a.book.BudgetReport("2024-01", "2024-12", 0)).Lines {
			noneOf(t, "BudgetReport", []uint{l.CategoryID}, b.categoryIDs(t)...)
		}
	})
	tenancyCases["SetBudget"] = withBudgets(true, func(t *testing.T, a, b *ledgerFixture) {
		wantNotFound(t, "SetBudget of their category", a.book.SetBudget("2024-02", b.category, "USD", 1))
	})
	tenancyCases["RemoveBudget"] = withBudgets(true, func(t *testing.T, a, b *ledgerFixture) {
		wantNotFound(t, "RemoveBudget of their category", a.book.RemoveBudget("2024-02", b.category, "USD"))
	})
	tenancyCases["CopyBudget"] = withBudgets(false, func(t *testing.T, a, b *ledgerFixture) {
		if n := must[int](t)(a.book.CopyBudget("2024-02")); n != 0 {
			t.Errorf("CopyBudget copied %d amounts; the caller had none", n)
		}
	})
	// A book told of the other user's accounts and categories still refuses their account, and
	// reports only the caller's rows.
	tenancyCases["Knowing"] = withBudgets(true, func(t *testing.T, a, b *ledgerFixture) {
		theirs := a.book.Knowing(must[[]Account](t)(b.book.Accounts(true)), must[[]Category](t)(b.book.Categories()))
		_, err := theirs.CategoryReport("2024-01", "2024-12", b.checking)
		wantNotFound(t, "CategoryReport of their account, knowing their accounts", err)
		_, err = theirs.BudgetReport("2024-01", "2024-12", b.checking)
		wantNotFound(t, "BudgetReport of their account, knowing their accounts", err)
		_, err = theirs.NetWorthReport("2024-01", "2024-12", b.checking)
		wantNotFound(t, "NetWorthReport of their account, knowing their accounts", err)
		for _, l := range must[*BudgetReport](t)(theirs.BudgetMonth("2024-02")).Lines {
			noneOf(t, "Knowing: BudgetMonth", []uint{l.CategoryID}, b.categoryIDs(t)...)
		}
		for _, s := range must[*CategoryReport](t)(theirs.CategoryReport("2024-01", "2024-12", 0)).Series {
			noneOf(t, "Knowing: CategoryReport", []uint{s.CategoryID}, b.categoryIDs(t)...)
		}
	})
	tenancyCases["AverageBudget"] = withBudgets(false, func(t *testing.T, a, b *ledgerFixture) {
		_, err := a.book.AverageBudget("2024-03", b.category)
		wantNotFound(t, "AverageBudget of their category", err)
		must[int](t)(a.book.AverageBudget("2024-03", 0))
		for _, l := range must[*BudgetReport](t)(a.book.BudgetMonth("2024-03")).Lines {
			noneOf(t, "AverageBudget", []uint{l.CategoryID}, b.categoryIDs(t)...)
			if l.CategoryID == a.category && l.Budgeted != 1_67 { // 5.00 over three months
				t.Errorf("the caller's average %+v", l)
			}
		}
	})
}
