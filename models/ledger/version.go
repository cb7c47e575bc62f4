package ledger

import (
	"database/sql"
	"errors"
	"strings"
)

// Version is a number that moves whenever anything a ledger page shows of the user's money
// changes: a row of their accounts, category groups, categories, transactions or budgets, or the
// number format of their profile. Triggers move it (see versionTrigger) in the transaction of
// the write itself, whichever process writes, so a reader who sees a version also sees every
// write made before it was moved. What was read after reading version v is therefore at least
// as new as v, and still current while Version answers v. It is 0 until the user's first write.
//
// Every ledger page view asks for it, so the statement is the simplest SQLite can parse (the
// driver parses every statement anew): a COALESCE around a subquery for the missing row cost a
// third more.
func (b *Book) Version() (int64, error) {
	var v int64
	err := b.db.Raw(`SELECT version FROM ledger_versions WHERE user_id = ?`, b.userID).Row().Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return v, wrap("version", err)
}

// versionTrigger is the trigger that moves the version of the user of each row that event
// changes in table; rows names that user's row (NEW, OLD, or both for an update). Only an
// existing user's counter moves: deleting a user deletes their counter by cascade, and the
// deletes of their rows around it must not make it again.
func versionTrigger(table, event string, rows ...string) string {
	users := make([]string, len(rows))
	for i, r := range rows {
		users[i] = "SELECT " + r + ".user_id AS id"
	}
	name := table + "_version_" + strings.ToLower(strings.Fields(event)[0])
	return `CREATE TRIGGER IF NOT EXISTS ` + name + ` AFTER ` + event + ` ON ` + table + ` BEGIN
		INSERT INTO ledger_versions (user_id, version)
		SELECT u.id, 1 FROM (` + strings.Join(users, " UNION ") + `) u WHERE EXISTS (SELECT 1 FROM users WHERE users.id = u.id)
		ON CONFLICT (user_id) DO UPDATE SET version = version + 1;
	END`
}
