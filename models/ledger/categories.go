package ledger

import (
	"fmt"
	"sort"
	"strings"
)

// CategoryInput is a new or edited category. Group is a group's name: an existing group (any
// case) or a new one.
type CategoryInput struct {
	Name, Group      string
	IsIncome, Hidden bool
}

// DefaultCategories is the small set a new account holder starts with, group by group; it is
// theirs to edit.
var DefaultCategories = []struct {
	Group      string
	IsIncome   bool
	Categories []string
}{
	{"Income", true, []string{"Salary", "Other income"}},
	{"Housing", false, []string{"Rent or mortgage", "Utilities", "Insurance"}},
	{"Food", false, []string{"Groceries", "Eating out"}},
	{"Transport", false, []string{"Public transport", "Car"}},
	{"Health", false, []string{"Health care"}},
	{"Fun", false, []string{"Entertainment", "Holidays"}},
	{"Other", false, []string{"Gifts", "Miscellaneous"}},
}

const categorySelect = `SELECT c.id, c.user_id, c.group_id, g.name AS group_name, c.name, c.name_key, c.is_income,
	c.hidden, c.position, c.created_at, c.updated_at, g.position AS group_position
FROM categories c JOIN category_groups g ON g.user_id = c.user_id AND g.id = c.group_id`

// SortCategories puts categories in the order Categories lists them: by group (position, then
// id), then by position and id within the group.
func SortCategories(cs []Category) {
	sort.Slice(cs, func(i, j int) bool {
		a, b := cs[i], cs[j]
		switch {
		case a.GroupPosition != b.GroupPosition:
			return a.GroupPosition < b.GroupPosition
		case a.GroupID != b.GroupID:
			return a.GroupID < b.GroupID
		case a.Position != b.Position:
			return a.Position < b.Position
		}
		return a.ID < b.ID
	})
}

// Categories lists every category (hidden ones too) in the order the user gave groups and
// categories.
func (b *Book) Categories() ([]Category, error) {
	var cs []Category
	err := b.db.Raw(categorySelect+` WHERE c.user_id = ? ORDER BY g.position, g.id, c.position, c.id`, b.userID).Scan(&cs).Error
	return cs, wrap("categories", err)
}

// Category returns one category.
func (b *Book) Category(id uint) (*Category, error) {
	if id == 0 {
		return nil, ErrNotFound
	}
	var cs []Category
	if err := b.db.Raw(categorySelect+` WHERE c.user_id = ? AND c.id = ?`, b.userID, id).Scan(&cs).Error; err != nil {
		return nil, wrap("category", err)
	}
	if len(cs) == 0 {
		return nil, ErrNotFound
	}
	return &cs[0], nil
}

func (p *problems) checkCategory(in CategoryInput) {
	p.checkText("name", in.Name, 100, "Enter a name for the category.")
	p.checkText("group", in.Group, 100, "Enter a group for the category.")
}

const duplicateCategory = "You already have a category with this name."

// CreateCategory adds a category at the end of its group, making the group when it is new.
func (b *Book) CreateCategory(in CategoryInput) (*Category, error) {
	var p problems
	p.checkCategory(in)
	if err := p.err(); err != nil {
		return nil, err
	}
	var id uint
	err := b.write(func(tx *Book) error {
		if err := tx.uniqueCategoryName(nameKey(in.Name), 0); err != nil {
			return err
		}
		c, err := tx.newCategory(in)
		id = c.ID
		return err
	})
	if err != nil {
		return nil, wrap("create category", duplicateName(err, "name", duplicateCategory))
	}
	return b.Category(id)
}

func (b *Book) newCategory(in CategoryInput) (*Category, error) {
	groupID, err := b.groupNamed(in.Group)
	if err != nil {
		return nil, err
	}
	pos, err := b.nextPosition("categories", "group_id = ?", groupID)
	if err != nil {
		return nil, err
	}
	now := b.now()
	c := &Category{UserID: b.userID, GroupID: groupID, Name: in.Name, NameKey: nameKey(in.Name),
		IsIncome: in.IsIncome, Hidden: in.Hidden, Position: pos, CreatedAt: now, UpdatedAt: now}
	return c, b.db.Create(c).Error
}

