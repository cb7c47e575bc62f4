package handlers

import (
	"errors"
	"strconv"
	"strings"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"tally/models"
	"tally/models/ledger"
	"tally/views"
)

// ledgerView is what a ledger page needs besides its rows: the user's book, the ledger version
// it was read at, and the accounts and categories by id (names and currencies) with the money
// format, from the cache while no write has moved the version.
type ledgerView struct {
	b       *ledger.Book
	version int64
	*ledgerData
}

func (h *Handlers) ledgerView(c *fiber.Ctx) (*ledgerView, error) {
	b, err := h.book(c)
	if err != nil {
		return nil, err
	}
	// The version before the data: what is read after it is at least as new.
	userID := currentUser(c).ID
	version, err := h.ledgerCache.versions.version(c, b, userID)
	if err != nil {
		return nil, err
	}
	d := h.ledgerCache.data(userID, version)
	if d == nil {
		if d, err = h.readLedgerData(c, b); err != nil {
			return nil, err
		}
		h.ledgerCache.putData(userID, version, d)
	}
	return &ledgerView{b: b, version: version, ledgerData: d}, nil
}

// readLedgerData reads what ledgerView holds. The number format is read again even when the
// request holds it: it must be no older than the version the data will be kept under.
func (h *Handlers) readLedgerData(c *fiber.Ctx, b *ledger.Book) (*ledgerData, error) {
	c.Locals(localMoney{}, nil)
	m, err := h.money(c)
	if err != nil {
		return nil, err
	}
	accounts, err := b.Accounts(true)
	if err != nil {
		return nil, err
	}
	cats, err := b.Categories()
	if err != nil {
		return nil, err
	}
	d := &ledgerData{m: m, accounts: accounts, accountsBy: make(map[uint]*ledger.Account, len(accounts)),
		categories: make(map[uint]ledger.Category, len(cats))}
	for i := range accounts {
		a := &accounts[i]
		d.accountsBy[a.ID] = a
		if !a.Closed {
			d.choices.Accounts = append(d.choices.Accounts, views.Option{Value: idString(a.ID), Label: a.Name})
		}
	}
	for _, cat := range cats {
		d.categories[cat.ID] = cat
		if !cat.Hidden {
			d.choices.Categories = append(d.choices.Categories, views.Option{Value: idString(cat.ID), Label: cat.Group + ": " + cat.Name})
		}
	}
	// Shared between requests: an append by a page must copy, never write into these.
	d.accounts = d.accounts[:len(d.accounts):len(d.accounts)]
	d.choices.Accounts = d.choices.Accounts[:len(d.choices.Accounts):len(d.choices.Accounts)]
	d.choices.Categories = d.choices.Categories[:len(d.choices.Categories):len(d.choices.Categories)]
	return d, nil
}

func idString(id uint) string { return strconv.FormatUint(uint64(id), 10) }

// row makes a ledger row into what the page shows.
func (v *ledgerView) row(r ledger.Row) views.TxRow {
	code := ""
	out := views.TxRow{ID: r.ID, Date: r.Date, Payee: r.Payee, Memo: r.Memo, AccountID: r.AccountID, IsOpening: r.IsOpening}
	if a := v.accountsBy[r.AccountID]; a != nil {
		code, out.Account = a.Currency, a.Name
	}
	out.Amount = v.m.Amount(r.Amount, code)
	out.Balance = v.m.Amount(r.Balance, code)
	switch {
	case r.IsOpening:
		out.Category = "Opening balance"
	case r.TransferAccountID != nil:
		out.Transfer = "another account"
		if a := v.accountsBy[*r.TransferAccountID]; a != nil {
			out.Transfer = a.Name
		}
	case len(r.Splits) > 0:
		out.Category = "Split"
	case r.CategoryID != nil:
		out.Category = v.categories[*r.CategoryID].Name
	}
	for _, s := range r.Splits {
		out.Splits = append(out.Splits, views.SplitRow{Category: v.categories[s.CategoryID].Name, Memo: s.Memo,
			Amount: v.m.Amount(s.Amount, code)})
	}
	return out
}

