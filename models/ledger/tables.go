package ledger

import (
	"time"

	"tally/models"
)

// MoveTables are the ledger's tables in an order models.Move can copy them in: each row's
// account, category and import first; a split's parent before its parts (parents have no
// parent_id); the two legs of a transfer point at each other, so transfer_id is set after.
func MoveTables() []models.MoveTable {
	return []models.MoveTable{
		{Name: "accounts", Order: "id"},
		{Name: "category_groups", Order: "id"},
		{Name: "categories", Order: "id"},
		{Name: "imports", Order: "id"},
		{Name: "transactions", Order: "parent_id IS NOT NULL, id", Later: []string{"transfer_id"},
			IDsAlso: []string{"deleted_transactions"}},
		{Name: "deleted_transactions", Order: "id"},
		{Name: "import_rows", Order: "user_id, import_id, line"},
		{Name: "import_mappings", Order: "user_id, account_id"},
		{Name: "budgets", Order: "user_id, month, category_id, currency"},
	}
}

// MoveDerived are the tables the ledger's triggers keep: on a copy they are rebuilt as its rows
// arrive, never copied (a copy would be counted twice). transactions_text is SQLite's search
// index, which Postgres keeps as an index.
var MoveDerived = []string{"account_months", "category_months", "payees", "ledger_versions", "transactions_text"}

// MoveChecks prove a copy of the ledger: each account's balance and the month totals equal the
// source's, and every total the triggers rebuilt equals the sum of the copied rows it stands
// for. Totals of zero are left out: SQLite keeps a month whose rows were all deleted at zero,
// a rebuild never makes it. Payees are checked on the copy only: SQLite and Postgres fold the
// case of letters beyond ASCII differently, so one payee there may be two here.
var MoveChecks = []models.MoveCheck{
	{Name: "balance per account", OnSource: true,
		Query: `SELECT t.user_id, t.account_id, count(*), CAST(sum(t.amount) AS BIGINT) FROM transactions t
			WHERE ` + BalanceRows + ` GROUP BY t.user_id, t.account_id`},
	{Name: "account_months as on SQLite", OnSource: true,
		Query: `SELECT user_id, account_id, month, total FROM account_months WHERE total <> 0`},
	{Name: "category_months as on SQLite", OnSource: true,
		Query: `SELECT user_id, month, account_id, category_id, total FROM category_months WHERE total <> 0`},
	{Name: "account_months = sums of the rows",
		Query: `SELECT user_id, account_id, month, total FROM account_months WHERE total <> 0`,
		Want: `SELECT t.user_id, t.account_id, substr(t.date, 1, 7), CAST(sum(t.amount) AS BIGINT) FROM transactions t
			WHERE ` + BalanceRows + ` GROUP BY 1, 2, 3 HAVING sum(t.amount) <> 0`},
	{Name: "category_months = sums of the rows",
		Query: `SELECT user_id, month, account_id, category_id, total FROM category_months WHERE total <> 0`,
		Want: `SELECT t.user_id, substr(t.date, 1, 7), t.account_id, COALESCE(t.category_id, 0), CAST(sum(t.amount) AS BIGINT)
			FROM transactions t WHERE NOT t.is_split AND t.transfer_id IS NULL AND NOT t.is_opening
			GROUP BY 1, 2, 3, 4 HAVING sum(t.amount) <> 0`},
	{Name: "payees = uses of the rows",
		Query: `SELECT user_id, lower(name), uses FROM payees`,
		Want: `SELECT t.user_id, lower(t.payee), count(*) FROM transactions t
			WHERE t.parent_id IS NULL AND t.payee <> '' GROUP BY 1, 2`},
	{Name: "ledger_versions for every user with a ledger",
		Query: `SELECT user_id FROM ledger_versions WHERE version > 0 AND user_id IN (SELECT user_id FROM accounts)`,
		Want:  `SELECT DISTINCT user_id FROM accounts`},
}

// MovePlan is what tally move-to copies and checks: the users' tables, then the ledger's, the
// ledger's derived tables left to the triggers, and its checks. The command line adds the
// session stores of its data dir.
func MovePlan(now time.Time) models.MovePlan {
	return models.MovePlan{Tables: append(models.UserTables(), MoveTables()...), Derived: MoveDerived,
		Checks: MoveChecks, Now: now}
}
