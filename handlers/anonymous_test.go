package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"tally/models"

	"github.com/gofiber/storage/postgres/v3"
	"github.com/gofiber/storage/sqlite3/v2"
)

// sessionRows counts the rows of the session store's table.
func (ta *testApp) sessionRows() int {
	ta.t.Helper()
	var n int
	var err error
	switch st := ta.h.sessionData.Storage.(type) {
	case *sqlite3.Storage:
		err = st.Conn().QueryRow(`SELECT COUNT(*) FROM sessions`).Scan(&n)
	case *postgres.Storage:
		err = st.Conn().QueryRow(context.Background(), `SELECT COUNT(*) FROM `+models.SessionsTable).Scan(&n)
	default:
		ta.t.Fatalf("session storage is %T", ta.h.sessionData.Storage)
	}
	if err != nil {
		ta.t.Fatal(err)
	}
	return n
}

// sessionWrites counts the writes and deletes that reached the session store.
func (ta *testApp) sessionWrites() uint64 {
	ta.h.sessionData.mu.RLock()
	defer ta.h.sessionData.mu.RUnlock()
	return ta.h.sessionData.writes
}

// maxAnonymousRows is "a handful": what 10,000 anonymous page views may add to the store.
const maxAnonymousRows = 5

// Anonymous page views write nothing to the session store: one client made 14,602 GET /login
// in 5 s, and each stored a session for half an hour. The flood sends no cookies; a browser
// that keeps them browses every public page and posts forms with mistakes.
func TestAnonymousViewsStoreNoSession(t *testing.T) {
	ta := newTestApp(t)
	before, writes := ta.sessionRows(), ta.sessionWrites()
	added := func() int { return ta.sessionRows() - before }
	for i := range 10000 {
		req, _ := http.NewRequest(http.MethodGet, testBase.String()+"login", nil)
		res, err := ta.app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("view %d: status %d", i, res.StatusCode)
		}
		if (i+1)%1000 == 0 {
			if n := added(); n > maxAnonymousRows {
				t.Fatalf("%d anonymous views of /login stored %d sessions", i+1, n)
			}
		}
	}
	if n := ta.sessionWrites() - writes; n != 0 {
		t.Errorf("10,000 anonymous views of /login wrote to the session store %d times", n)
	}
	c := ta.client()
	pages := []string{"/", "/login", "/login?next=/dashboard", "/register", "/password/forgot", "/verify/resend",
		"/register/done?email=ada@example.com", "/password/reset", "/password/reset?token=forged", "/verify?token=forged", "/dashboard", "/no/such/page"}
	for range 100 {
		for _, p := range pages {
			if res := c.get(p); res.StatusCode >= 500 {
				t.Fatalf("GET %s: %d", p, res.StatusCode)
			}
		}
	}
	c.get("/login")
	wantStatus(t, c.post("/login", url.Values{"login": {"nobody"}, "password": {"wrong"}}), http.StatusUnprocessableEntity)
	c.get("/register")
	wantStatus(t, c.post("/register", registerValues("email", "not-an-address")), http.StatusUnprocessableEntity)
	if n := added(); n > maxAnonymousRows {
		t.Fatalf("anonymous browsing stored %d sessions", n)
	}
	if got := c.cookie(ta.cfg.CookieName()); got != "" {
		t.Errorf("the anonymous browser holds a session cookie %q", got)
	}
	t.Logf("10,000 views of /login and %d of other public pages stored %d sessions", 100*len(pages), added())
}

// Signing in from a browser without a session writes the new session once, and deletes
// nothing: there was no session to replace.
func TestAnonymousLoginWritesOnce(t *testing.T) {
	ta := newTestApp(t)
	ta.createUser("ada", "ada@example.com", goodPassword)
	c := ta.client()
	c.get("/login")
	writes := ta.sessionWrites()
	wantStatus(t, c.post("/login", url.Values{"login": {"ada"}, "password": {goodPassword}}), http.StatusSeeOther)
	if n := ta.sessionWrites() - writes; n != 1 {
		t.Errorf("the login made %d writes to the session store, want 1", n)
	}
	if n := ta.sessionRows(); n != 1 {
		t.Errorf("%d sessions stored after one login", n)
	}
}

// A flash for a visitor without a session still shows after the redirect: the session is made
// to hold it, and is gone once it has been shown.
func TestAnonymousFlash(t *testing.T) {
	ta := newTestApp(t)
	_, ada := ta.signedInAda()
	link := ada.emailChangeLink("mallory@example.com") // confirmed in a browser where ada is not signed in
	c := ta.client()
	c.get("/login")
	before := ta.sessionRows()
	res := c.get(path(t, link))
	wantStatus(t, res, http.StatusSeeOther)
	page := c.get(res.Header.Get("Location"))
	if msg := page.doc.Find("#alerts").Text(); !strings.Contains(msg, "Your email address is now mallory@example.com") {
		t.Fatalf("the login page after the link says %q", strings.TrimSpace(msg))
	}
	if msg := c.get("/login").doc.Find("#alerts").Text(); strings.TrimSpace(msg) != "" {
		t.Errorf("the flash shows twice: %q", msg)
	}
	if n := ta.sessionRows() - before; n != 0 {
		t.Errorf("the flash's session stays after it was shown: %d rows", n)
	}
	if got := c.cookie(ta.cfg.CookieName()); got != "" {
		t.Errorf("the browser keeps the session cookie of a shown flash: %q", got)
	}
	// The form on that page still works.
	c.login("mallory@example.com", goodPassword)
	wantStatus(t, c.get("/dashboard"), http.StatusOK)
}

// The password reset keeps its token in a session made by the link, and ends with a flash on
// the login page.
func TestAnonymousPasswordResetFlash(t *testing.T) {
	ta := newTestApp(t)
	ta.createUser("ada", "ada@example.com", goodPassword)
	c := ta.client()
	c.get("/password/forgot")
	wantStatus(t, c.post("/password/forgot", url.Values{"email": {"ada@example.com"}}), http.StatusOK)
	link := ta.smtp.Next(t).Link(t, "http://127.0.0.1:8080/password/reset?token=")
	wantStatus(t, c.get(path(t, link)), http.StatusSeeOther)
	wantStatus(t, c.get("/password/reset"), http.StatusOK)
	newPassword := "violet-Harbour-1888"
	res := c.post("/password/reset", url.Values{"password": {newPassword}, "password_confirm": {newPassword}})
	wantStatus(t, res, http.StatusSeeOther)
	page := c.get(res.Header.Get("Location"))
	if msg := page.doc.Find("#alerts").Text(); !strings.Contains(msg, "Your password has been changed. Log in with the new one.") {
		t.Fatalf("the login page after the reset says %q", strings.TrimSpace(msg))
	}
	if c.cookie(ta.cfg.CookieName()) != "" {
		t.Error("the reset's session outlives its flash")
	}
	c.login("ada", newPassword)
}
