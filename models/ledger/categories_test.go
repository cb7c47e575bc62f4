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
	noErr(t, b.DeleteCategory(eatingOut.ID, groceries.ID))
	if r := must[*Row](t)(b.Transaction(plain.ID)); *r.CategoryID != groceries.ID {
		t.Errorf("plain row's category = %d", *r.CategoryID)
	}
	if r := must[*Row](t)(b.Transaction(split.ID)); r.Splits[0].CategoryID != groceries.ID {
		t.Errorf("split part's category = %d", r.Splits[0].CategoryID)
	}
	noErr(t, b.DeleteCategory(byName["Holidays"].ID, 0)) // unused: no target needed
	noErr(t, b.DeleteCategory(byName["Entertainment"].ID, 0))
	for _, g := range must[[]CategoryGroup](t)(b.CategoryGroups()) {
		if g.Name == "Fun" {
			t.Error("the emptied group Fun is still there")
		}
	}
}
