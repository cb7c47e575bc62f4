package handlers

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"tally/models"
)

// The passkey ceremonies themselves are proved in the browser (e2e/passkeys_test.go, with
// Chromium's virtual authenticator); these tests cover what needs no authenticator: guards,
// tenancy, the last way in, expiry, export, deletion, the admin and the command line.

// passkeyBase is a base URL where passkeys can work (http://localhost); the default test base
// is an IP address, where they cannot.
var passkeyBase = []string{"TALLY_BASE_URL", "http://localhost:8080"}

// postJSON posts body as JSON with the client's CSRF token in the header, as passkeys.js does;
// csrf false leaves the header out.
func (c *client) postJSON(path string, body any, csrf bool) *response {
	c.ta.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		c.ta.t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, testBase.String()+strings.TrimPrefix(path, "/"), bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if csrf {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	return c.do(req)
}

// jsonError is the sentence of a JSON refusal.
func jsonError(t *testing.T, res *response) string {
	t.Helper()
	var v struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(res.body), &v); err != nil || v.Error == "" {
		t.Fatalf("%s: not a JSON error: %s", res.Request.URL.Path, trim(res.body))
	}
	return v.Error
}

// addPasskey stores a passkey for u directly, as a finished registration would.
func (ta *testApp) addPasskey(u *models.User, name string) *models.Passkey {
	ta.t.Helper()
	p := &models.Passkey{UserID: u.ID, CredentialID: []byte("credential-" + name + "-" + u.Username), UserHandle: []byte("handle-" + u.Username),
		PublicKey: []byte("public-key-of-" + name), AAGUID: make([]byte, 16), Name: name, CreatedAt: ta.clock.Now()}
	if err := models.AddPasskey(ta.db, p); err != nil {
		ta.t.Fatal(err)
	}
	return p
}

func (ta *testApp) passkeyCount(u *models.User) int64 {
	ta.t.Helper()
	n, err := models.CountUserPasskeys(ta.db, u.ID)
	if err != nil {
		ta.t.Fatal(err)
	}
	return n
}

func passkeyPath(p *models.Passkey, action string) string { return "/passkeys/" + itoa(p.ID) + action }

func itoa(id uint) string { return strconv.FormatUint(uint64(id), 10) }

// TestPasskeysOffAtIPAddress: at an IP base URL no page offers passkeys, the start says why,
// and the ceremonies answer 400 with a sentence.
func TestPasskeysOffAtIPAddress(t *testing.T) {
	ta := newTestApp(t) // http://127.0.0.1:8080
	if !strings.Contains(ta.logs.String(), "passkeys are off") || !strings.Contains(ta.logs.String(), "IP address") {
		t.Errorf("the start does not say passkeys are off: %s", ta.logs.String())
	}
	anon := ta.client()
	login := anon.get("/login")
	if n := login.doc.Find("[data-passkey]").Length(); n != 0 {
		t.Errorf("the login page offers %d passkey controls", n)
	}
	if ac, _ := login.doc.Find("input#login").Attr("autocomplete"); ac != "username" {
		t.Errorf("login autocomplete = %q", ac)
	}
	res := anon.postJSON("/passkeys/login/begin", map[string]string{"mode": "signin"}, true)
	wantStatus(t, res, http.StatusBadRequest)
	if msg := jsonError(t, res); msg != errPasskeysOff {
		t.Errorf("begin said %q", msg)
	}

	_, c := ta.signedInAda()
	page := c.get("/account/security")
	if page.doc.Find("#passkey-add-form").Length() != 0 || page.doc.Find("#passkeys-off").Length() != 1 {
		t.Error("the security page offers to add a passkey, or does not say why not")
	}
	res = c.postJSON("/passkeys/register/begin", map[string]string{"name": "Laptop", "password": goodPassword}, true)
	wantStatus(t, res, http.StatusBadRequest)
	if msg := jsonError(t, res); msg != errPasskeysOff {
		t.Errorf("register begin said %q", msg)
	}
}