func (v *ledgerView) rows(rs []ledger.Row) []views.TxRow {
	out := make([]views.TxRow, len(rs))
	for i, r := range rs {
		out[i] = v.row(r)
	}
	return out
}

// AccountRegister is an account's transactions with running balances. For htmx it is the register
// section, or (X-Tally-Rows) the next page of rows alone. ?undo=ID offers to bring back a row
// deleted without JavaScript.
func (h *Handlers) AccountRegister(c *fiber.Ctx) error {
	var undo *views.UndoOffer
	if id, ok := formID(c.Query("undo")); ok && id != 0 {
		undo = &views.UndoOffer{ID: id}
	}
	return h.renderAccountRegister(c, fiber.StatusOK, nil, nil, undo)
}

// renderAccountRegister draws the :id account's register, with add as the add row (empty when nil),
// editing as a row being edited in place, and undo offering to bring back a deletion.
func (h *Handlers) renderAccountRegister(c *fiber.Ctx, status int, add, editing *views.TxForm, undo *views.UndoOffer) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	return h.renderRegisterOf(c, id, status, add, editing, undo)
}

func (h *Handlers) renderRegisterOf(c *fiber.Ctx, accountID uint, status int, add, editing *views.TxForm, undo *views.UndoOffer) error {
	v, err := h.ledgerView(c)
	if err != nil {
		return err
	}
	a := v.accountsBy[accountID]
	if a == nil {
		return models.ErrNotFound
	}
	if add == nil && editing == nil && undo == nil {
		return h.renderPlainRegister(c, v, a, status)
	}
	p, err := h.registerPage(c, v, a)
	if err != nil {
		return err
	}
	if isHTMX(c) && c.Get("X-Tally-Rows") == "1" {
		return h.render(c, page{Status: status, Fragment: views.MoreRows(p.Rows, p.More, true, 7)})
	}
	p.Editing, p.Undo = editing, undo
	if add != nil {
		p.Add = *add
	}
	p.Add.NoFocus = editing != nil
	return h.render(c, page{Title: a.Name, Status: status, Body: views.AccountRegister(p),
		Fragment: templ.Join(views.RegisterSection(p), views.AccountBalanceOOB(p.Account))})
}

// renderPlainRegister draws the register as every session of the user sees it, without a form
// typed into or an undo offered: kept per ledger version, page and day.
func (h *Handlers) renderPlainRegister(c *fiber.Ctx, v *ledgerView, a *ledger.Account, status int) error {
	k := pageKey{page: "register", account: a.ID, query: string(c.Request().URI().QueryString()), today: h.today()}
	rows := isHTMX(c) && c.Get("X-Tally-Rows") == "1"
	switch {
	case rows:
		k.page, k.fragment = "register rows", true
	case isHTMX(c):
		k.page, k.fragment = "register section", true
	}
	return h.keptPage(c, v, k, page{Title: a.Name, Status: status}, func() (templ.Component, int, error) {
		p, err := h.registerPage(c, v, a)
		switch {
		case err != nil:
			return nil, 0, err
		case rows:
			return views.MoreRows(p.Rows, p.More, true, 7), status, nil
		case k.fragment:
			return templ.Join(views.RegisterSection(p), views.AccountBalanceOOB(p.Account)), status, nil
		}
		return views.AccountRegister(p), status, nil
	})
}

// registerPage reads a page of the :id account's register (?cursor=) with an empty add row.
func (h *Handlers) registerPage(c *fiber.Ctx, v *ledgerView, a *ledger.Account) (views.RegisterData, error) {
	p, err := v.b.Register(a.ID, c.Query("cursor"), ledger.DefaultLimit)
	if errors.Is(err, ledger.ErrBadCursor) {
		return views.RegisterData{}, fiber.NewError(fiber.StatusBadRequest, "This page of the register does not exist. Go back to its first page.")
	} else if err != nil {
		return views.RegisterData{}, err
	}
	item := accountItem(v.m, *a)
	more := ""
	if p.Next != "" {
		more = item.URL() + "?cursor=" + p.Next
	}
	return views.RegisterData{Account: item, Rows: v.rows(p.Rows), More: more, Choices: v.choices,
		Add: views.TxForm{Date: h.today()}}, nil
}