// groupNamed finds the user's group of that name, ignoring case, or creates it at the end.
func (b *Book) groupNamed(name string) (uint, error) {
	var g CategoryGroup
	if err := b.scoped("category_groups").Where("name_key = ?", nameKey(name)).Limit(1).Find(&g).Error; err != nil || g.ID != 0 {
		return g.ID, err
	}
	pos, err := b.nextPosition("category_groups", "1 = 1")
	if err != nil {
		return 0, err
	}
	g = CategoryGroup{UserID: b.userID, Name: name, NameKey: nameKey(name), Position: pos}
	err = b.db.Create(&g).Error
	return g.ID, err
}

func (b *Book) nextPosition(table, cond string, args ...any) (int, error) {
	var pos int
	err := b.scoped(table).Where(cond, args...).Select("COALESCE(MAX(position), -1) + 1").Scan(&pos).Error
	return pos, err
}

func (b *Book) uniqueCategoryName(key string, except uint) error {
	var n int64
	err := b.scoped("categories").Where("name_key = ? AND id <> ?", key, except).Count(&n).Error
	if err == nil && n > 0 {
		return invalid("name", duplicateCategory)
	}
	return err
}

// UpdateCategory changes a category's name, group (it moves to the end of the new one),
// income flag and hidden flag.
func (b *Book) UpdateCategory(id uint, in CategoryInput) (*Category, error) {
	var p problems
	p.checkCategory(in)
	if err := p.err(); err != nil {
		return nil, err
	}
	err := b.write(func(tx *Book) error {
		var c Category
		if err := tx.first("categories", id, &c); err != nil {
			return err
		}
		if err := tx.uniqueCategoryName(nameKey(in.Name), id); err != nil {
			return err
		}
		groupID, err := tx.groupNamed(in.Group)
		if err != nil {
			return err
		}
		pos := c.Position
		if groupID != c.GroupID {
			if pos, err = tx.nextPosition("categories", "group_id = ?", groupID); err != nil {
				return err
			}
		}
		if err := tx.scoped("categories").Where("id = ?", id).Updates(map[string]any{
			"name": in.Name, "name_key": nameKey(in.Name), "group_id": groupID, "position": pos,
			"is_income": in.IsIncome, "hidden": in.Hidden, "updated_at": b.now()}).Error; err != nil {
			return err
		}
		return tx.dropEmptyGroups()
	})
	if err != nil {
		return nil, wrap("update category", duplicateName(err, "name", duplicateCategory))
	}
	return b.Category(id)
}

func (b *Book) dropEmptyGroups() error {
	return b.db.Exec(`DELETE FROM category_groups WHERE user_id = ? AND NOT EXISTS
		(SELECT 1 FROM categories c WHERE c.user_id = category_groups.user_id AND c.group_id = category_groups.id)`, b.userID).Error
}

// DeleteCategory deletes a category and moves its transactions (split parts and rows waiting
// for an undo included) to targetID in the same transaction, so no row is left without the
// category it had. targetID is required when the category is in use, and 0 otherwise.
func (b *Book) DeleteCategory(id, targetID uint) error {
	return wrap("delete category", b.write(func(tx *Book) error {
		if err := tx.first("categories", id, &Category{}); err != nil {
			return err
		}
		if targetID == id {
			return invalid("target_category_id", "Choose another category for its transactions.")
		}
		if targetID != 0 {
			if err := tx.first("categories", targetID, &Category{}); err != nil {
				return err
			}
		}
		var held struct{ Rows, Budgets int64 }
		if err := tx.db.Raw(`SELECT (SELECT COUNT(*) FROM transactions WHERE user_id = ? AND category_id = ?)
			+ (SELECT COUNT(*) FROM deleted_transactions WHERE user_id = ? AND category_id = ?) AS rows,
			(SELECT COUNT(*) FROM budgets WHERE user_id = ? AND category_id = ? AND amount > 0) AS budgets`,
			b.userID, id, b.userID, id, b.userID, id).Scan(&held).Error; err != nil {
			return err
		}
		if targetID == 0 && (held.Rows > 0 || held.Budgets > 0) {
			return invalid("target_category_id", "Choose a category for its "+heldWords(held.Rows, held.Budgets)+".")
		}
		if held.Rows > 0 {
			for _, table := range []string{"transactions", "deleted_transactions"} {
				if err := tx.db.Exec(`UPDATE `+table+` SET category_id = ?, updated_at = ? WHERE user_id = ? AND category_id = ?`,
					targetID, b.now(), b.userID, id).Error; err != nil {
					return err
				}
			}
		}
		// The budget goes with the transactions: the target's amount for a month and currency
		// becomes the sum of both, so the month's total budget stays what the user planned.
		if held.Budgets > 0 {
			if err := tx.db.Exec(`INSERT INTO budgets (user_id, month, category_id, currency, amount, updated_at)
				SELECT user_id, month, ?, currency, amount, ? FROM budgets WHERE user_id = ? AND category_id = ?
				ON CONFLICT (user_id, month, category_id, currency)
				DO UPDATE SET amount = budgets.amount + excluded.amount, updated_at = excluded.updated_at`,
				targetID, b.now(), b.userID, id).Error; err != nil {
				return err
			}
		}
		if err := tx.db.Exec(`DELETE FROM categories WHERE user_id = ? AND id = ?`, b.userID, id).Error; err != nil {
			return err
		}
		return tx.dropEmptyGroups()
	}))
}

