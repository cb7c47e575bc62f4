package views

import (
	"strconv"

	"tally/views/charts"
)

// Amount is money formatted for the page: the text in the user's number format, whether it is
// money out (shown in the negative style, never by colour alone: the sign is in the text), and
// its currency code.
type Amount struct {
	Text     string
	Negative bool
	Currency string
}

// AccountItem is one account as lists show it.
type AccountItem struct {
	ID       uint
	Name     string
	Kind     string // one of ledger.Kinds
	Currency string
	Balance  Amount
	Closed   bool
}

// URL is the account's register.
func (a AccountItem) URL() string { return "/accounts/" + strconv.FormatUint(uint64(a.ID), 10) }

// KindLabel names an account kind for people.
func KindLabel(kind string) string {
	switch kind {
	case "checking":
		return "Checking"
	case "savings":
		return "Savings"
	case "credit_card":
		return "Credit card"
	case "cash":
		return "Cash"
	case "investment":
		return "Investment"
	case "loan":
		return "Loan"
	}
	return kind
}

// AccountForm is the new-account form with what the user typed.
type AccountForm struct {
	Form
	Name           string `form:"name"`
	Kind           string `form:"kind"`
	Currency       string `form:"currency"`
	OpeningBalance string `form:"opening_balance"`
	OpeningDate    string `form:"opening_date"`
}

// AccountEditForm renames an account or changes its kind.
type AccountEditForm struct {
	Form
	ID   uint
	Name string `form:"name"`
	Kind string `form:"kind"`
}

// AccountsData is the accounts page.
type AccountsData struct {
	Open, Closed []AccountItem
	// Totals are per currency, never summed across currencies.
	Totals     []Amount
	Form       AccountForm
	Kinds      []Option
	Currencies []Option
}

func idString(id uint) string { return strconv.FormatUint(uint64(id), 10) }

// TxRow is one transaction as the register and the list show it.
type TxRow struct {
	ID        uint
	Date      string
	Payee     string
	Memo      string
	Category  string // the category's name, "Split", "Transfer" or ""
	Account   string // the account's name (the list across accounts shows it)
	AccountID uint
	// Transfer names the other account of a transfer.
	Transfer string
	Amount   Amount
	// Balance is the account's balance after the row (the register only).
	Balance   Amount
	Splits    []SplitRow
	IsOpening bool
}

// SplitRow is one part of a split.
type SplitRow struct {
	Category string
	Memo     string
	Amount   Amount
}

// URL is the row's edit page.
func (r TxRow) EditURL() string { return "/transactions/" + idString(r.ID) + "/edit" }

// TxForm is a transaction as its form posts it (the field names are the API's contract).
type TxForm struct {
	Form
	ID                uint     // 0 for a new transaction
	AccountID         string   `form:"account_id"`
	Date              string   `form:"date"`
	Payee             string   `form:"payee"`
	Memo              string   `form:"memo"`
	Amount            string   `form:"amount"`
	CategoryID        string   `form:"category_id"`
	TransferAccountID string   `form:"transfer_account_id"`
	TransferAmount    string   `form:"transfer_amount"`
	SplitCategoryIDs  []string `form:"split_category_id"`
	SplitAmounts      []string `form:"split_amount"`
	SplitMemos        []string `form:"split_memo"`
	// AddPart is the "Add a part" button: the form comes back with one more part, unsaved.
	AddPart bool `form:"add_part"`
	// NoFocus keeps an untouched row from taking the focus (another row has it).
	NoFocus bool
	// Full is set by the transaction's own page (with split parts), as opposed to a register row.
	Full bool `form:"full"`
	// Back is where the form returns after saving: the register it came from, or the list.
	Back string `form:"back"`
}

// Parts is the number of split parts the form shows.
func (f TxForm) Parts() int {
	return max(len(f.SplitCategoryIDs), len(f.SplitAmounts), len(f.SplitMemos))
}

func partValue(values []string, i int) string {
	if i < len(values) {
		return values[i]
	}
	return ""
}

// TxChoices are the options of a transaction form.
type TxChoices struct {
	Accounts   []Option // every open account (the transfer's other side)
	Categories []Option // visible categories, "Group: Name"
}

// RegisterData is an account's register page.
type RegisterData struct {
	Account AccountItem
	Rows    []TxRow
	// More is the URL of the next page ("" at the end).
	More string
	Add  TxForm
	// Editing, when set, is the row being edited in place (with its errors).
	Editing *TxForm
	Choices TxChoices
	// Undo, when set, offers to bring back a row just deleted.
	Undo *UndoOffer
}

// UndoOffer is the "Deleted. Undo" notice after a deletion.
type UndoOffer struct {
	ID    uint
	Payee string
}

// TxFilter is the list's filter form; it lives in the URL (GET), so Back and shared links work.
type TxFilter struct {
	Form
	AccountID  string `query:"account_id"`
	CategoryID string `query:"category_id"`
	From       string `query:"from"`
	To         string `query:"to"`
	Q          string `query:"q"`
	Min        string `query:"min"`
	Max        string `query:"max"`
	// Uncategorized ("1"), Flow and Currency name the rows behind a report's marks: the rows
	// without a category, a side of the cash flow, the accounts in one currency.
	Uncategorized string `query:"uncategorized"`
	Flow          string `query:"flow"`
	Currency      string `query:"currency"`
}

// TransactionsData is the list of every account's transactions.
type TransactionsData struct {
	Filter  TxFilter
	Rows    []TxRow
	More    string
	Choices TxChoices
	// Currencies are the filter's currency choices, offered when there are several.
	Currencies []Option
	// Flows are the filter's cash-flow choices.
	Flows []Option
	// Filtered says a filter is set (the empty state words differ).
	Filtered bool
	// Export is the CSV download of the list as filtered.
	Export string
}

// CategoryItem is one category on the categories page.
type CategoryItem struct {
	ID       uint
	Name     string
	IsIncome bool
	Hidden   bool
	// First and Last disable moving up and down within the group.
	First, Last bool
}

// CategoryGroupItem is a group with its categories, in the user's order.
type CategoryGroupItem struct {
	Name       string
	Categories []CategoryItem
}

// CategoryForm adds or edits a category.
type CategoryForm struct {
	Form
	ID       uint
	Name     string `form:"name"`
	Group    string `form:"group"`
	IsIncome bool   `form:"is_income"`
	Hidden   bool   `form:"hidden"`
}

// CategoriesData is the categories page.
type CategoriesData struct {
	Groups []CategoryGroupItem
	Form   CategoryForm
	// GroupNames feed the group field's suggestions.
	GroupNames []string
}

// CategoryDeleteData asks where a category's transactions go.
type CategoryDeleteData struct {
	Form
	ID      uint
	Name    string
	Targets []Option
	Target  string `form:"target_category_id"`
}

// DashboardData is the signed-in home page: balances, net worth per currency, the latest rows
// and a quick-add form.
type DashboardData struct {
	Name     string
	Accounts []AccountItem
	NetWorth []Amount
	Recent   []TxRow
	Add      TxForm
	Choices  TxChoices
	// Budget is this month's spending against its budget per currency; empty when the month
	// sets no amount.
	Budget      []BudgetProgress
	BudgetMonth string // "November 2026"
	// NetWorthTrend is a small line per currency of the last 12 months' net worth.
	NetWorthTrend []charts.Chart
}
