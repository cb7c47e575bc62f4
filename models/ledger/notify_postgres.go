package ledger

import (
	"gorm.io/gorm"

	"tally/models"
)

// VersionedTables are the tables whose writes can move a ledger version (see Version): the
// ledger's own, the users' (their number format) and the versions themselves.
var VersionedTables = []string{"accounts", "category_groups", "categories", "transactions", "budgets", "users", "ledger_versions"}

// MigrateVersionNotify makes every change of a ledger version notify the instances sharing a
// Postgres database at its commit, under models.TopicLedger: "user:version" for a version
// made or moved, "user" when a user's row went, "" when the table was emptied. Whoever writes
// (an instance, the command line, psql), the triggers that move versions write this table, so
// every instance hears of every ledger change (schema version 5; nothing on SQLite, where one
// process is all there is).
func MigrateVersionNotify(tx *gorm.DB) error {
	if !models.IsPostgres(tx) {
		return nil
	}
	for _, stmt := range []string{
		`CREATE OR REPLACE FUNCTION tally_notify_ledger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'TRUNCATE' THEN
		PERFORM ` + models.NotifySQL(models.TopicLedger, `''`) + `;
	ELSIF TG_OP = 'DELETE' THEN
		PERFORM ` + models.NotifySQL(models.TopicLedger, `OLD.user_id::text`) + `;
	ELSE
		PERFORM ` + models.NotifySQL(models.TopicLedger, `NEW.user_id || ':' || NEW.version`) + `;
	END IF;
	RETURN NULL;
END $$`,
		`CREATE OR REPLACE TRIGGER tally_notify_ledger AFTER INSERT OR UPDATE OR DELETE ON ledger_versions
			FOR EACH ROW EXECUTE FUNCTION tally_notify_ledger()`,
		`CREATE OR REPLACE TRIGGER tally_notify_ledger_truncate AFTER TRUNCATE ON ledger_versions
			FOR EACH STATEMENT EXECUTE FUNCTION tally_notify_ledger()`,
	} {
		if err := tx.Exec(stmt).Error; err != nil {
			return err
		}
	}
	return nil
}