// heldWords names what a category about to be deleted still holds: "2 transactions", "its
// budget amounts" or both.
func heldWords(rows, budgets int64) string {
	var parts []string
	if rows > 0 {
		parts = append(parts, fmt.Sprintf("%d %s", rows, plural(rows, "transaction", "transactions")))
	}
	if budgets > 0 {
		parts = append(parts, "budget amounts")
	}
	return strings.Join(parts, " and ")
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// ReorderCategories gives the categories the order of ids (within each group, the categories'
// order follows ids). Every id must be the user's, or nothing changes.
func (b *Book) ReorderCategories(ids []uint) error {
	return wrap("reorder categories", b.reorder("categories", ids))
}

// ReorderGroups gives the category groups the order of ids.
func (b *Book) ReorderGroups(ids []uint) error {
	return wrap("reorder groups", b.reorder("category_groups", ids))
}

func (b *Book) reorder(table string, ids []uint) error {
	return b.write(func(tx *Book) error {
		seen := map[uint]bool{}
		for _, id := range ids {
			if id == 0 || seen[id] {
				return ErrNotFound
			}
			seen[id] = true
		}
		var n int64
		if err := tx.scoped(table).Where("id IN ?", ids).Count(&n).Error; err != nil {
			return err
		}
		if int(n) != len(ids) {
			return ErrNotFound
		}
		for i, id := range ids {
			if err := tx.scoped(table).Where("id = ?", id).Update("position", i).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

// CategoryGroups lists the groups in order.
func (b *Book) CategoryGroups() ([]CategoryGroup, error) {
	var gs []CategoryGroup
	err := b.scoped("category_groups").Order("position, id").Find(&gs).Error
	return gs, wrap("category groups", err)
}

// RenameGroup renames a category group.
func (b *Book) RenameGroup(id uint, name string) error {
	var p problems
	p.checkText("group", name, 100, "Enter a name for the group.")
	if err := p.err(); err != nil {
		return err
	}
	const duplicate = "You already have a group with this name."
	err := b.write(func(tx *Book) error {
		if err := tx.first("category_groups", id, &CategoryGroup{}); err != nil {
			return err
		}
		var n int64
		if err := tx.scoped("category_groups").Where("name_key = ? AND id <> ?", nameKey(name), id).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return invalid("group", duplicate)
		}
		return tx.scoped("category_groups").Where("id = ?", id).Updates(map[string]any{"name": name, "name_key": nameKey(name)}).Error
	})
	return wrap("rename group", duplicateName(err, "group", duplicate))
}

// SeedDefaults gives a user without categories the DefaultCategories; a user who has any keeps
// theirs, so calling it again changes nothing.
func (b *Book) SeedDefaults() error {
	return wrap("seed categories", b.write(func(tx *Book) error {
		var n int64
		if err := tx.scoped("categories").Count(&n).Error; err != nil || n > 0 {
			return err
		}
		for _, g := range DefaultCategories {
			for _, name := range g.Categories {
				if _, err := tx.newCategory(CategoryInput{Name: name, Group: g.Group, IsIncome: g.IsIncome}); err != nil {
					return err
				}
			}
		}
		return nil
	}))
}
