package handlers

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"tally/models"
)

// createAdmin stores an active staff member, and a superuser when super is set.
func (ta *testApp) createAdmin(username string, super bool) *models.User {
	ta.t.Helper()
	u := ta.createUser(username, username+"@example.com", goodPassword)
	if err := ta.db.Model(u).Updates(map[string]any{"is_staff": true, "is_superuser": super}).Error; err != nil {
		ta.t.Fatal(err)
	}
	u.IsStaff, u.IsSuperuser = true, super
	return u
}

// signedIn returns a client logged in as login ("" for anonymous) holding a fresh CSRF token.
func (ta *testApp) signedIn(login string) *client {
	ta.t.Helper()
	c := ta.client()
	if login == "" {
		c.get("/login")
		return c
	}
	c.login(login, goodPassword)
	c.get("/dashboard")
	return c
}

func (ta *testApp) user(id uint) *models.User {
	ta.t.Helper()
	u, err := models.FindUser(ta.db, id)
	if err != nil {
		ta.t.Fatal(err)
	}
	return u
}

func userPath(u *models.User, action string) string {
	return fmt.Sprintf("/admin/users/%d%s", u.ID, action)
}

// TestAdminAccess tries every admin route as each kind of visitor. Anonymous visitors and
// users get 404, as for a page that does not exist; staff get everything but the
// superuser-only staff switch (403).
func TestAdminAccess(t *testing.T) {
	ta := newTestApp(t)
	ta.createUser("user", "user@example.com", goodPassword)
	ta.createAdmin("staff", false)
	ta.createAdmin("super", true)
	routes := []struct {
		method, action string
		form           url.Values
	}{
		{"GET", "", nil},
		{"POST", "/activate", nil},
		{"POST", "/deactivate", nil},
		{"POST", "/resend-verification", nil},
		{"POST", "/send-reset", nil},
		{"POST", "/impersonate", nil},
		{"POST", "/staff", url.Values{"grant": {"1"}}},
	}
	n := 0
	for _, role := range []string{"", "user", "staff", "super"} {
		for _, r := range routes {
			name := orDefault(role, "anonymous") + " " + r.method + " " + orDefault(r.action, "detail")
			t.Run(name, func(t *testing.T) {
				n++
				target := ta.createUser(fmt.Sprintf("target%d", n), fmt.Sprintf("target%d@example.com", n), goodPassword)
				c := ta.signedIn(role)
				var res *response
				if r.method == "GET" {
					res = c.get(userPath(target, ""))
				} else {
					res = c.post(userPath(target, r.action), r.form)
				}
				want := http.StatusSeeOther
				switch {
				case role == "" || role == "user":
					want = http.StatusNotFound
				case r.method == "GET":
					want = http.StatusOK
				case role == "staff" && r.action == "/staff":
					want = http.StatusForbidden
				}
				wantStatus(t, res, want)
				if want == http.StatusNotFound && strings.Contains(res.body, "admin") {
					t.Errorf("the 404 page mentions the admin: %s", res.doc.Find("main").Text())
				}
				if role != "super" && ta.user(target.ID).IsStaff {
					t.Error("a non-superuser made someone staff")
				}
			})
		}
		t.Run(orDefault(role, "anonymous")+" list", func(t *testing.T) {
			want := http.StatusNotFound
			if role == "staff" || role == "super" {
				want = http.StatusOK
			}
			wantStatus(t, ta.signedIn(role).get("/admin/users"), want)
		})
		t.Run(orDefault(role, "anonymous")+" stop without impersonating", func(t *testing.T) {
			wantStatus(t, ta.signedIn(role).post("/admin/impersonate/stop", nil), http.StatusNotFound)
		})
	}
	t.Run("nav link for staff only", func(t *testing.T) {
		for role, want := range map[string]int{"user": 0, "staff": 1, "super": 1} {
			if got := ta.signedIn(role).get("/dashboard").doc.Find(`nav a[href="/admin/users"]`).Length(); got != want {
				t.Errorf("%s sees %d admin links, want %d", role, got, want)
			}
		}
	})
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// listed returns the usernames in the results table, in order.
func listed(res *response) []string {
	var out []string
	res.doc.Find("#admin-users tr td.username").Each(func(_ int, s *goquery.Selection) {
		out = append(out, s.Text())
	})
	return out
}

func TestAdminUserList(t *testing.T) {
	ta := newTestApp(t)
	boss := ta.createAdmin("boss", true)
	ta.db.Model(boss).Updates(map[string]any{"first_name": "Big", "last_name": "Boss"})
	for _, n := range []struct{ username, first, last string }{
		{"ada_l", "Ada", "Lovelace"}, {"grace", "Grace", "Hopper"}, {"alan", "Alan", "Turing"}, {"adam50", "Adam", "Smith"},
	} {
		ta.clock.Advance(time.Hour)
		u, err := models.CreateUser(ta.db, models.NewUser{Username: n.username, Email: n.username + "@example.com",
			FirstName: n.first, LastName: n.last, PasswordHash: "x", Active: n.username != "alan"}, ta.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if n.username == "grace" {
			models.SetUserStaff(ta.db, u, true)
		}
	}
	c := ta.signedIn("boss")

	t.Run("page without JS", func(t *testing.T) {
		res := c.get("/admin/users")
		wantStatus(t, res, http.StatusOK)
		form := res.doc.Find(`form#admin-filter[method="get"][action="/admin/users"]`)
		if form.Find(`button[type="submit"]`).Length() != 1 || form.Find(`select[name="staff"]`).Length() != 1 {
			t.Error("the filter form does not work without JS")
		}
		search := res.doc.Find("#admin-search")
		if trig, _ := search.Attr("hx-trigger"); !strings.Contains(trig, "delay:300ms") || search.AttrOr("hx-get", "") != "/admin/users" ||
			form.AttrOr("hx-push-url", "") != "true" || form.AttrOr("hx-target", "") != "#admin-results" {
			t.Error("the search input is not an active search")
		}
		if got := listed(res); !slices.Equal(got, []string{"adam50", "alan", "grace", "ada_l", "boss"}) {
			t.Errorf("default list = %v", got)
		}
		if res.doc.Find("#admin-users-table th").Length() != 8 {
			t.Error("columns missing")
		}
	})
	for _, tc := range []struct {
		name, query string
		want        []string
	}{
		{"search any case", "q=ADA", []string{"adam50", "ada_l"}},
		{"search by last name", "q=hop", []string{"grace"}},
		{"search by email", "q=alan%40ex", []string{"alan"}},
		{"two words", "q=ada+love", []string{"ada_l"}},
		{"like wildcards are literal", "q=a_a", nil},
		{"staff filter", "staff=yes", []string{"grace", "boss"}},
		{"not staff", "staff=no", []string{"adam50", "alan", "ada_l"}},
		{"inactive", "active=no", []string{"alan"}},
		{"unverified", "verified=no", []string{"alan"}},
		{"filter and search", "q=a&active=yes", []string{"adam50", "ada_l"}},
		{"sort by username", "sort=username", []string{"ada_l", "adam50", "alan", "boss", "grace"}},
		{"sort by name desc", "sort=-name", []string{"alan", "adam50", "ada_l", "grace", "boss"}},
		{"unknown sort", "sort=password_hash", []string{"adam50", "alan", "grace", "ada_l", "boss"}},
		{"hostile values", "staff=maybe&page=-3&q=%00", []string{"adam50", "alan", "grace", "ada_l", "boss"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := c.get("/admin/users?"+tc.query, htmx...)
			wantStatus(t, res, http.StatusOK)
			if res.doc.Find("html header, #admin-filter").Length() != 0 || res.doc.Find("section#admin-results").Length() != 1 {
				t.Fatalf("htmx did not get the results fragment alone: %s", trim(res.body))
			}
			if got := listed(res); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
			if full := c.get("/admin/users?" + tc.query); !slices.Equal(listed(full), tc.want) {
				t.Errorf("full page differs from the fragment: %v", listed(full))
			}
		})
	}
	t.Run("sort headers", func(t *testing.T) {
		res := c.get("/admin/users?sort=username&staff=yes")
		th := res.doc.Find(`th[aria-sort="ascending"]`)
		if href := th.Find("a").AttrOr("href", ""); th.Length() != 1 || href != "/admin/users?sort=-username&staff=yes" {
			t.Errorf("sorted column links to %q", href)
		}
		if res.doc.Find(`input[type="hidden"][name="sort"]`).AttrOr("value", "") != "username" {
			t.Error("a new search forgets the sort")
		}
	})
	// A refused search says why beside the field and keeps what was typed; searching as you
	// type carries the message to the field out of band, since the field itself is not swapped.
	t.Run("bad search text", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			headers []string
		}{{"page", nil}, {"as you type", htmx}} {
			res := c.get("/admin/users?q=ada%01", tc.headers...)
			wantStatus(t, res, http.StatusOK)
			msg := res.doc.Find("#admin-search-error")
			if !strings.Contains(msg.Text(), "control characters") || msg.AttrOr("role", "") != "alert" {
				t.Errorf("%s: no explanation beside the field: %q", tc.name, msg.Text())
			}
			if tc.headers == nil {
				search := res.doc.Find("#admin-search")
				if search.AttrOr("value", "") != "ada\x01" || search.AttrOr("aria-invalid", "") != "true" ||
					!strings.Contains(search.AttrOr("aria-describedby", ""), "admin-search-error") {
					t.Errorf("the field after a refused search: value %q, aria-invalid %q", search.AttrOr("value", ""), search.AttrOr("aria-invalid", ""))
				}
			} else if msg.AttrOr("hx-swap-oob", "") != "true" {
				t.Error("the message is not swapped out of band")
			}
		}
		// A search that runs clears the message.
		if msg := c.get("/admin/users?q=ada", htmx...).doc.Find("#admin-search-error"); msg.Text() != "" || msg.AttrOr("hidden", "x") == "x" {
			t.Errorf("after a good search the message is %q", msg.Text())
		}
	})
}

