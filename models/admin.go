package models

import (
	"strings"
	"time"

	"gorm.io/gorm"
)

// userListIndexes serve the admin's user list. The search matches the start of a username,
// email, first or last name without regard to case; LIKE 'abc%' can only use an index built
// with the NOCASE collation, so the search columns get their own NOCASE indexes (the unique
// indexes on username_key and email stay BINARY). The others let a sorted page be read in
// index order instead of sorting every row.
// Postgres's LIKE is case-sensitive: the search matches lower(column) there, and the indexes are
// on lower(column) with text_pattern_ops, which serves LIKE 'abc%' in any collation.
var userListIndexes = []string{
	"CREATE INDEX IF NOT EXISTS idx_users_search_username ON users(username_key COLLATE NOCASE)",
	"CREATE INDEX IF NOT EXISTS idx_users_search_email ON users(email COLLATE NOCASE)",
	"CREATE INDEX IF NOT EXISTS idx_users_search_first_name ON users(first_name COLLATE NOCASE)",
	"CREATE INDEX IF NOT EXISTS idx_users_name ON users(last_name COLLATE NOCASE, first_name COLLATE NOCASE)",
	"CREATE INDEX IF NOT EXISTS idx_users_date_joined ON users(date_joined)",
	"CREATE INDEX IF NOT EXISTS idx_users_last_login ON users(last_login)",
	// The filters: counting with them reads this small index instead of every row.
	"CREATE INDEX IF NOT EXISTS idx_users_flags ON users(is_staff, is_active, email_verified_at)",
}

var userListIndexesPostgres = []string{
	"CREATE INDEX IF NOT EXISTS idx_users_search_username ON users(lower(username_key) text_pattern_ops)",
	"CREATE INDEX IF NOT EXISTS idx_users_search_email ON users(lower(email) text_pattern_ops)",
	"CREATE INDEX IF NOT EXISTS idx_users_search_first_name ON users(lower(first_name) text_pattern_ops)",
	"CREATE INDEX IF NOT EXISTS idx_users_search_last_name ON users(lower(last_name) text_pattern_ops)",
	"CREATE INDEX IF NOT EXISTS idx_users_name ON users(lower(last_name), lower(first_name))",
	"CREATE INDEX IF NOT EXISTS idx_users_date_joined ON users(date_joined)",
	"CREATE INDEX IF NOT EXISTS idx_users_last_login ON users(last_login)",
	"CREATE INDEX IF NOT EXISTS idx_users_flags ON users(is_staff, is_active, email_verified_at)",
}

func migrateUserListIndexes(db *gorm.DB) error {
	stmts := userListIndexes
	if IsPostgres(db) {
		stmts = userListIndexesPostgres
	}
	for _, stmt := range stmts {
		if err := db.Exec(stmt).Error; err != nil {
			return err
		}
	}
	return nil
}

// UserSorts are the columns the admin list sorts by, by the name used in URLs. Every order
// ends with the id, so pages never overlap. Names sort without regard to case (noCaseSorts).
var UserSorts = map[string][]string{
	"username":   {"username_key"},
	"email":      {"email"},
	"name":       {"last_name", "first_name"},
	"joined":     {"date_joined"},
	"last_login": {"last_login"},
}

var noCaseSorts = map[string]bool{"name": true}

// DefaultUserSort shows the newest accounts first.
const DefaultUserSort = "-joined"

// UserQuery is one view of the admin's user list. Nil filters match everyone.
type UserQuery struct {
	// Search holds words; each must start the username, email, first or last name.
	Search                  string
	Staff, Active, Verified *bool
	// Sort is a key of UserSorts, prefixed with "-" for descending; anything else is the default.
	Sort    string
	Page    int // from 1
	PerPage int
}

// UserList is one page of users and the size of the whole result.
type UserList struct {
	Users   []User
	Total   int64
	Page    int
	PerPage int
	Sort    string
}

// Pages is the number of pages of the result (at least 1).
func (l *UserList) Pages() int {
	if l.Total == 0 || l.PerPage <= 0 {
		return 1
	}
	return int((l.Total + int64(l.PerPage) - 1) / int64(l.PerPage))
}

// maxSearchWords bounds the query a search can build.
const maxSearchWords = 5

// ListUsers returns one page of the users matching q, and how many match in all.
func ListUsers(db *gorm.DB, q UserQuery) (*UserList, error) {
	q = q.normalize()
	l := &UserList{Page: q.Page, PerPage: q.PerPage, Sort: q.Sort}
	if err := filterUsers(db, q).Count(&l.Total).Error; err != nil {
		return nil, err
	}
	// A page past the end is empty without a query: its offset, (Page-1)*PerPage, can overflow
	// into a negative one, which SQL reads as none, so a huge page number showed the first page.
	if q.Page > l.Pages() {
		return l, nil
	}
	err := pageOfUsers(filterUsers(db, q), q).Find(&l.Users).Error
	return l, err
}

func (q UserQuery) normalize() UserQuery {
	q.Sort = NormalizeUserSort(q.Sort)
	if q.PerPage <= 0 || q.PerPage > 200 {
		q.PerPage = 50
	}
	if q.Page < 1 {
		q.Page = 1
	}
	return q
}