// TestPasskeysOffered: at http://localhost the login page has the button and autofill, and the
// security page the add form.
func TestPasskeysOffered(t *testing.T) {
	ta := newTestApp(t, passkeyBase...)
	login := ta.client().get("/login")
	if login.doc.Find(`#login-form button[data-passkey="signin"]`).Length() != 1 {
		t.Error("no passkey button on the login page")
	}
	if ac, _ := login.doc.Find("input#login").Attr("autocomplete"); ac != "username webauthn" {
		t.Errorf("login autocomplete = %q", ac)
	}
	_, c := ta.signedInAda()
	if c.get("/account/security").doc.Find("form#passkey-add-form[hidden]").Length() != 1 {
		t.Error("no (hidden until the script shows it) add form on the security page")
	}
}

// TestPasskeyGuards: signed out, without the CSRF header, and while staff view as the user.
func TestPasskeyGuards(t *testing.T) {
	ta := newTestApp(t, passkeyBase...)
	ada := ta.createUser("ada", "ada@example.com", goodPassword)
	c := ta.signedIn("ada") // before her passkey, which would ask for it after the password
	p := ta.addPasskey(ada, "Laptop")
	ta.createAdmin("staff", false)

	anon := ta.signedIn("")
	res := anon.postJSON("/passkeys/register/begin", map[string]string{"name": "x"}, true)
	wantStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); !strings.HasPrefix(loc, "/login") {
		t.Errorf("signed out: Location %q", loc)
	}
	wantStatus(t, anon.postJSON("/passkeys/login/begin", map[string]string{"mode": "signin"}, false), http.StatusForbidden)
	wantStatus(t, anon.postJSON("/passkeys/login/finish", map[string]any{}, false), http.StatusForbidden)

	wantStatus(t, c.postJSON("/passkeys/register/begin", map[string]string{"name": "x", "password": goodPassword}, false), http.StatusForbidden)
	wantStatus(t, c.postJSON("/passkeys/register/finish", map[string]any{}, false), http.StatusForbidden)
	wantStatus(t, c.post(passkeyPath(p, "/delete"), url.Values{"_csrf": {""}}), http.StatusForbidden)

	staff := ta.signedIn("staff")
	wantStatus(t, staff.impersonate(ada), http.StatusSeeOther)
	page := staff.get("/account/security")
	wantStatus(t, page, http.StatusOK)
	if page.doc.Find("#passkeys-h").Length() != 0 {
		t.Error("staff viewing as ada see her passkeys")
	}
	for _, res := range []*response{
		staff.postJSON("/passkeys/register/begin", map[string]string{"name": "x", "password": goodPassword}, true),
		staff.postJSON("/passkeys/register/finish", map[string]any{}, true),
		staff.post(passkeyPath(p, ""), url.Values{"name": {"Mine now"}}),
		staff.post(passkeyPath(p, "/delete"), nil),
	} {
		wantStatus(t, res, http.StatusForbidden)
	}
	if ta.passkeyCount(ada) != 1 {
		t.Error("a passkey was removed while impersonated")
	}
}

