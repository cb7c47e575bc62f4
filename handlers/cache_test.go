package handlers

import (
	"net/http"
	"net/url"
	"strings"
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