// filterUsers is the WHERE of the list: every search word must start one of the four columns.
func filterUsers(db *gorm.DB, q UserQuery) *gorm.DB {
	where := db.Model(&User{})
	if cond, args := searchUsers(db, q.Search); cond != "" {
		where = where.Where(cond, args...)
	}
	// Literal conditions, not parameters, so the planner sees which index entries they select.
	for _, f := range []struct {
		v        *bool
		yes, not string
	}{
		{q.Staff, "is_staff = " + SQLBool(db, true), "is_staff = " + SQLBool(db, false)},
		{q.Active, "is_active = " + SQLBool(db, true), "is_active = " + SQLBool(db, false)},
		{q.Verified, "email_verified_at IS NOT NULL", "email_verified_at IS NULL"},
	} {
		if f.v != nil && *f.v {
			where = where.Where(f.yes)
		} else if f.v != nil {
			where = where.Where(f.not)
		}
	}
	return where
}

// searchUsers returns the condition that every word of search starts the username, email,
// first or last name, and its arguments. The first word is matched inline, so the planner can
// collect its rows from the four indexes (or check it against few rows selected by a filter);
// the other words become one set of ids, read from the indexes alone and intersected, so a
// broad first word does not mean reading every row it matches to test the next.
func searchUsers(db *gorm.DB, search string) (string, []any) {
	words := strings.Fields(search)
	if len(words) > maxSearchWords {
		words = words[:maxSearchWords]
	}
	var cond string
	var ids []string
	var args []any
	for i, w := range words {
		p := escapeLike(w) + "%"
		var cols []string
		for _, col := range []string{"username_key", "email", "first_name", "last_name"} {
			cols = append(cols, startsNoCase(db, col))
		}
		match := strings.Join(cols, " OR ")
		if i == 0 {
			cond = "(" + match + ")"
		} else {
			ids = append(ids, "SELECT id FROM users WHERE "+match)
		}
		args = append(args, p, p, p, p)
	}
	if len(ids) > 0 {
		cond += " AND id IN (" + strings.Join(ids, " INTERSECT ") + ")"
	}
	return cond, args
}

func pageOfUsers(where *gorm.DB, q UserQuery) *gorm.DB {
	return where.Order(userOrder(where, q.Sort)).Limit(q.PerPage).Offset((q.Page - 1) * q.PerPage)
}

// NormalizeUserSort returns s when it names a sort column, else the default.
func NormalizeUserSort(s string) string {
	if _, ok := UserSorts[strings.TrimPrefix(s, "-")]; ok {
		return s
	}
	return DefaultUserSort
}

// userOrder builds ORDER BY from whitelisted columns only, never from the request.
func userOrder(db *gorm.DB, sort string) string {
	dir := " ASC"
	if strings.HasPrefix(sort, "-") {
		dir = " DESC"
	}
	var terms []string
	key := strings.TrimPrefix(sort, "-")
	for _, col := range UserSorts[key] {
		if noCaseSorts[key] {
			col = NoCase(db, col)
		}
		terms = append(terms, col+dir)
	}
	return strings.Join(append(terms, "id"+dir), ", ")
}

// escapeLike makes s match literally in a LIKE pattern with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// CountUserSessions is how many signed-in sessions a user has.
func CountUserSessions(db *gorm.DB, userID uint) (int64, error) {
	var n int64
	err := db.Model(&AuthSession{}).Where("user_id = ?", userID).Count(&n).Error
	return n, err
}

// SetUserActive activates or deactivates an account; deactivation also ends its sessions.
func SetUserActive(tx *gorm.DB, u *User, active bool) error {
	if err := tx.Model(u).Updates(map[string]any{"is_active": active, "deactivated": !active}).Error; err != nil {
		return err
	}
	u.IsActive, u.Deactivated = active, !active
	if active {
		return nil
	}
	_, err := EndUserSessions(tx, u.ID, "")
	return err
}

// SetUserStaff grants or removes access to the admin.
func SetUserStaff(tx *gorm.DB, u *User, staff bool) error {
	u.IsStaff = staff
	return tx.Model(u).Update("is_staff", staff).Error
}

// CreateSuperuser creates an active, verified account with every privilege.
func CreateSuperuser(tx *gorm.DB, n NewUser, now time.Time) (*User, error) {
	n.Active = true
	u, err := CreateUser(tx, n, now)
	if err != nil {
		return nil, err
	}
	u.IsStaff, u.IsSuperuser = true, true
	return u, tx.Model(u).Updates(map[string]any{"is_staff": true, "is_superuser": true}).Error
}

// UserEvent is a security event with the username of the admin who acted, if any.
type UserEvent struct {
	SecurityEvent
	ActorUsername string
}

// UserEvents returns a user's latest events, newest first, naming the acting admins.
func UserEvents(db *gorm.DB, userID uint, limit int) ([]UserEvent, error) {
	var es []UserEvent
	err := db.Table("security_events AS e").
		Select("e.*, COALESCE(a.username, '') AS actor_username").
		Joins("LEFT JOIN users AS a ON a.id = e.actor_id").
		Where("e.user_id = ?", userID).Order("e.created_at DESC, e.id DESC").Limit(limit).
		Scan(&es).Error
	return es, err
}

// EachUser calls fn for every user in id order, reading them in batches.
func EachUser(db *gorm.DB, fn func(*User) error) error {
	var batch []User
	return db.Order("id").FindInBatches(&batch, 500, func(_ *gorm.DB, _ int) error {
		for i := range batch {
			if err := fn(&batch[i]); err != nil {
				return err
			}
		}
		return nil
	}).Error
}