// TestPasskeyRenameDelete: the owner renames and removes; another user's passkey answers 404
// exactly like one that does not exist.
func TestPasskeyRenameDelete(t *testing.T) {
	ta := newTestApp(t, passkeyBase...)
	ada := ta.createUser("ada", "ada@example.com", goodPassword)
	bob := ta.createUser("bob", "bob@example.com", goodPassword)
	c := ta.signedIn("ada")
	mine := ta.addPasskey(ada, "Laptop")
	theirs := ta.addPasskey(bob, "Phone")

	missing := &models.Passkey{ID: theirs.ID + 100}
	for _, action := range []string{"", "/delete"} {
		other := c.post(passkeyPath(theirs, action), url.Values{"name": {"Taken"}, "password": {goodPassword}})
		none := c.post(passkeyPath(missing, action), url.Values{"name": {"Taken"}, "password": {goodPassword}})
		wantStatus(t, other, http.StatusNotFound)
		wantStatus(t, none, http.StatusNotFound)
		if other.body != none.body {
			t.Errorf("%s: another user's passkey and a missing one answer differently:\n%s\n%s", action, trim(other.body), trim(none.body))
		}
	}
	if p, _ := models.FindUserPasskey(ta.db, bob.ID, theirs.ID); p == nil || p.Name != "Phone" {
		t.Fatalf("bob's passkey changed: %+v", p)
	}

	page := c.get("/account/security")
	if got := trim(page.doc.Find("#passkey-" + itoa(mine.ID) + " .passkey-name").Text()); got != "Laptop" {
		t.Errorf("the list shows %q", got)
	}
	wantStatus(t, c.post(passkeyPath(mine, ""), url.Values{"name": {"Work laptop"}}), http.StatusSeeOther)
	if p, _ := models.FindUserPasskey(ta.db, ada.ID, mine.ID); p == nil || p.Name != "Work laptop" {
		t.Fatalf("not renamed: %+v", p)
	}
	c.get("/account/security")
	res := c.post(passkeyPath(mine, "/delete"), url.Values{"password": {goodPassword}})
	wantStatus(t, res, http.StatusSeeOther)
	if ta.passkeyCount(ada) != 0 {
		t.Fatal("not removed")
	}
	ta.waitMail(t, "A passkey was removed")
	var kinds []string
	ta.db.Model(&models.SecurityEvent{}).Where("user_id = ?", ada.ID).Order("id").Pluck("kind", &kinds)
	if !strings.Contains(strings.Join(kinds, " "), models.EventPasskeyRenamed+" "+models.EventPasskeyRemoved) {
		t.Errorf("events %q", kinds)
	}
}

// TestPasskeyLastWayIn: without a password, the last passkey stays.
func TestPasskeyLastWayIn(t *testing.T) {
	ta := newTestApp(t, passkeyBase...)
	ada := ta.createUser("ada", "ada@example.com", goodPassword)
	c := ta.signedIn("ada")
	first, second := ta.addPasskey(ada, "Laptop"), ta.addPasskey(ada, "Key")
	// No account has lost its password yet; the rule is for when one can.
	err := models.Transaction(ta.db, func(tx *gorm.DB) error {
		return tx.Model(&models.User{}).Where("id = ?", ada.ID).Update("password_hash", "").Error
	})
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, c.post(passkeyPath(first, "/delete"), nil), http.StatusSeeOther)
	res := c.post(passkeyPath(second, "/delete"), nil)
	wantStatus(t, res, http.StatusConflict)
	if !strings.Contains(res.doc.Find("main").Text(), "only way into your account") {
		t.Errorf("no reason given: %s", trim(res.doc.Find("main").Text()))
	}
	if ta.passkeyCount(ada) != 1 {
		t.Error("the last way in was removed")
	}
}