// parseTx reads a posted transaction into the ledger's input, recording on f what cannot be
// read. Amounts are read in the currency of their account; an account that is not the user's is
// not found.
func (v *ledgerView) parseTx(f *views.TxForm) (ledger.TxInput, error) {
	var in ledger.TxInput
	id, ok := formID(f.AccountID)
	if !ok || id == 0 {
		f.AddError("account_id", "Choose an account.")
		return in, nil
	}
	a := v.accountsBy[id]
	if a == nil {
		return in, models.ErrNotFound
	}
	in.AccountID, in.Date, in.Payee, in.Memo = id, f.Date, f.Payee, f.Memo
	in.Amount = v.amount(f, "amount", f.Amount, a.Currency, true)
	if in.CategoryID, ok = formID(f.CategoryID); !ok {
		f.AddError("category_id", "Choose a category from the list.")
	}
	if in.TransferAccountID, ok = formID(f.TransferAccountID); !ok {
		f.AddError("transfer_account_id", "Choose an account from the list.")
	}
	if t := v.accountsBy[in.TransferAccountID]; t != nil && f.TransferAmount != "" {
		in.TransferAmount = v.amount(f, "transfer_amount", f.TransferAmount, t.Currency, false)
	} else if in.TransferAccountID != 0 && t == nil {
		return in, models.ErrNotFound
	}
	for i := 0; i < f.Parts(); i++ {
		catField, amountField := partField("split_category_id", i), partField("split_amount", i)
		cat, amount, memo := partOf(f.SplitCategoryIDs, i), partOf(f.SplitAmounts, i), partOf(f.SplitMemos, i)
		if cat == "" && amount == "" && memo == "" {
			continue // an empty part of the form is no part
		}
		s := ledger.SplitInput{Memo: memo}
		if s.CategoryID, ok = formID(cat); !ok {
			f.AddError(catField, "Choose a category from the list.")
		}
		s.Amount = v.amount(f, amountField, amount, a.Currency, true)
		in.Splits = append(in.Splits, s)
	}
	return in, nil
}

// amount parses one amount field; required says an empty one is an error.
func (v *ledgerView) amount(f *views.TxForm, field, s, code string, required bool) int64 {
	if s == "" {
		if required {
			f.AddError(field, "Enter an amount, with a minus for money out.")
		}
		return 0
	}
	n, msg := v.m.Parse(s, code)
	if msg != "" {
		f.AddError(field, msg)
	}
	return n
}

// partField is the ledger's name of a split part's field, "split_amount[2]".
func partField(name string, i int) string { return name + "[" + idString(uint(i)) + "]" }

func partOf(values []string, i int) string {
	if i < len(values) {
		return strings.TrimSpace(values[i])
	}
	return ""
}

// CreateTransaction adds a transaction from a register row or from its own page.
func (h *Handlers) CreateTransaction(c *fiber.Ctx) error {
	return h.saveTransaction(c, 0)
}

// UpdateTransaction edits a transaction (both legs of a transfer; a split's parts).
func (h *Handlers) UpdateTransaction(c *fiber.Ctx) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	return h.saveTransaction(c, id)
}

func (h *Handlers) saveTransaction(c *fiber.Ctx, id uint) error {
	f := views.TxForm{ID: id}
	if err := decodeForm(c, &f); err != nil {
		return err
	}
	v, err := h.ledgerView(c)
	if err != nil {
		return err
	}
	if id != 0 { // the transaction must be the user's before anything is said about the form
		if _, err := v.b.Transaction(id); err != nil {
			return err
		}
	}
	if f.AddPart {
		n := f.Parts() + 1
		f.SplitCategoryIDs, f.SplitAmounts, f.SplitMemos = padParts(f.SplitCategoryIDs, n), padParts(f.SplitAmounts, n), padParts(f.SplitMemos, n)
		return h.renderTxForm(c, fiber.StatusOK, v, f)
	}
	in, err := v.parseTx(&f)
	if err != nil {
		return err
	}
	if f.Valid() {
		code := v.accountsBy[in.AccountID].Currency
		if id == 0 {
			_, err = v.b.AddTransaction(in)
		} else {
			_, err = v.b.UpdateTransaction(id, in)
		}
		if err := v.m.applyLedgerErrors(err, &f.Form, code); err != nil {
			return err
		}
	}
	if !f.Valid() {
		return h.txFormInvalid(c, v, f, in.AccountID)
	}
	back := safeBack(f.Back, views.AccountItem{ID: in.AccountID}.URL())
	if f.Full || !isHTMX(c) {
		return h.redirect(c, back)
	}
	return h.renderRegisterOf(c, in.AccountID, fiber.StatusOK, nil, nil, nil)
}