func TestAdminUserListPages(t *testing.T) {
	ta := newTestApp(t)
	ta.createAdmin("boss", true)
	for i := range 60 {
		ta.clock.Advance(time.Minute)
		if _, err := models.CreateUser(ta.db, models.NewUser{Username: fmt.Sprintf("user%02d", i), Email: fmt.Sprintf("u%02d@example.com", i),
			PasswordHash: "x", Active: true}, ta.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	c := ta.signedIn("boss")
	res := c.get("/admin/users?sort=username")
	if got := listed(res); len(got) != 50 || got[0] != "boss" || got[49] != "user48" {
		t.Fatalf("page 1 = %v", got)
	}
	if !strings.Contains(res.doc.Find("#admin-count").Text(), "61 users, page 1 of 2") {
		t.Errorf("count = %q", res.doc.Find("#admin-count").Text())
	}
	next := res.doc.Find(`a[rel="next"]`).AttrOr("href", "")
	if next != "/admin/users?page=2&sort=username" {
		t.Fatalf("next = %q", next)
	}
	res = c.get(next, htmx...)
	if got := listed(res); !slices.Equal(got, []string{"user49", "user50", "user51", "user52", "user53", "user54", "user55", "user56", "user57", "user58", "user59"}) {
		t.Errorf("page 2 = %v", got)
	}
	if res.doc.Find(`a[rel="next"]`).Length() != 0 || res.doc.Find(`a[rel="prev"]`).Length() != 1 {
		t.Error("wrong page links on the last page")
	}
	// A page number whose offset overflows is past the end like any other, not the first page.
	for _, page := range []string{"3", "9223372036854775807"} {
		if got := listed(c.get("/admin/users?sort=username&page="+page, htmx...)); len(got) != 0 {
			t.Errorf("page %s = %v, want none", page, got)
		}
	}
}
