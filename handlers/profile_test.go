package handlers

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"tally/models"
)

// profileValues is a valid profile form with pairs of overrides.
func profileValues(kv ...string) url.Values {
	v := url.Values{"first_name": {"Ada"}, "last_name": {"Lovelace"}, "phone_number": {""}, "github_link": {""}, "birth_date": {""}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func TestProfileValidation(t *testing.T) {
	ta := newTestApp(t) // the test clock says 2026-11-23
	u, c := ta.signedInAda()
	c.get("/profile/edit")

	stored := func(t *testing.T, field string) string {
		t.Helper()
		p, err := models.FindProfile(ta.db, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		after, _ := models.FindUser(ta.db, u.ID)
		return map[string]string{"phone_number": p.PhoneNumber, "github_link": p.GitHubLink, "birth_date": p.BirthDate,
			"first_name": after.FirstName, "last_name": after.LastName}[field]
	}
	for _, tc := range []struct {
		name, field, input string
		want               string // the stored value; "" with wantErr
		wantErr            string // part of the message beside the field
	}{
		{"phone with spaces", "phone_number", "+44 20 7946 0958", "+442079460958", ""},
		{"phone with dots and dashes", "phone_number", " +1-202.555.0143 ", "+12025550143", ""},
		{"phone seven digits", "phone_number", "+1234567", "+1234567", ""},
		{"phone fifteen digits", "phone_number", "+123456789012345", "+123456789012345", ""},
		{"phone empty clears", "phone_number", "", "", ""},
		{"phone without plus", "phone_number", "020 7946 0958", "", "international format"},
		{"phone six digits", "phone_number", "+123456", "", "international format"},
		{"phone sixteen digits", "phone_number", "+1234567890123456", "", "international format"},
		{"phone country code 0", "phone_number", "+0441234567", "", "international format"},
		{"phone letters", "phone_number", "+44 20 CALL NOW", "", "international format"},
		{"phone brackets", "phone_number", "+44 (20) 7946 0958", "", "international format"},
		{"phone two pluses", "phone_number", "++442079460958", "", "international format"},
		{"phone arabic digits", "phone_number", "+٤٤٢٠٧٩٤٦٠٩٥٨", "", "international format"},
		{"phone control character", "phone_number", "+4420794\a60958", "", "control characters"},
		{"github bare username", "github_link", "octocat", "https://github.com/octocat", ""},
		{"github at username", "github_link", "@octo-cat", "https://github.com/octo-cat", ""},
		{"github full link", "github_link", "https://github.com/Octocat", "https://github.com/Octocat", ""},
		{"github link trailing slash", "github_link", "https://github.com/octocat/", "https://github.com/octocat", ""},
		{"github without scheme", "github_link", "github.com/octocat", "https://github.com/octocat", ""},
		{"github www and http", "github_link", "http://www.github.com/octocat", "https://github.com/octocat", ""},
		{"github 39 characters", "github_link", strings.Repeat("a", 39), "https://github.com/" + strings.Repeat("a", 39), ""},
		{"github 40 characters", "github_link", strings.Repeat("a", 40), "", "GitHub username"},
		{"github leading hyphen", "github_link", "-octocat", "", "GitHub username"},
		{"github double hyphen", "github_link", "octo--cat", "", "GitHub username"},
		{"github underscore", "github_link", "octo_cat", "", "GitHub username"},
		{"github other host", "github_link", "https://gitlab.com/octocat", "", "github.com"},
		{"github lookalike host", "github_link", "https://github.com.evil.example/octocat", "", "github.com"},
		{"github repository", "github_link", "https://github.com/octocat/hello-world", "", "GitHub username"},
		{"github query", "github_link", "https://github.com/octocat?tab=repositories", "", "GitHub username"},
		{"github credentials", "github_link", "https://x@github.com/octocat", "", "GitHub username"},
		{"github javascript", "github_link", "javascript:alert(1)", "", ""},
		{"github markup", "github_link", "<script>", "", "GitHub username"},
		{"birth date", "birth_date", "1990-05-17", "1990-05-17", ""},
		{"birth date first day", "birth_date", "1900-01-01", "1900-01-01", ""},
		{"birth date today", "birth_date", "2026-11-23", "2026-11-23", ""},
		{"birth date tomorrow", "birth_date", "2026-11-24", "", "between 1900 and today"},
		{"birth date before 1900", "birth_date", "1899-12-31", "", "between 1900 and today"},
		{"birth date not a day", "birth_date", "2023-02-29", "", "real date"},
		{"birth date other format", "birth_date", "17/05/1990", "", "real date"},
		{"birth date with time", "birth_date", "1990-05-17T00:00:00Z", "", "real date"},
		{"first name 150 characters", "first_name", strings.Repeat("é", 150), strings.Repeat("é", 150), ""},
		{"first name 151 characters", "first_name", strings.Repeat("é", 151), "", "at most 150"},
		{"last name trimmed", "last_name", "  Byron ", "Byron", ""},
		{"last name control character", "last_name", "By\x1bron", "", "control characters"},
		{"last name invalid UTF-8", "last_name", "By\xffron", "", "not valid text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := stored(t, tc.field)
			res := c.post("/profile", profileValues(tc.field, tc.input), htmx...)
			if tc.want == "" && tc.input != "" {
				wantStatus(t, res, http.StatusUnprocessableEntity)
				msg := res.doc.Find("#" + tc.field + "-error").Text()
				if msg == "" || !strings.Contains(msg, tc.wantErr) {
					t.Errorf("error beside %s = %q, want it to mention %q", tc.field, msg, tc.wantErr)
				}
				if inv, _ := res.doc.Find("#" + tc.field).Attr("aria-invalid"); inv != "true" {
					t.Error("field not marked invalid")
				}
				if got, _ := res.doc.Find("#" + tc.field).Attr("value"); got != strings.ToValidUTF8(tc.input, "\uFFFD") && tc.field != "last_name" {
					t.Errorf("typed value not kept: %q", got)
				}
				if got := stored(t, tc.field); got != before {
					t.Errorf("stored %q despite the error", got)
				}
				return
			}
			wantStatus(t, res, http.StatusOK)
			if got := stored(t, tc.field); got != tc.want {
				t.Errorf("stored %q, want %q", got, tc.want)
			}
		})
	}
}

func TestProfileEditInPlace(t *testing.T) {
	ta := newTestApp(t)
	_, c := ta.signedInAda()

	page := c.get("/profile")
	wantStatus(t, page, http.StatusOK)
	for sel, want := range map[string]string{
		"#profile-username": "ada", "#profile-email": "ada@example.com", "#profile-name": "Ada Lovelace",
		"#profile-phone": "Not set", "#profile-joined": "23 November 2026", "#profile-last-login": "23 November 2026, 12:00 UTC",
	} {
		if got := strings.TrimSpace(page.doc.Find(sel).Text()); !strings.HasPrefix(got, want) {
			t.Errorf("%s = %q, want %q", sel, got, want)
		}
	}
	edit := page.doc.Find("#profile-view #profile-edit")
	if href, _ := edit.Attr("href"); href != "/profile/edit" {
		t.Errorf("Edit works without JS only through href=/profile/edit, got %q", href)
	}
	if target, _ := edit.Attr("hx-target"); target != "#profile-view" {
		t.Errorf("Edit targets %q", target)
	}

	t.Run("edit swaps in the form", func(t *testing.T) {
		res := c.get("/profile/edit", htmx...)
		wantStatus(t, res, http.StatusOK)
		if res.doc.Find("html header, h1").Length() != 0 || res.doc.Find("form#profile-form").Length() != 1 {
			t.Fatalf("not a form fragment: %s", trim(res.body))
		}
		if v, _ := res.doc.Find("#first_name").Attr("value"); v != "Ada" {
			t.Errorf("form not filled: first_name = %q", v)
		}
		if _, ok := res.doc.Find("#first_name").Attr("autofocus"); !ok {
			t.Error("first field not focused after the swap")
		}
		cancel := res.doc.Find("#profile-cancel")
		if target, _ := cancel.Attr("hx-target"); target != "#profile-form" {
			t.Errorf("Cancel targets %q", target)
		}
	})
	t.Run("cancel swaps the view back", func(t *testing.T) {
		res := c.get("/profile", htmx...)
		wantStatus(t, res, http.StatusOK)
		if res.doc.Find("h1").Length() != 0 || res.doc.Find("#profile-view").Length() != 1 || res.doc.Find("#profile-saved").Length() != 0 {
			t.Errorf("not the view fragment: %s", trim(res.body))
		}
	})
	t.Run("errors inline", func(t *testing.T) {
		res := c.post("/profile", profileValues("phone_number", "12", "birth_date", "1800-01-01"), htmx...)
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if res.doc.Find("form#profile-form #phone_number-error").Length() != 1 || res.doc.Find("#birth_date-error").Length() != 1 {
			t.Errorf("errors not beside their fields: %s", trim(res.body))
		}
		if _, ok := res.doc.Find("#phone_number").Attr("autofocus"); !ok {
			t.Error("first invalid field not focused")
		}
	})
	t.Run("save swaps the view back", func(t *testing.T) {
		res := c.post("/profile", profileValues("first_name", "Augusta", "phone_number", "+44 20 7946 0958",
			"github_link", "ada-l", "birth_date", "1815-12-10"), htmx...)
		wantStatus(t, res, http.StatusUnprocessableEntity) // 1815 is before 1900
		res = c.post("/profile", profileValues("first_name", "Augusta", "phone_number", "+44 20 7946 0958",
			"github_link", "ada-l", "birth_date", "1915-12-10"), htmx...)
		wantStatus(t, res, http.StatusOK)
		if res.doc.Find("#profile-view #profile-saved").Length() != 1 {
			t.Fatalf("no view with confirmation: %s", trim(res.body))
		}
		for sel, want := range map[string]string{
			"#profile-name": "Augusta Lovelace", "#profile-phone": "+442079460958",
			"#profile-github": "github.com/ada-l", "#profile-birth-date": "10 December 1915",
		} {
			if got := strings.TrimSpace(res.doc.Find(sel).Text()); got != want {
				t.Errorf("%s = %q, want %q", sel, got, want)
			}
		}
		a := res.doc.Find("#profile-github a")
		if href, _ := a.Attr("href"); href != "https://github.com/ada-l" {
			t.Errorf("GitHub href = %q", href)
		}
		if rel, _ := a.Attr("rel"); !strings.Contains(rel, "noopener") {
			t.Errorf("GitHub rel = %q", rel)
		}
	})
	t.Run("without JS", func(t *testing.T) {
		form := c.get("/profile/edit")
		wantStatus(t, form, http.StatusOK)
		if form.doc.Find("h1").Length() != 1 || form.doc.Find("main form#profile-form").Length() != 1 {
			t.Fatal("GET /profile/edit is not a full page with the form")
		}
		if action, _ := form.doc.Find("#profile-form").Attr("action"); action != "/profile" {
			t.Errorf("form action = %q", action)
		}
		res := c.post("/profile", profileValues("github_link", "not a user!"))
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if res.doc.Find("h1").Length() != 1 || res.doc.Find("#github_link-error").Length() != 1 {
			t.Error("error page is not the full page with the error")
		}
		res = c.post("/profile", profileValues("last_name", "King"))
		wantStatus(t, res, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); loc != "/profile" {
			t.Errorf("Location = %q", loc)
		}
		page := c.get("/profile")
		if !strings.Contains(page.doc.Find("#alerts").Text(), "saved") || page.doc.Find("#profile-name").Text() != "Ada King" {
			t.Errorf("after save: alerts %q, name %q", page.doc.Find("#alerts").Text(), page.doc.Find("#profile-name").Text())
		}
	})
}

func TestProfileNeedsLogin(t *testing.T) {
	ta := newTestApp(t)
	c := ta.client()
	for _, p := range []string{"/profile", "/profile/edit", "/account/email", "/account/export", "/account/delete", "/avatars/1"} {
		res := c.get(p)
		wantStatus(t, res, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); !strings.HasPrefix(loc, "/login?next=") {
			t.Errorf("%s: Location = %q", p, loc)
		}
	}
	c.get("/login")
	for _, p := range []string{"/profile", "/profile/avatar", "/profile/avatar/delete", "/account/email", "/account/export", "/account/delete"} {
		if res := c.post(p, profileValues()); res.StatusCode != http.StatusSeeOther {
			t.Errorf("POST %s signed out: %d", p, res.StatusCode)
		}
	}
}

func TestProfileOnlyOwn(t *testing.T) {
	ta := newTestApp(t)
	ada := ta.createUser("ada", "ada@example.com", goodPassword)
	ta.createUser("bob", "bob@example.com", goodPassword)
	bob := ta.client()
	bob.login("bob", goodPassword)
	bob.get("/profile/edit")
	// There is no user id in the profile URLs: an id smuggled into the form changes nothing.
	form := profileValues("first_name", "Mallory", "phone_number", "+15555550100")
	form.Set("user_id", "1")
	form.Set("id", "1")
	wantStatus(t, bob.post("/profile", form), http.StatusSeeOther)
	after, _ := models.FindUser(ta.db, ada.ID)
	p, _ := models.FindProfile(ta.db, ada.ID)
	if after.FirstName != "Ada" || p.PhoneNumber != "" {
		t.Errorf("bob changed ada's profile: %q %q", after.FirstName, p.PhoneNumber)
	}
	if got := bob.get("/profile").doc.Find("#profile-name").Text(); got != "Mallory Lovelace" {
		t.Errorf("bob's own profile = %q", got)
	}
}

func TestMeIncludesProfile(t *testing.T) {
	ta := newTestApp(t, "TALLY_BASE_URL", "https://tally.example.org")
	u, c := ta.signedInAda()
	var me map[string]any
	decode := func() {
		t.Helper()
		res := c.get("/api/me")
		wantStatus(t, res, http.StatusOK)
		me = map[string]any{}
		if err := json.Unmarshal([]byte(res.body), &me); err != nil {
			t.Fatal(err)
		}
	}
	decode()
	for _, k := range []string{"phone_number", "github_link", "birth_date"} {
		if v, ok := me[k]; !ok || v != nil {
			t.Errorf("%s = %v (present %v), want null", k, v, ok)
		}
	}
	if s, _ := me["avatar_url"].(string); !strings.HasPrefix(s, "https://tally.example.org/avatars/") {
		t.Errorf("avatar_url = %v", me["avatar_url"])
	}
	c.get("/profile/edit")
	c.post("/profile", profileValues("phone_number", "+44 20 7946 0958", "github_link", "octocat", "birth_date", "1990-05-17"))
	decode()
	want := map[string]any{"phone_number": "+442079460958", "github_link": "https://github.com/octocat", "birth_date": "1990-05-17",
		"username": "ada", "id": float64(u.ID)}
	for k, v := range want {
		if me[k] != v {
			t.Errorf("%s = %v, want %v", k, me[k], v)
		}
	}
}
