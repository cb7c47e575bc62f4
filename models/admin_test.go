package models

import (
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"tally/testkit/testdb"

	"gorm.io/gorm"
)

// openListDB is a migrated database in a temp dir, for tests and benchmarks.
func openListDB(tb testing.TB) *gorm.DB {
	tb.Helper()
	db, err := Open(testdb.Target(tb, tb.TempDir()), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { Close(db) })
	if err := Migrate(db); err != nil {
		tb.Fatal(err)
	}
	return db
}

func usernames(l *UserList) []string {
	var out []string
	for _, u := range l.Users {
		out = append(out, u.Username)
	}
	return out
}

func TestListUsers(t *testing.T) {
	db := openListDB(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, n := range []struct {
		username, email, first, last string
		active, staff                bool
	}{
		{"ada_l", "ada@example.com", "Ada", "Lovelace", true, false},
		{"grace", "hopper@navy.example", "Grace", "Hopper", true, true},
		{"alan", "alan@example.com", "Alan", "Turing", false, false},
		{"adam50", "adam@example.com", "Adam", "Smith", true, false},
		{"a%b", "pct@example.com", "Percy", "Cent", true, false},
		{"axb", "x@example.com", "Xavier", "Box", true, false},
	} {
		u, err := CreateUser(db, NewUser{Username: n.username, Email: n.email, FirstName: n.first, LastName: n.last,
			PasswordHash: "x", Active: n.active}, base.Add(time.Duration(i)*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if n.staff {
			if err := SetUserStaff(db, u, true); err != nil {
				t.Fatal(err)
			}
		}
	}
	yes, no := true, false
	for _, tc := range []struct {
		name  string
		q     UserQuery
		want  []string
		total int64
	}{
		{"default: newest first", UserQuery{}, []string{"axb", "a%b", "adam50", "alan", "grace", "ada_l"}, 6},
		{"username prefix, any case", UserQuery{Search: "ADA"}, []string{"adam50", "ada_l"}, 2},
		{"email prefix", UserQuery{Search: "hopper@"}, []string{"grace"}, 1},
		{"first name", UserQuery{Search: "grace"}, []string{"grace"}, 1},
		{"last name", UserQuery{Search: "turing"}, []string{"alan"}, 1},
		{"every word must match", UserQuery{Search: "ada love"}, []string{"ada_l"}, 1},
		{"three words", UserQuery{Search: "lov ada_ ada@"}, []string{"ada_l"}, 1},
		{"three words, one missing", UserQuery{Search: "lov ada_ grace"}, nil, 0},
		{"no substring match", UserQuery{Search: "lace"}, nil, 0},
		{"underscore is literal", UserQuery{Search: "ada_"}, []string{"ada_l"}, 1},
		{"percent is literal", UserQuery{Search: "a%"}, []string{"a%b"}, 1},
		{"staff", UserQuery{Staff: &yes}, []string{"grace"}, 1},
		{"not active", UserQuery{Active: &no}, []string{"alan"}, 1},
		{"verified and search", UserQuery{Verified: &yes, Search: "a"}, []string{"axb", "a%b", "adam50", "ada_l"}, 4},
		{"unverified", UserQuery{Verified: &no}, []string{"alan"}, 1},
		{"sort by name", UserQuery{Sort: "name"}, []string{"axb", "a%b", "grace", "ada_l", "adam50", "alan"}, 6},
		{"sort by username desc", UserQuery{Sort: "-username"}, []string{"grace", "axb", "alan", "adam50", "ada_l", "a%b"}, 6},
		{"unknown sort is the default", UserQuery{Sort: "password_hash"}, []string{"axb", "a%b", "adam50", "alan", "grace", "ada_l"}, 6},
		{"page 2", UserQuery{Sort: "username", PerPage: 4, Page: 2}, []string{"axb", "grace"}, 6},
		{"page past the end", UserQuery{PerPage: 4, Page: 9}, nil, 6},
		{"page whose offset overflows", UserQuery{PerPage: 4, Page: math.MaxInt}, nil, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := ListUsers(db, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := usernames(l); !slices.Equal(got, tc.want) || l.Total != tc.total {
				t.Errorf("got %v (total %d), want %v (total %d)", got, l.Total, tc.want, tc.total)
			}
		})
	}
}

// TestListUsersUsesIndexes checks the query plans: a search reads the NOCASE indexes, a sorted
// page reads its sort index, a filter reads the flags index, and nothing reads every row of
// the table. Only a search or a filter, which select few rows, may sort them.
func TestListUsersUsesIndexes(t *testing.T) {
	testdb.SkipOnPostgres(t, "the plans checked are SQLite's EXPLAIN QUERY PLAN")
	db := openListDB(t)
	yes, no := true, false
	for _, tc := range []struct {
		name    string
		q       UserQuery
		want    []string
		maySort bool
	}{
		{"search", UserQuery{Search: "ada"}, []string{"idx_users_search_username", "idx_users_search_email",
			"idx_users_search_first_name", "idx_users_name"}, true},
		{"search two words", UserQuery{Search: "ada lo"}, []string{"LIST SUBQUERY", "idx_users_search_username"}, true},
		{"search three words", UserQuery{Search: "ada lo ad"}, []string{"INTERSECT", "idx_users_search_username"}, true},
		{"default sort", UserQuery{}, []string{"idx_users_date_joined"}, false},
		{"sort by name", UserQuery{Sort: "-name"}, []string{"idx_users_name"}, false},
		{"sort by last login", UserQuery{Sort: "last_login"}, []string{"idx_users_last_login"}, false},
		{"sort by email", UserQuery{Sort: "email"}, []string{"idx_users_email"}, false},
		{"sort by username", UserQuery{Sort: "username"}, []string{"idx_users_username_key"}, false},
		{"staff", UserQuery{Staff: &yes}, []string{"idx_users_flags"}, true},
		{"inactive", UserQuery{Active: &no}, []string{"idx_users_flags", "idx_users_date_joined"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var plans []string
			for _, stmt := range listUsersSQL(db, tc.q) {
				plans = append(plans, queryPlan(t, db, stmt.SQL.String(), stmt.Vars...)...)
			}
			joined := strings.Join(plans, "\n")
			for _, idx := range tc.want {
				if !strings.Contains(joined, idx) {
					t.Errorf("plan does not use %s:\n%s", idx, joined)
				}
			}
			for _, p := range plans {
				if strings.HasPrefix(p, "SCAN users") && !strings.Contains(p, "INDEX") ||
					!tc.maySort && strings.Contains(p, "TEMP B-TREE") {
					t.Errorf("plan step %q reads every row or sorts:\n%s", p, joined)
				}
			}
		})
	}
}

func queryPlan(t *testing.T, db *gorm.DB, query string, args ...any) []string {
	t.Helper()
	rows, err := db.Raw("EXPLAIN QUERY PLAN "+query, args...).Rows()
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return plan
}

// listUsersSQL returns the two statements ListUsers runs for q, without running them.
func listUsersSQL(db *gorm.DB, q UserQuery) []*gorm.Statement {
	dry := db.Session(&gorm.Session{DryRun: true})
	q = q.normalize()
	var n int64
	var us []User
	return []*gorm.Statement{
		filterUsers(dry, q).Count(&n).Statement,
		pageOfUsers(filterUsers(dry, q), q).Find(&us).Statement,
	}
}
