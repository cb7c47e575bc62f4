package handlers

import (
	"github.com/gofiber/fiber/v2"

	"tally/models/ledger"
	"tally/views"
)

// CategoriesPage lists the groups and categories in the user's order, with the form to add one.
func (h *Handlers) CategoriesPage(c *fiber.Ctx) error {
	return h.renderCategories(c, fiber.StatusOK, views.CategoryForm{})
}

func (h *Handlers) renderCategories(c *fiber.Ctx, status int, f views.CategoryForm) error {
	b, err := h.book(c)
	if err != nil {
		return err
	}
	cats, err := b.Categories()
	if err != nil {
		return err
	}
	d := views.CategoriesData{Form: f, Groups: groupCategories(cats), GroupNames: groupNames(cats)}
	return h.render(c, page{Title: "Categories", Status: status, Body: views.CategoriesPage(d),
		Fragment: views.CategoryFormView(f, d.GroupNames)})
}

// groupCategories groups categories (in the user's order) by their group.
func groupCategories(cats []ledger.Category) []views.CategoryGroupItem {
	var out []views.CategoryGroupItem
	for i, c := range cats {
		if i == 0 || cats[i-1].GroupID != c.GroupID {
			out = append(out, views.CategoryGroupItem{Name: c.Group})
		}
		g := &out[len(out)-1]
		g.Categories = append(g.Categories, views.CategoryItem{ID: c.ID, Name: c.Name, IsIncome: c.IsIncome, Hidden: c.Hidden,
			First: len(g.Categories) == 0, Last: i == len(cats)-1 || cats[i+1].GroupID != c.GroupID})
	}
	return out
}

func groupNames(cats []ledger.Category) []string {
	var out []string
	for i, c := range cats {
		if i == 0 || cats[i-1].GroupID != c.GroupID {
			out = append(out, c.Group)
		}
	}
	return out
}

// CreateCategory adds a category at the end of its group (a new group when the name is new).
func (h *Handlers) CreateCategory(c *fiber.Ctx) error {
	var f views.CategoryForm
	if err := decodeForm(c, &f); err != nil {
		return err
	}
	b, err := h.book(c)
	if err != nil {
		return err
	}
	_, err = b.CreateCategory(ledger.CategoryInput{Name: f.Name, Group: f.Group, IsIncome: f.IsIncome})
	if err := fieldErrors(err, &f.Form, nil); err != nil {
		return err
	}
	if !f.Valid() {
		return h.renderCategories(c, fiber.StatusUnprocessableEntity, f)
	}
	h.flash(c, "Category “"+f.Name+"” added.")
	return h.redirect(c, "/categories")
}

// EditCategoryPage shows a category's form.
func (h *Handlers) EditCategoryPage(c *fiber.Ctx) error {
	b, cat, err := h.categoryFor(c)
	if err != nil {
		return err
	}
	f := views.CategoryForm{ID: cat.ID, Name: cat.Name, Group: cat.Group, IsIncome: cat.IsIncome, Hidden: cat.Hidden}
	return h.renderCategoryEdit(c, fiber.StatusOK, b, f)
}

func (h *Handlers) renderCategoryEdit(c *fiber.Ctx, status int, b *ledger.Book, f views.CategoryForm) error {
	cats, err := b.Categories()
	if err != nil {
		return err
	}
	return h.render(c, page{Title: "Edit category", Narrow: true, Status: status,
		Body: views.CategoryEditPage(f, groupNames(cats)), Fragment: views.CategoryFormView(f, groupNames(cats))})
}

// categoryFor loads the :id category of the signed-in user; another user's is not found.
func (h *Handlers) categoryFor(c *fiber.Ctx) (*ledger.Book, *ledger.Category, error) {
	return pathRecord(h, c, (*ledger.Book).Category)
}

// UpdateCategory renames, regroups, hides or shows a category.
func (h *Handlers) UpdateCategory(c *fiber.Ctx) error {
	b, cat, err := h.categoryFor(c)
	if err != nil {
		return err
	}
	f := views.CategoryForm{ID: cat.ID}
	if err := decodeForm(c, &f); err != nil {
		return err
	}
	_, err = b.UpdateCategory(cat.ID, ledger.CategoryInput{Name: f.Name, Group: f.Group, IsIncome: f.IsIncome, Hidden: f.Hidden})
	if err := fieldErrors(err, &f.Form, nil); err != nil {
		return err
	}
	if !f.Valid() {
		return h.renderCategoryEdit(c, fiber.StatusUnprocessableEntity, b, f)
	}
	h.flash(c, "Category “"+f.Name+"” saved.")
	return h.redirect(c, "/categories")
}

// MoveCategory moves a category up or down within its group.
func (h *Handlers) MoveCategory(c *fiber.Ctx) error {
	b, cat, err := h.categoryFor(c)
	if err != nil {
		return err
	}
	cats, err := b.Categories()
	if err != nil {
		return err
	}
	var ids []uint
	at := -1
	for _, other := range cats {
		if other.GroupID == cat.GroupID {
			if other.ID == cat.ID {
				at = len(ids)
			}
			ids = append(ids, other.ID)
		}
	}
	to := at - 1
	if form(c, "direction") == "down" {
		to = at + 1
	}
	if at >= 0 && to >= 0 && to < len(ids) {
		ids[at], ids[to] = ids[to], ids[at]
		if err := b.ReorderCategories(ids); err != nil {
			return err
		}
	}
	return h.redirect(c, "/categories")
}

// DeleteCategoryPage asks which category takes over the transactions.
func (h *Handlers) DeleteCategoryPage(c *fiber.Ctx) error {
	b, cat, err := h.categoryFor(c)
	if err != nil {
		return err
	}
	d, err := categoryDeleteData(b, cat)
	if err != nil {
		return err
	}
	return h.render(c, page{Title: "Delete category", Narrow: true, Body: views.CategoryDeletePage(d)})
}

func categoryDeleteData(b *ledger.Book, cat *ledger.Category) (views.CategoryDeleteData, error) {
	cats, err := b.Categories()
	d := views.CategoryDeleteData{ID: cat.ID, Name: cat.Name}
	for _, other := range cats {
		if other.ID != cat.ID {
			d.Targets = append(d.Targets, views.Option{Value: idString(other.ID), Label: other.Group + ": " + other.Name})
		}
	}
	return d, err
}

// DeleteCategory deletes a category, moving its transactions (and split parts) to the target.
func (h *Handlers) DeleteCategory(c *fiber.Ctx) error {
	b, cat, err := h.categoryFor(c)
	if err != nil {
		return err
	}
	d, err := categoryDeleteData(b, cat)
	if err != nil {
		return err
	}
	if err := decodeForm(c, &d); err != nil {
		return err
	}
	target, ok := formID(d.Target)
	if !ok {
		d.AddError("target_category_id", "Choose a category from the list.")
	} else {
		if err := fieldErrors(b.DeleteCategory(cat.ID, target), &d.Form, nil); err != nil {
			return err
		}
	}
	if !d.Valid() {
		return h.render(c, page{Title: "Delete category", Narrow: true, Status: fiber.StatusUnprocessableEntity,
			Body: views.CategoryDeletePage(d)})
	}
	h.flash(c, "Category “"+cat.Name+"” deleted.")
	return h.redirect(c, "/categories")
}
