package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The number format is a profile setting: offered as a select, refused when not in the list,
// kept when a form without the field is posted, and shown on the profile.
func TestProfileNumberFormat(t *testing.T) {
	ta := newTestApp(t)
	_, c := ta.signedInAda()
	form := func(nf string) url.Values {
		v := url.Values{"first_name": {"Ada"}, "last_name": {"Lovelace"}}
		if nf != "" {
			v.Set("number_format", nf)
		}
		return v
	}
	edit := c.get("/profile/edit")
	if n := edit.doc.Find(`select#number_format option`).Length(); n != 4 {
		t.Fatalf("number format options = %d", n)
	}
	if v, _ := edit.doc.Find(`select#number_format option[selected]`).Attr("value"); v != "1,234.56" {
		t.Errorf("default selected = %q", v)
	}

	res := c.post("/profile", form("1.2.3"))
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if msg := res.doc.Find("#number_format-error").Text(); msg == "" {
		t.Error("no error beside the number format")
	}

	wantStatus(t, c.post("/profile", form("1.234,56")), http.StatusSeeOther)
	wantStatus(t, c.post("/profile", form("")), http.StatusSeeOther) // an older form keeps it
	page := c.get("/profile")
	if got := strings.TrimSpace(page.doc.Find("#profile-number-format").Text()); !strings.HasPrefix(got, "1.234,56") {
		t.Errorf("profile shows %q", got)
	}
}