// TestPasskeyCeremonyExpiry: a begun ceremony expires by the app's clock and is answered once.
func TestPasskeyCeremonyExpiry(t *testing.T) {
	ta := newTestApp(t, passkeyBase...)
	_, c := ta.signedInAda()
	c.get("/account/security")

	res := c.postJSON("/passkeys/register/begin", map[string]string{"name": "Laptop", "password": "wrong-" + goodPassword}, true)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if msg := jsonError(t, res); msg != "Your password is not correct." {
		t.Errorf("wrong password said %q", msg)
	}
	res = c.postJSON("/passkeys/register/begin", map[string]string{"name": "Laptop", "password": goodPassword}, true)
	wantStatus(t, res, http.StatusOK)
	var creation struct {
		PublicKey struct {
			Challenge string              `json:"challenge"`
			RP        struct{ ID string } `json:"rp"`
			User      struct{ ID string } `json:"user"`
			Selection struct {
				ResidentKey string `json:"residentKey"`
			} `json:"authenticatorSelection"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal([]byte(res.body), &creation); err != nil {
		t.Fatal(err)
	}
	pk := creation.PublicKey
	if _, err := base64.RawURLEncoding.DecodeString(pk.Challenge); err != nil || pk.RP.ID != "localhost" || pk.User.ID == "" || pk.Selection.ResidentKey != "required" {
		t.Errorf("creation options %s", res.body)
	}

	ta.clock.Advance(ceremonyTTL + time.Second)
	res = c.postJSON("/passkeys/register/finish", map[string]string{"id": "x"}, true)
	wantStatus(t, res, http.StatusBadRequest)
	if msg := jsonError(t, res); msg != errCeremonyGone {
		t.Errorf("an expired registration said %q", msg)
	}

	// In time, a finish that cannot be read is refused for that, and the ceremony is spent.
	wantStatus(t, c.postJSON("/passkeys/register/begin", map[string]string{"name": "Laptop", "password": goodPassword}, true), http.StatusOK)
	res = c.postJSON("/passkeys/register/finish", map[string]string{"id": "x"}, true)
	wantStatus(t, res, http.StatusBadRequest)
	if msg := jsonError(t, res); msg != errPasskeyUnreadable {
		t.Errorf("an unreadable registration said %q", msg)
	}
	res = c.postJSON("/passkeys/register/finish", map[string]string{"id": "x"}, true)
	if msg := jsonError(t, res); res.StatusCode != http.StatusBadRequest || msg != errCeremonyGone {
		t.Errorf("a second finish: %d %q", res.StatusCode, msg)
	}

	anon := ta.signedIn("")
	res = anon.postJSON("/passkeys/login/begin", map[string]string{"mode": "signin"}, true)
	wantStatus(t, res, http.StatusOK)
	if !strings.Contains(res.body, `"rpId":"localhost"`) || !strings.Contains(res.body, `"publicKey":`) {
		t.Errorf("request options %s", res.body)
	}
	ta.clock.Advance(ceremonyTTL + time.Second)
	res = anon.postJSON("/passkeys/login/finish", map[string]any{"credential": map[string]string{"id": "x"}}, true)
	if msg := jsonError(t, res); res.StatusCode != http.StatusBadRequest || msg != errCeremonyGone {
		t.Errorf("an expired sign-in: %d %q", res.StatusCode, msg)
	}
	res = anon.postJSON("/passkeys/login/begin", map[string]string{"mode": "second"}, true)
	if msg := jsonError(t, res); res.StatusCode != http.StatusBadRequest || msg != errNoSecondStep {
		t.Errorf("a second step without a password: %d %q", res.StatusCode, msg)
	}
}

// TestPasskeyExportDeleteAdminCLI: the export lists names and dates only; account deletion, a
// superuser (audited) and reset-2fa remove them.
func TestPasskeyExportDeleteAdminCLI(t *testing.T) {
	ta := newTestApp(t, passkeyBase...)
	ada := ta.createUser("ada", "ada@example.com", goodPassword)
	c := ta.signedIn("ada")
	p := ta.addPasskey(ada, "Laptop")
	c.get("/account/export")
	res := c.post("/account/export", url.Values{"password": {goodPassword}})
	wantStatus(t, res, http.StatusOK)
	var x struct {
		Passkeys []map[string]any `json:"passkeys"`
	}
	if err := json.Unmarshal([]byte(res.body), &x); err != nil {
		t.Fatal(err)
	}
	if len(x.Passkeys) != 1 || x.Passkeys[0]["name"] != "Laptop" || x.Passkeys[0]["created_at"] == nil || len(x.Passkeys[0]) != 3 {
		t.Errorf("export passkeys %v", x.Passkeys)
	}
	for _, secret := range [][]byte{p.PublicKey, p.CredentialID, p.UserHandle} {
		for _, enc := range []string{string(secret), base64.StdEncoding.EncodeToString(secret), base64.RawURLEncoding.EncodeToString(secret)} {
			if strings.Contains(res.body, enc) {
				t.Errorf("the export holds %q", enc)
			}
		}
	}

	super := ta.createAdmin("root", true)
	ta.createAdmin("staff", false)
	staff := ta.signedIn("staff")
	staff.get(userPath(ada, ""))
	wantStatus(t, staff.post(userPath(ada, "/passkeys/delete"), nil), http.StatusForbidden)
	admin := ta.signedIn("root")
	page := admin.get(userPath(ada, ""))
	if trim(page.doc.Find("#user-passkeys").Text()) != "1" || page.doc.Find("#passkeys-remove-button").Length() != 1 {
		t.Error("the admin page does not show the passkeys or the button")
	}
	wantStatus(t, admin.post(userPath(ada, "/passkeys/delete"), nil), http.StatusSeeOther)
	if ta.passkeyCount(ada) != 0 {
		t.Fatal("the superuser did not remove them")
	}
	var ev models.SecurityEvent
	ta.db.Where("user_id = ? AND kind = ?", ada.ID, models.EventPasskeyRemoved).Take(&ev)
	if ev.ActorID == nil || *ev.ActorID != super.ID {
		t.Errorf("the removal is not recorded with its superuser: %+v", ev)
	}
	ta.waitMail(t, "A passkey was removed")

	ta.addPasskey(ada, "Key")
	out, _, err := ta.runCLI("", nil, "reset-2fa", "ada")
	if err != nil || !strings.Contains(out, "passkeys of ada are removed") {
		t.Errorf("reset-2fa: %v %q", err, out)
	}
	if ta.passkeyCount(ada) != 0 {
		t.Fatal("reset-2fa left the passkeys")
	}

	c = ta.signedIn("ada")
	ta.addPasskey(ada, "Phone")
	c.get("/account/delete")
	wantStatus(t, c.post("/account/delete", url.Values{"password": {goodPassword}}), http.StatusSeeOther)
	if n := userRows(t, ta, ada.ID)["passkeys"]; n != 0 {
		t.Errorf("%d passkeys left after the account's deletion", n)
	}
	var left int64
	ta.db.Model(&models.Passkey{}).Count(&left)
	if left != 0 {
		t.Errorf("%d passkeys left", left)
	}
}

// TestPasskeyJSONRefusals: the ceremonies' routes take JSON only, and their guards' refusals (a
// body too large, a missing CSRF token) are JSON with the sentence passkeys.js shows.
func TestPasskeyJSONRefusals(t *testing.T) {
	ta := newTestApp(t, passkeyBase...)
	_, c := ta.signedInAda()
	c.get("/account/security")
	anon := ta.client()
	anon.get("/login")
	wantJSONError := func(t *testing.T, res *response, status int, msg string) {
		t.Helper()
		wantStatus(t, res, status)
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s answered %s: %s", res.Request.URL.Path, ct, trim(res.body))
		}
		if got := jsonError(t, res); got != msg {
			t.Errorf("%s said %q, want %q", res.Request.URL.Path, got, msg)
		}
	}
	for _, tc := range []struct {
		path string
		c    *client
	}{
		{"/passkeys/login/begin", anon}, {"/passkeys/login/finish", anon},
		{"/passkeys/register/begin", c}, {"/passkeys/register/finish", c},
	} {
		t.Run(tc.path, func(t *testing.T) {
			for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", ""} {
				req, _ := http.NewRequest(http.MethodPost, testBase.String()+strings.TrimPrefix(tc.path, "/"), strings.NewReader(`{"mode":"signin"}`))
				if ct != "" {
					req.Header.Set("Content-Type", ct)
				}
				req.Header.Set("X-CSRF-Token", tc.c.csrf)
				wantJSONError(t, tc.c.do(req), http.StatusBadRequest, errPasskeyNotJSON)
			}
			big := map[string]string{"mode": strings.Repeat("x", formBodyLimit)}
			wantJSONError(t, tc.c.postJSON(tc.path, big, true), http.StatusRequestEntityTooLarge, defaultMessage(http.StatusRequestEntityTooLarge))
			wantJSONError(t, tc.c.postJSON(tc.path, map[string]string{"mode": "signin"}, false), http.StatusForbidden, errCSRF.Message)
		})
	}
	// A form post keeps its page.
	res := anon.post("/login", url.Values{"login": {"ada"}, "password": {"x"}, "_csrf": {"forged"}})
	if res.StatusCode != http.StatusForbidden || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Errorf("a form's CSRF refusal: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
}

// TestPasskeyRenameRefused: a refused rename is the form convention's 422: the passkeys section
// again, with what was typed and the error tied to the field, alone for htmx and inside the
// page without it; rename and remove forms post with htmx into that section.
func TestPasskeyRenameRefused(t *testing.T) {
	ta := newTestApp(t, passkeyBase...)
	ada := ta.createUser("ada", "ada@example.com", goodPassword)
	c := ta.signedIn("ada")
	p := ta.addPasskey(ada, "Laptop")
	id := itoa(p.ID)

	page := c.get("/account/security")
	for _, sel := range []string{"form.passkey-rename", "#passkey-remove-" + id} {
		form := page.doc.Find("#passkey-" + id + " " + sel)
		post, _ := form.Attr("hx-post")
		target, _ := form.Attr("hx-target")
		action, _ := form.Attr("action")
		if post == "" || post != action || target != "#passkeys-section" || page.doc.Find(target).Length() != 1 {
			t.Errorf("%s: hx-post %q (action %q), hx-target %q", sel, post, action, target)
		}
	}
	for _, tc := range []struct {
		name, typed, msg string
		headers          []string
	}{
		{"empty, full page", "", "Give the passkey a name.", nil},
		{"blank, htmx", "   ", "Give the passkey a name.", htmx},
		{"control character, htmx", "Lap\x01top", "", htmx},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := c.post(passkeyPath(p, ""), url.Values{"name": {tc.typed}}, tc.headers...)
			wantStatus(t, res, http.StatusUnprocessableEntity)
			full := res.doc.Find("html body").Length() > 0 && res.doc.Find("h1").Length() > 0
			if full == (tc.headers != nil) {
				t.Errorf("htmx %v, but the answer is a full page: %v", tc.headers != nil, full)
			}
			input := res.doc.Find("#passkeys-section #passkey-name-" + id)
			if v, _ := input.Attr("value"); v != strings.TrimSpace(tc.typed) {
				t.Errorf("the field shows %q, typed %q", v, tc.typed)
			}
			errEl := res.doc.Find("#passkey-name-" + id + "-error")
			if inv, _ := input.Attr("aria-invalid"); inv != "true" || !strings.Contains(input.AttrOr("aria-describedby", ""), "passkey-name-"+id+"-error") {
				t.Errorf("the field is not marked invalid: %v", input.Nodes)
			}
			if got := trim(errEl.Text()); got == "" || (tc.msg != "" && got != tc.msg) {
				t.Errorf("the field's error says %q", got)
			}
			if _, ok := input.Attr("autofocus"); !ok {
				t.Error("the refused field does not take the focus")
			}
		})
	}
	if got, _ := models.FindUserPasskey(ta.db, ada.ID, p.ID); got == nil || got.Name != "Laptop" {
		t.Fatalf("a refused rename changed the passkey: %+v", got)
	}
	res := c.post(passkeyPath(p, ""), url.Values{"name": {"Work laptop"}}, htmx...)
	if res.StatusCode != http.StatusNoContent || res.Header.Get("HX-Redirect") != "/account/security" {
		t.Errorf("an htmx rename answered %d, HX-Redirect %q", res.StatusCode, res.Header.Get("HX-Redirect"))
	}
	res = c.post(passkeyPath(p, "/delete"), url.Values{"password": {"wrong"}}, htmx...)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if res.doc.Find("h1").Length() != 0 || res.doc.Find("#passkeys-section #passkey-remove-password-"+id+"-error").Length() != 1 {
		t.Errorf("a refused htmx removal is not the section with the error: %s", trim(res.body))
	}
}