// padParts makes values n long, so the three part fields stay aligned.
func padParts(values []string, n int) []string {
	for len(values) < n {
		values = append(values, "")
	}
	return values
}

// txFormInvalid answers 422 with the form and its errors where it was typed: its own page, or
// the register's add row or edited row.
func (h *Handlers) txFormInvalid(c *fiber.Ctx, v *ledgerView, f views.TxForm, accountID uint) error {
	if f.Full || accountID == 0 {
		return h.renderTxForm(c, fiber.StatusUnprocessableEntity, v, f)
	}
	if f.ID != 0 {
		return h.renderRegisterOf(c, accountID, fiber.StatusUnprocessableEntity, nil, &f, nil)
	}
	return h.renderRegisterOf(c, accountID, fiber.StatusUnprocessableEntity, &f, nil, nil)
}

// safeBack is a local path to return to, or def: never another site.
func safeBack(back, def string) string {
	if strings.HasPrefix(back, "/") && !strings.HasPrefix(back, "//") && !strings.ContainsAny(back, "\\\r\n") {
		return back
	}
	return def
}

// NewTransactionPage is the transaction's own page: every field, split parts (split=1 starts
// with two), and the account to choose.
func (h *Handlers) NewTransactionPage(c *fiber.Ctx) error {
	v, err := h.ledgerView(c)
	if err != nil {
		return err
	}
	f := views.TxForm{Date: h.today(), Full: true, AccountID: c.Query("account_id")}
	if id, ok := formID(f.AccountID); ok && id != 0 {
		if v.accountsBy[id] == nil {
			return models.ErrNotFound
		}
		f.Back = views.AccountItem{ID: id}.URL()
	}
	if c.Query("split") == "1" {
		f.SplitCategoryIDs, f.SplitAmounts, f.SplitMemos = make([]string, 2), make([]string, 2), make([]string, 2)
	}
	return h.renderTxForm(c, fiber.StatusOK, v, f)
}

// EditTransactionPage edits a transaction: in place in the register (htmx), else on its own page.
func (h *Handlers) EditTransactionPage(c *fiber.Ctx) error {
	_, r, err := pathRecord(h, c, (*ledger.Book).Transaction)
	if err != nil {
		return err
	}
	v, err := h.ledgerView(c)
	if err != nil {
		return err
	}
	f := v.formOf(*r)
	if isHTMX(c) && len(r.Splits) == 0 && !r.IsOpening {
		return h.render(c, page{Fragment: views.TxEditRow(f, v.choices, r.AccountID)})
	}
	f.Full = true
	return h.renderTxForm(c, fiber.StatusOK, v, f)
}

// formOf fills a form with a stored transaction, amounts in the user's format.
func (v *ledgerView) formOf(r ledger.Row) views.TxForm {
	code := v.accountsBy[r.AccountID].Currency
	f := views.TxForm{ID: r.ID, AccountID: idString(r.AccountID), Date: r.Date, Payee: r.Payee, Memo: r.Memo,
		Amount: v.m.Input(r.Amount, code), Back: views.AccountItem{ID: r.AccountID}.URL()}
	if r.CategoryID != nil {
		f.CategoryID = idString(*r.CategoryID)
	}
	if r.TransferAccountID != nil {
		f.TransferAccountID = idString(*r.TransferAccountID)
		if t := v.accountsBy[*r.TransferAccountID]; t != nil && t.Currency != code && r.TransferAmount != nil {
			f.TransferAmount = v.m.Input(*r.TransferAmount, t.Currency)
		}
	}
	for _, s := range r.Splits {
		f.SplitCategoryIDs = append(f.SplitCategoryIDs, idString(s.CategoryID))
		f.SplitAmounts = append(f.SplitAmounts, v.m.Input(s.Amount, code))
		f.SplitMemos = append(f.SplitMemos, s.Memo)
	}
	return f
}

