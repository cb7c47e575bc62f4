package ledger

import "strings"

// On Postgres the rollups (account_months, category_months, payees) and the ledger versions are
// kept by statement triggers reading the statement's transition tables: one grouped write per
// statement instead of one per row. Row triggers updating one month's total once per row of a
// 10,000-row insert cost 250 µs a row, each update walking the versions of that total the
// transaction had made so far; grouped, the rows cost what an insert costs. The result is
// SQLite's row triggers' (see schema.go), total by total; a version moves once per statement
// rather than once per row, which is all a version promises.

// rollupColumns are the columns whose change moves each rollup: the columns SQLite's update
// triggers fire on.
var (
	monthColumns    = []string{"user_id", "account_id", "date", "amount", "parent_id"}
	payeeColumns    = []string{"payee", "date", "parent_id"}
	categoryColumns = []string{"user_id", "account_id", "date", "amount", "category_id", "is_split", "transfer_id", "is_opening"}
)

// changed is the rows of side (old_rows or new_rows) of an update whose columns changed.
func changed(side string, columns []string) string {
	o, n := make([]string, len(columns)), make([]string, len(columns))
	for i, c := range columns {
		o[i], n[i] = "o."+c, "n."+c
	}
	pick := "o"
	if side == "new_rows" {
		pick = "n"
	}
	return `(SELECT ` + pick + `.* FROM old_rows o JOIN new_rows n USING (id)
		WHERE (` + strings.Join(o, ", ") + `) IS DISTINCT FROM (` + strings.Join(n, ", ") + `))`
}

// subtractRows takes the rows of rel (old rows) out of the rollups.
func subtractRows(months, payees, categories string) string {
	return `
		UPDATE account_months m SET total = m.total - d.total
		FROM (SELECT user_id, account_id, substr(date, 1, 7) AS month, SUM(amount) AS total FROM ` + months + ` r
			WHERE r.parent_id IS NULL GROUP BY 1, 2, 3) d
		WHERE m.user_id = d.user_id AND m.account_id = d.account_id AND m.month = d.month;
		UPDATE category_months m SET total = m.total - d.total
		FROM (SELECT user_id, substr(date, 1, 7) AS month, account_id, COALESCE(category_id, 0) AS category_id,
				SUM(amount) AS total FROM ` + categories + ` r
			WHERE NOT r.is_split AND r.transfer_id IS NULL AND NOT r.is_opening GROUP BY 1, 2, 3, 4) d
		WHERE m.user_id = d.user_id AND m.month = d.month AND m.account_id = d.account_id AND m.category_id = d.category_id;
		UPDATE payees p SET uses = p.uses - d.n
		FROM (SELECT user_id, lower(payee) AS name, COUNT(*) AS n FROM ` + payees + ` r
			WHERE r.parent_id IS NULL AND r.payee <> '' GROUP BY 1, 2) d
		WHERE p.user_id = d.user_id AND lower(p.name) = d.name;
		DELETE FROM payees p WHERE p.uses <= 0 AND (p.user_id, lower(p.name)) IN
			(SELECT user_id, lower(payee) FROM ` + payees + ` r WHERE r.parent_id IS NULL AND r.payee <> '');`
}

// addRows puts the rows of rel (new rows) into the rollups. A payee takes the spelling of the
// statement's last row, as a row trigger's last upsert would leave it.
func addRows(months, payees, categories string) string {
	return `
		INSERT INTO account_months AS m (user_id, account_id, month, total)
		SELECT user_id, account_id, substr(date, 1, 7), SUM(amount) FROM ` + months + ` r
		WHERE r.parent_id IS NULL GROUP BY 1, 2, 3
		ON CONFLICT (user_id, account_id, month) DO UPDATE SET total = m.total + excluded.total;
		INSERT INTO category_months AS m (user_id, month, account_id, category_id, total)
		SELECT user_id, substr(date, 1, 7), account_id, COALESCE(category_id, 0), SUM(amount) FROM ` + categories + ` r
		WHERE NOT r.is_split AND r.transfer_id IS NULL AND NOT r.is_opening GROUP BY 1, 2, 3, 4
		ON CONFLICT (user_id, month, account_id, category_id) DO UPDATE SET total = m.total + excluded.total;
		INSERT INTO payees AS p (user_id, name, uses, last_date)
		SELECT user_id, (array_agg(payee ORDER BY id DESC))[1], COUNT(*), MAX(date) FROM ` + payees + ` r
		WHERE r.parent_id IS NULL AND r.payee <> '' GROUP BY user_id, lower(payee)
		ON CONFLICT (user_id, lower(name)) DO UPDATE
			SET uses = p.uses + excluded.uses, name = excluded.name, last_date = GREATEST(p.last_date, excluded.last_date);`
}

// bumpVersions moves the version of every existing user among users (a query of user_id).
func bumpVersions(users string) string {
	return `
		INSERT INTO ledger_versions AS v (user_id, version)
		SELECT DISTINCT u.user_id, 1 FROM (` + users + `) u WHERE EXISTS (SELECT 1 FROM users WHERE users.id = u.user_id)
		ON CONFLICT (user_id) DO UPDATE SET version = v.version + 1;`
}

func plpgsql(name, body string) string {
	return `CREATE OR REPLACE FUNCTION ` + name + `() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN` + body + `
		RETURN NULL;
	END $$`
}

// statementTrigger fires function after each statement of event on table, with its
// transition tables.
func statementTrigger(table, event, function string) string {
	var tables string
	switch event {
	case "INSERT":
		tables = "NEW TABLE AS new_rows"
	case "DELETE":
		tables = "OLD TABLE AS old_rows"
	default:
		tables = "OLD TABLE AS old_rows NEW TABLE AS new_rows"
	}
	return `CREATE OR REPLACE TRIGGER ` + table + `_` + strings.ToLower(event) + ` AFTER ` + event + ` ON ` + table +
		` REFERENCING ` + tables + ` FOR EACH STATEMENT EXECUTE FUNCTION ` + function + `()`
}

// postgresStatementTriggers are the functions and triggers of the rollups and versions.
func postgresStatementTriggers() []string {
	stmts := []string{
		plpgsql("ledger_transactions_insert", addRows("new_rows", "new_rows", "new_rows")+
			bumpVersions("SELECT user_id FROM new_rows")),
		plpgsql("ledger_transactions_delete", subtractRows("old_rows", "old_rows", "old_rows")+
			bumpVersions("SELECT user_id FROM old_rows")),
		plpgsql("ledger_transactions_update",
			subtractRows(changed("old_rows", monthColumns), changed("old_rows", payeeColumns), changed("old_rows", categoryColumns))+
				addRows(changed("new_rows", monthColumns), changed("new_rows", payeeColumns), changed("new_rows", categoryColumns))+
				bumpVersions("SELECT user_id FROM old_rows UNION ALL SELECT user_id FROM new_rows")),
		plpgsql("ledger_version_insert", bumpVersions("SELECT user_id FROM new_rows")),
		plpgsql("ledger_version_delete", bumpVersions("SELECT user_id FROM old_rows")),
		plpgsql("ledger_version_update", bumpVersions("SELECT user_id FROM old_rows UNION ALL SELECT user_id FROM new_rows")),
	}
	for _, event := range []string{"INSERT", "UPDATE", "DELETE"} {
		stmts = append(stmts, statementTrigger("transactions", event, "ledger_transactions_"+strings.ToLower(event)))
		for _, table := range []string{"accounts", "category_groups", "categories", "budgets"} {
			stmts = append(stmts, statementTrigger(table, event, "ledger_version_"+strings.ToLower(event)))
		}
	}
	return stmts
}
