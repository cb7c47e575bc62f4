package ledger

import (
	"strings"
	"testing"
)

func TestCategories(t *testing.T) {
	db := openTestDB(t)
	b := newBook(t, db, newUser(t, db, "ada"))
	noErr(t, b.SeedDefaults())
	noErr(t, b.SeedDefaults())
	cs := must[[]Category](t)(b.Categories())
	want := 0
	for _, g := range DefaultCategories {
		want += len(g.Categories)
	}
	if len(cs) != want || cs[0].Group != "Income" || !cs[0].IsIncome || cs[0].Name != "Salary" {
		t.Fatalf("seeded %d categories (want %d), first %+v", len(cs), want, cs[0])
	}
	byName := map[string]Category{}
	for _, c := range cs {
		byName[c.Name] = c
	}
	groceries, eatingOut, gifts := byName["Groceries"], byName["Eating out"], byName["Gifts"]

	moved := must[*Category](t)(b.UpdateCategory(gifts.ID, CategoryInput{Name: "Presents", Group: "food", Hidden: true}))
	if moved.Group != "Food" || !moved.Hidden || moved.Position != 2 {
		t.Errorf("moved = %+v", moved)
	}
	if _, err := b.CreateCategory(CategoryInput{Name: "presents", Group: "Other"}); validation(t, err).Fields["name"] == "" {
		t.Error("duplicate category accepted")
	}
	noErr(t, b.ReorderCategories([]uint{moved.ID, eatingOut.ID, groceries.ID}))
	cs = must[[]Category](t)(b.Categories())
	var food []string
	for _, c := range cs {
		if c.Group == "Food" {
			food = append(food, c.Name)
		}
	}
	if strings.Join(food, ",") != "Presents,Eating out,Groceries" {
		t.Errorf("food = %v", food)
	}
	groups := must[[]CategoryGroup](t)(b.CategoryGroups())
	noErr(t, b.ReorderGroups([]uint{groups[2].ID, groups[0].ID}))
	noErr(t, b.RenameGroup(groups[2].ID, "Meals"))
	if cs := must[[]Category](t)(b.Categories()); cs[0].Group != "Meals" {
		t.Errorf("first group = %q", cs[0].Group)
	}

	a := mustAccount(t, b, "Cash", "USD", 0)
	plain := mustAdd(t, b, TxInput{AccountID: a.ID, Date: "2024-01-01", Amount: -1, CategoryID: eatingOut.ID})
	split := mustAdd(t, b, TxInput{AccountID: a.ID, Date: "2024-01-02", Amount: -3, Splits: []SplitInput{{eatingOut.ID, -1, ""}, {groceries.ID, -2, ""}}})

	err := b.DeleteCategory(eatingOut.ID, 0)
	if msg := validation(t, err).Fields["target_category_id"]; msg != "Choose a category for its 2 transactions." {
		t.Errorf("message = %q", msg)
	}
	if err := b.DeleteCategory(eatingOut.ID, eatingOut.ID); validation(t, err).Fields["target_category_id"] == "" {
		t.Error("target = itself accepted")
	}
	// Budget amounts move with the rows: added to the target's for the same month and currency.
	noErr(t, b.SetBudget("2024-01", eatingOut.ID, "USD", 5000))
	noErr(t, b.SetBudget("2024-01", groceries.ID, "USD", 30000))
	noErr(t, b.SetBudget("2024-02", eatingOut.ID, "USD", 4000))
	noErr(t, b.SetBudget("2024-01", eatingOut.ID, "EUR", 700))
	noErr(t, b.DeleteCategory(eatingOut.ID, groceries.ID))
	for _, tc := range []struct {
		month, currency string
		want            int64
	}{{"2024-01", "USD", 35000}, {"2024-02", "USD", 4000}, {"2024-01", "EUR", 700}} {
		rep := must[*BudgetReport](t)(b.BudgetMonth(tc.month))
		if got, ok := budgetOf(rep, groceries.ID, tc.currency); !ok || got != tc.want {
			t.Errorf("groceries' budget for %s %s = %d (%v), want %d", tc.month, tc.currency, got, ok, tc.want)
		}
	}
	var left int64
	noErr(t, b.db.Raw(`SELECT COUNT(*) FROM budgets WHERE user_id = ? AND category_id = ?`, b.userID, eatingOut.ID).Scan(&left).Error)
	if left != 0 {
		t.Errorf("%d budget rows left on the deleted category", left)
	}
	if r := must[*Row](t)(b.Transaction(plain.ID)); *r.CategoryID != groceries.ID {
		t.Errorf("plain row's category = %d", *r.CategoryID)
	}
	if r := must[*Row](t)(b.Transaction(split.ID)); r.Splits[0].CategoryID != groceries.ID {
		t.Errorf("split part's category = %d", r.Splits[0].CategoryID)
	}
	noErr(t, b.SetBudget("2024-03", byName["Holidays"].ID, "USD", 100))
	if msg := validation(t, b.DeleteCategory(byName["Holidays"].ID, 0)).Fields["target_category_id"]; msg != "Choose a category for its budget amounts." {
		t.Errorf("a budgeted category without rows: message = %q", msg)
	}
	noErr(t, b.SetBudget("2024-03", byName["Holidays"].ID, "USD", 0)) // a zero amount holds nothing
	noErr(t, b.DeleteCategory(byName["Holidays"].ID, 0))              // unused: no target needed
	noErr(t, b.DeleteCategory(byName["Entertainment"].ID, 0))
	for _, g := range must[[]CategoryGroup](t)(b.CategoryGroups()) {
		if g.Name == "Fun" {
			t.Error("the emptied group Fun is still there")
		}
	}
}

// budgetOf is the amount budgeted for a category in a currency in rep, and whether one is set.
func budgetOf(rep *BudgetReport, categoryID uint, currency string) (int64, bool) {
	for _, l := range rep.Lines {
		if l.CategoryID == categoryID && l.Currency == currency {
			return l.Budgeted, l.HasBudget
		}
	}
	return 0, false
}