func (h *Handlers) renderTxForm(c *fiber.Ctx, status int, v *ledgerView, f views.TxForm) error {
	f.Full = true
	title := "New transaction"
	if f.ID != 0 {
		title = "Edit transaction"
	}
	return h.render(c, page{Title: title, Status: status, Narrow: true,
		Body: views.TxFormPage(title, f, v.choices), Fragment: views.TxFormView(f, v.choices)})
}

// DeleteTransaction deletes a transaction (both legs of a transfer), which can be undone for a
// few minutes: the register redraws with an Undo, the list leaves an undo row in its place.
func (h *Handlers) DeleteTransaction(c *fiber.Ctx) error {
	b, r, err := pathRecord(h, c, (*ledger.Book).Transaction)
	if err != nil {
		return err
	}
	id := r.ID
	if err := b.DeleteTransaction(id); err != nil {
		return err
	}
	undo := &views.UndoOffer{ID: id, Payee: r.Payee}
	switch {
	case !isHTMX(c):
		h.flash(c, "Deleted “"+r.Payee+"”. To bring it back, use Undo on the register within a few minutes.")
		return h.redirect(c, views.AccountItem{ID: r.AccountID}.URL()+"?undo="+idString(id))
	case c.Get("HX-Target") == "register":
		return h.renderRegisterOf(c, r.AccountID, fiber.StatusOK, nil, nil, undo)
	}
	return h.render(c, page{Fragment: views.UndoRow(*undo, 6)})
}

// UndoDeleteTransaction brings a deleted transaction back.
func (h *Handlers) UndoDeleteTransaction(c *fiber.Ctx) error {
	id, err := pathID(c)
	if err != nil {
		return err
	}
	b, err := h.book(c)
	if err != nil {
		return err
	}
	err = b.UndoDelete(id)
	if errors.Is(err, ledger.ErrUndoExpired) {
		return fiber.NewError(fiber.StatusConflict, "It is too late to undo this deletion.")
	} else if err != nil {
		return err
	}
	v, err := h.ledgerView(c)
	if err != nil {
		return err
	}
	r, err := v.b.Transaction(id)
	if err != nil {
		return err
	}
	switch {
	case !isHTMX(c):
		h.flash(c, "The transaction is back.")
		return h.redirect(c, views.AccountItem{ID: r.AccountID}.URL())
	case c.Get("HX-Target") == "register":
		return h.renderRegisterOf(c, r.AccountID, fiber.StatusOK, nil, nil, nil)
	}
	return h.render(c, page{Fragment: views.TxRowView(v.row(*r), false)})
}

// SuggestPayees offers the user's own payees that start with what is typed, most used first.
func (h *Handlers) SuggestPayees(c *fiber.Ctx) error {
	b, err := h.book(c)
	if err != nil {
		return err
	}
	prefix := strings.TrimSpace(c.Query("payee"))
	var payees []string
	if prefix != "" {
		if payees, err = b.Payees(prefix, 8); err != nil {
			return err
		}
	}
	return h.render(c, page{Fragment: views.PayeeOptions(payees)})
}

// SuggestCategory answers a row's category select with the category last used with the payee
// chosen, when the row has none yet.
func (h *Handlers) SuggestCategory(c *fiber.Ctx) error {
	v, err := h.ledgerView(c)
	if err != nil {
		return err
	}
	formID := c.Query("form")
	if formID != "tx-add" && !strings.HasPrefix(formID, "tx-edit-") {
		return fiber.ErrBadRequest
	}
	selected := c.Query("category_id")
	if payee := strings.TrimSpace(c.Query("payee")); selected == "" && payee != "" {
		id, err := v.b.CategoryForPayee(payee)
		if err != nil {
			return err
		}
		if id != 0 {
			selected = idString(id)
		}
	}
	return h.render(c, page{Fragment: views.CategorySelect(formID, selected, "", v.choices)})
}
