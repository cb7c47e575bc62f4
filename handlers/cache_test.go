package handlers

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"tally/models"
)

// The session cache must never let a changed account keep a signed-in page: whatever path
// writes the change, the next request sees it.
func TestSessionCacheSeesEveryWrite(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(ta *testApp, u *models.User)
	}{
		{"user deactivated with an update", func(ta *testApp, u *models.User) {
			ta.db.Model(u).Update("is_active", false)
		}},
		{"sessions ended in bulk", func(ta *testApp, u *models.User) {
			models.EndUserSessions(ta.db, u.ID, "")
		}},
		{"raw statement", func(ta *testApp, u *models.User) {
			ta.db.Exec("DELETE FROM auth_sessions WHERE user_id = ?", u.ID)
		}},
		{"user deleted", func(ta *testApp, u *models.User) {
			ta.db.Delete(u)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ta := newTestApp(t)
			u, c := ta.signedInAda()
			wantStatus(t, c.get("/dashboard"), http.StatusOK)
			wantStatus(t, c.get("/dashboard"), http.StatusOK) // now served from the cache
			tc.change(ta, u)
			wantStatus(t, c.get("/dashboard"), http.StatusSeeOther)
		})
	}
}

func TestSessionCacheKeepsOtherSessionsOnTouch(t *testing.T) {
	ta := newTestApp(t)
	_, c := ta.signedInAda()
	c.get("/dashboard")
	gen := ta.h.sessionCache
	before := gen.Generation()
	ta.clock.Advance(2 * 60e9)
	c.get("/dashboard") // touches last-seen
	if gen.Generation() != before {
		t.Error("a last-seen touch invalidated every cached session")
	}
}

// A signed-in page view reads the session's decoded values from the cache: decoding it on
// every view was a third of a view's CPU. It is decoded again only after a write.
func TestPageViewReadsDecodedSession(t *testing.T) {
	ta := newTestApp(t)
	_, c := ta.signedInAda()
	id := c.cookie(ta.cfg.CookieName())
	decoded := func() map[string]any {
		ta.h.sessionData.mu.RLock()
		defer ta.h.sessionData.mu.RUnlock()
		return ta.h.sessionData.entries[id].vals
	}
	wantStatus(t, c.get("/dashboard"), http.StatusOK)
	first := decoded()
	if first == nil || first[keyAuthSession] == nil {
		t.Fatalf("after a page view the cache holds %v", first)
	}
	wantStatus(t, c.get("/dashboard"), http.StatusOK)
	if mapID(decoded()) != mapID(first) {
		t.Error("the second page view decoded the session again")
	}
	// The view reads the decoded values, not the stored bytes: with the bytes damaged (and
	// the values kept) it still shows the page; a decode would have logged the browser out.
	sd := ta.h.sessionData
	damage := func(val []byte) (was []byte) {
		sd.mu.Lock()
		defer sd.mu.Unlock()
		e := sd.entries[id]
		was, e.val = e.val, val
		sd.entries[id] = e
		return was
	}
	stored := damage([]byte("not a gob"))
	wantStatus(t, c.get("/dashboard"), http.StatusOK)
	damage(stored)
	// A write (here a flash message, set by saving the profile) replaces them, and the next
	// view shows it once.
	wantStatus(t, c.post("/profile", url.Values{"first_name": {"Ada"}, "last_name": {"King"}}), http.StatusSeeOther)
	if decoded() != nil {
		t.Fatal("the cache kept decoded values from before the write")
	}
	res := c.get("/dashboard")
	if !strings.Contains(res.body, "saved") {
		t.Errorf("flash not shown after the write: %s", res.doc.Find("main").Text())
	}
	if res := c.get("/dashboard"); strings.Contains(res.body, "saved") {
		t.Error("flash shown twice")
	}
}

// A page view that reads the session while a transaction changing the user is still open sees
// the old row, after the transaction's statements moved the cache's generation: the handler
// must invalidate again once it commits, or that old row stays cached as current.
func TestSessionCacheAfterTransactionsCommit(t *testing.T) {
	for _, tc := range []struct {
		name, table string // the write inside the transaction after which a page view runs
		page        string // what another session of the user reads
		// change makes the change, calling arm just before the request whose transaction it
		// is, and returns what page must show afterwards.
		change func(t *testing.T, ta *testApp, c *client, arm func()) string
	}{
		{"profile", "profiles", "/dashboard", func(t *testing.T, ta *testApp, c *client, arm func()) string {
			c.get("/profile/edit")
			arm()
			wantStatus(t, c.post("/profile", profileValues("first_name", "Augusta")), http.StatusSeeOther)
			return "Hello, Augusta"
		}},
		{"email change", "security_events", "/account/email", func(t *testing.T, ta *testApp, c *client, arm func()) string {
			link := c.emailChangeLink("ada.new@example.com")
			arm()
			wantStatus(t, c.get(path(t, link)), http.StatusSeeOther)
			return "ada.new@example.com"
		}},
		{"sign-in", "security_events", "/api/me", func(t *testing.T, ta *testApp, c *client, arm func()) string {
			ta.clock.Advance(30 * time.Second) // a new last-login time; no last-seen write yet
			other := ta.client()
			other.get("/login")
			arm()
			wantStatus(t, other.post("/login", url.Values{"login": {"ada"}, "password": {goodPassword}}), http.StatusSeeOther)
			b, _ := json.Marshal(ta.clock.Now())
			return `"last_login":` + string(b)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ta := newTestApp(t)
			_, c := ta.signedInAda()
			viewer := ta.client()
			viewer.login("ada", goodPassword)
			armed := false
			err := ta.db.Callback().Create().After("gorm:create").Register("test:view_mid_transaction", func(tx *gorm.DB) {
				if armed && tx.Statement.Table == tc.table {
					armed = false
					// Runs on the server's goroutine: report, don't stop.
					res, err := viewer.try(viewer.getRequest(tc.page, nil)) // caches what it reads
					if err != nil {
						t.Error(err)
					} else if res.StatusCode != http.StatusOK {
						t.Errorf("the view inside the transaction: status %d", res.StatusCode)
					}
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			shows := tc.change(t, ta, c, func() { armed = true })
			if armed {
				t.Fatal("no page view ran inside the transaction")
			}
			if body := viewer.get(tc.page).body; !strings.Contains(body, shows) {
				t.Errorf("%s after the commit does not show %q:\n%s", tc.page, shows, trim(body))
			}
		})
	}
}
