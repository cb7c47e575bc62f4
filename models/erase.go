package models

import (
	"database/sql"
	"errors"
	"strings"

	"gorm.io/gorm"
)

// forgetNames removes, inside tx, the copies of u's username and addresses that rows of other
// accounts, and rows without an account, hold: failures counted under a typed name, mail to
// its addresses, and the details of other accounts' events that earlier versions wrote with
// usernames. Those events themselves stay, naming u by id (the audit of what was done to and
// by others). DeleteAccount calls it before deleting u's own rows.
func forgetNames(tx *gorm.DB, u *User) error {
	addresses, err := accountAddresses(tx, u)
	if err != nil {
		return err
	}
	if err := ForgetUserFailures(tx, u, addresses); err != nil {
		return err
	}
	// Mail to its addresses that no other account owns (a later owner's mail is theirs).
	if err := tx.Where(`"to" IN ? AND (user_id IS NULL OR user_id = ?)`, addresses, u.ID).Delete(&Email{}).Error; err != nil {
		return err
	}
	return unnameInEvents(tx, u)
}

// accountAddresses is u's address and every address it had or asked for: the recipients of its
// mail and the addresses its own events mention ("From a to b", "To b").
func accountAddresses(tx *gorm.DB, u *User) ([]string, error) {
	seen := map[string]bool{NormalizeEmail(u.Email): true}
	var tos, details []string
	if err := tx.Model(&Email{}).Where("user_id = ?", u.ID).Distinct().Pluck("to", &tos).Error; err != nil {
		return nil, err
	}
	if err := tx.Model(&SecurityEvent{}).Where("user_id = ? AND detail LIKE '%@%'", u.ID).Pluck("detail", &details).Error; err != nil {
		return nil, err
	}
	for _, d := range details {
		for _, w := range strings.Fields(d) {
			if strings.Contains(w, "@") {
				tos = append(tos, w)
			}
		}
	}
	for _, a := range tos {
		seen[NormalizeEmail(a)] = true
	}
	out := make([]string, 0, len(seen))
	for a := range seen {
		out = append(out, a)
	}
	return out, nil
}

// unnameInEvents rewrites the details of other accounts' events that name u as earlier versions
// wrote them: "<what> by <admin>" where u acted (its ActorID stays), and "Viewing as <user>
// <what>" on a staff member's own history, which becomes "Viewing as user #<id> <what>".
func unnameInEvents(tx *gorm.DB, u *User) error {
	name := u.Username
	var acted []SecurityEvent
	err := tx.Select("id", "detail").Where(`actor_id = ? AND user_id <> ? AND detail `+ILike(tx)+` ? ESCAPE '\'`,
		u.ID, u.ID, "% by "+escapeLike(name)).Find(&acted).Error
	if err != nil {
		return err
	}
	for _, e := range acted {
		cut := len(e.Detail) - len(" by "+name)
		if cut < 0 || !strings.EqualFold(e.Detail[cut:], " by "+name) {
			continue
		}
		if err := tx.Model(&SecurityEvent{}).Where("id = ?", e.ID).Update("detail", e.Detail[:cut]).Error; err != nil {
			return err
		}
	}
	const viewing = "Viewing as "
	var viewed []SecurityEvent
	err = tx.Select("id", "detail").Where(`user_id <> ? AND kind = ? AND detail `+ILike(tx)+` ? ESCAPE '\'`,
		u.ID, EventImpersonation, escapeLike(viewing+name)+" %").Find(&viewed).Error
	if err != nil {
		return err
	}
	for _, e := range viewed {
		rest := e.Detail[len(viewing):]
		if len(rest) < len(name) || !strings.EqualFold(rest[:len(name)], name) {
			continue
		}
		detail := viewing + UserRef(u.ID) + rest[len(name):]
		if err := tx.Model(&SecurityEvent{}).Where("id = ?", e.ID).Update("detail", detail).Error; err != nil {
			return err
		}
	}
	return nil
}

// ErrCheckpointBusy: a reader kept the WAL from being emptied for the whole busy timeout.
var ErrCheckpointBusy = errors.New("WAL checkpoint could not finish: the database was busy")

// ForgetDeletedPages copies the WAL of db into the database file and truncates it to zero
// bytes. With secure_delete on, a deletion zeroes the rows in the pages it writes, but the WAL
// still holds the earlier images of those pages until a checkpoint, and an automatic one never
// shrinks the file: this is what leaves no copy of a deleted row in any file once it returns.
// It waits (the busy timeout) for readers of older snapshots; run it outside a transaction.
//
// On Postgres it does nothing: dead rows are the server's to vacuum, and its WAL segments are
// recycled by checkpoints; no file of Tally's holds them.
func ForgetDeletedPages(db *gorm.DB) error {
	if IsPostgres(db) {
		return nil
	}
	// Raw, not Exec, to read the result; a PRAGMA goes to the writer's connection.
	return checkpointResult(db.Raw("PRAGMA wal_checkpoint(TRUNCATE)").Row())
}

// ForgetDeletedPagesSQL is ForgetDeletedPages for a database opened without GORM (the session
// file).
func ForgetDeletedPagesSQL(db *sql.DB) error {
	return checkpointResult(db.QueryRow("PRAGMA wal_checkpoint(TRUNCATE)"))
}

func checkpointResult(row *sql.Row) error {
	var busy, walFrames, checkpointed int
	if err := row.Scan(&busy, &walFrames, &checkpointed); err != nil {
		return err
	}
	if busy != 0 {
		return ErrCheckpointBusy
	}
	return nil
}
