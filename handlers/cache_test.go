package handlers

import (
	"net/http"
	"testing"

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
			u := ta.createUser("ada", "ada@example.com", goodPassword)
			c := ta.client()
			c.login("ada", goodPassword)
			wantStatus(t, c.get("/dashboard"), http.StatusOK)
			wantStatus(t, c.get("/dashboard"), http.StatusOK) // now served from the cache
			tc.change(ta, u)
			wantStatus(t, c.get("/dashboard"), http.StatusSeeOther)
		})
	}
}

func TestSessionCacheKeepsOtherSessionsOnTouch(t *testing.T) {
	ta := newTestApp(t)
	ta.createUser("ada", "ada@example.com", goodPassword)
	c := ta.client()
	c.login("ada", goodPassword)
	c.get("/dashboard")
	gen := ta.h.sessionCache
	before := gen.Generation()
	ta.clock.Advance(2 * 60e9)
	c.get("/dashboard") // touches last-seen
	if gen.Generation() != before {
		t.Error("a last-seen touch invalidated every cached session")
	}
}
