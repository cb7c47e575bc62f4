package handlers

import (
	"bytes"
	"encoding/json"
	"image/png"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/pquerna/otp/totp"
	"gorm.io/gorm"

	"tally/mail/mailtest"
	"tally/models"
)

// totpCode is the authenticator's code of secret at t, as a phone would show it.
func totpCode(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCode(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// otherCode is a six-digit code that is not any of codes.
func otherCode(codes ...string) string {
	for _, c := range []string{"000000", "111111", "222222"} {
		if !strings.Contains(strings.Join(codes, " "), c) {
			return c
		}
	}
	panic("unreachable")
}

// enrolTwoFactor turns two-factor on for c's user as a person does: reads the key on the page,
// types the code their app computes from it, and returns the key and the recovery codes shown.
func (c *client) enrolTwoFactor() (secret string, codes []string) {
	t := c.ta.t
	t.Helper()
	page := c.get("/account/2fa")
	wantStatus(t, page, http.StatusOK)
	secret = strings.ReplaceAll(page.doc.Find("#twofactor-key").Text(), " ", "")
	if len(secret) != 32 {
		t.Fatalf("key %q on the enrolment page, want 32 base32 letters (20 bytes)", secret)
	}
	res := c.post("/account/2fa", url.Values{"code": {totpCode(t, secret, c.ta.clock.Now())}})
	wantStatus(t, res, http.StatusOK)
	res.doc.Find("#recovery-codes code").Each(func(_ int, s *goquery.Selection) { codes = append(codes, s.Text()) })
	if len(codes) != 10 {
		t.Fatalf("%d recovery codes shown, want 10:\n%s", len(codes), trim(res.body))
	}
	return secret, codes
}

// twoFactorAda is ada with two-factor on, signed out, with the clock past the step whose code
// turned it on (that code is spent). The enrolment's mail is delivered and dropped.
func (ta *testApp) twoFactorAda() (*models.User, string, []string) {
	ta.t.Helper()
	u, c := ta.signedInAda()
	secret, codes := c.enrolTwoFactor()
	c.logout()
	ta.clock.Advance(30 * time.Second)
	ta.waitMail(ta.t, "turned on")
	return ta.user(u.ID), secret, codes
}

// waitMail waits for the mail whose subject contains subject, dropping others before it.
func (ta *testApp) waitMail(t testing.TB, subject string) mailtest.Mail {
	t.Helper()
	var seen []string
	for range 5 {
		m := ta.smtp.Next(t)
		if strings.Contains(m.Subject, subject) {
			return m
		}
		seen = append(seen, m.Subject)
	}
	t.Fatalf("no mail about %q; got %q", subject, seen)
	return mailtest.Mail{}
}

// passwordStep is the first step of a sign-in.
func (c *client) passwordStep(login, password string, extra url.Values, headers ...string) *response {
	c.ta.t.Helper()
	c.get("/login")
	form := url.Values{"login": {login}, "password": {password}}
	for k, v := range extra {
		form[k] = v
	}
	res := c.post("/login", form, headers...)
	if res.Header.Get("Location") == "/login/2fa" {
		c.get("/login/2fa") // as a browser follows the redirect, for the code form's token
	}
	return res
}

// signedInAs is the id /api/me answers with (0: nobody is signed in).
func (c *client) signedInAs() uint {
	c.ta.t.Helper()
	res := c.get("/api/me")
	if res.StatusCode == http.StatusUnauthorized {
		return 0
	}
	wantStatus(c.ta.t, res, http.StatusOK)
	var me struct {
		ID uint `json:"id"`
	}
	if err := json.Unmarshal([]byte(res.body), &me); err != nil {
		c.ta.t.Fatal(err)
	}
	return me.ID
}

func (ta *testApp) eventCount(u *models.User, kind string) int64 {
	return ta.countRowsWhere(&models.SecurityEvent{}, "user_id = ? AND kind = ?", u.ID, kind)
}

var recoveryCodeShape = regexp.MustCompile(`^[0-9abcdefghjkmnpqrstvwxyz]{5}-[0-9abcdefghjkmnpqrstvwxyz]{5}$`)

func TestTwoFactorEnrolment(t *testing.T) {
	ta := newTestApp(t)
	u, c := ta.signedInAda()
	page := c.get("/account/2fa")
	wantStatus(t, page, http.StatusOK)
	secret := strings.ReplaceAll(page.doc.Find("#twofactor-key").Text(), " ", "")
	if len(secret) != 32 {
		t.Fatalf("key %q", secret)
	}
	if got := page.doc.Find("#twofactor-key").Text(); !regexp.MustCompile(`^([A-Z2-7]{4} ){7}[A-Z2-7]{4}$`).MatchString(got) {
		t.Errorf("key shown as %q, want groups of four", got)
	}
	href, _ := page.doc.Find("a#twofactor-uri").Attr("href")
	if uri, err := url.Parse(href); err != nil || uri.Scheme != "otpauth" || uri.Host != "totp" || uri.Path != "/Tally:ada" ||
		uri.Query().Get("secret") != secret || uri.Query().Get("issuer") != "Tally" || uri.Query().Get("digits") != "6" ||
		uri.Query().Get("period") != "30" || uri.Query().Get("algorithm") != "SHA1" {
		t.Errorf("otpauth link %q", href)
	}
	if got := page.doc.Find("#twofactor-time time").Text(); got != "12:00:00 UTC" {
		t.Errorf("server time %q, want the app's clock", got)
	}
	if src, _ := page.doc.Find("img#twofactor-qr").Attr("src"); src != "/account/2fa/qr.png" {
		t.Errorf("QR image at %q", src)
	}
	if again := c.get("/account/2fa"); strings.ReplaceAll(again.doc.Find("#twofactor-key").Text(), " ", "") != secret {
		t.Error("reloading the page changed the key: a phone that scanned it would be left with a dead one")
	}

	t.Run("QR code", func(t *testing.T) {
		res := c.get("/account/2fa/qr.png")
		wantStatus(t, res, http.StatusOK)
		if ct, cc := res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"); ct != "image/png" || cc != "no-store" {
			t.Errorf("Content-Type %q, Cache-Control %q", ct, cc)
		}
		if _, err := png.Decode(bytes.NewReader([]byte(res.body))); err != nil {
			t.Errorf("not a PNG: %v", err)
		}
		// Only the browser's own pending key: another user's session has none to show.
		ta.createUser("bob", "bob@example.com", goodPassword)
		wantStatus(t, ta.signedIn("bob").get("/account/2fa/qr.png"), http.StatusNotFound)
	})

	now := ta.clock.Now()
	for _, tc := range []struct{ name, code string }{
		{"no code", ""},
		{"wrong code", otherCode(totpCode(t, secret, now), totpCode(t, secret, now.Add(-30*time.Second)), totpCode(t, secret, now.Add(30*time.Second)))},
		{"code two steps ahead", totpCode(t, secret, now.Add(60*time.Second))},
		{"code of another key", totpCode(t, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", now)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := c.post("/account/2fa", url.Values{"code": {tc.code}})
			wantStatus(t, res, http.StatusUnprocessableEntity)
			if res.doc.Find("#code-error").Text() == "" || res.doc.Find(`#code[aria-invalid="true"]`).Length() != 1 {
				t.Errorf("no error at the code field:\n%s", trim(res.body))
			}
			if ta.user(u.ID).TwoFactor || ta.countRows(&models.TwoFactorSecret{}) != 0 || ta.countRows(&models.RecoveryCode{}) != 0 {
				t.Fatal("two-factor is on without a proven code")
			}
			if got := strings.ReplaceAll(res.doc.Find("#twofactor-key").Text(), " ", ""); got != secret {
				t.Errorf("the page shows key %q after a wrong code, want the same key", got)
			}
		})
	}

	// A phone 30 seconds behind still enrols.
	res := c.post("/account/2fa", url.Values{"code": {totpCode(t, secret, now.Add(-30*time.Second))}})
	wantStatus(t, res, http.StatusOK)
	var codes []string
	res.doc.Find("#recovery-codes code").Each(func(_ int, s *goquery.Selection) { codes = append(codes, s.Text()) })
	seen := map[string]bool{}
	for _, code := range codes {
		if !recoveryCodeShape.MatchString(code) || seen[code] {
			t.Errorf("recovery code %q (of %q)", code, codes)
		}
		seen[code] = true
	}
	if len(codes) != 10 {
		t.Fatalf("%d codes", len(codes))
	}
	download, _ := res.doc.Find("a#recovery-download").Attr("href")
	if name, _ := res.doc.Find("a#recovery-download").Attr("download"); name == "" || !strings.HasPrefix(download, "data:text/plain;charset=utf-8,") {
		t.Errorf("download link %q (file %q)", download, name)
	}
	if body, err := url.PathUnescape(strings.TrimPrefix(download, "data:text/plain;charset=utf-8,")); err != nil || !strings.Contains(body, strings.Join(codes, "\n")) {
		t.Errorf("the downloaded file holds %q, want every code", body)
	}
	if !ta.user(u.ID).TwoFactor || ta.eventCount(u, models.EventTwoFactorEnabled) != 1 {
		t.Error("two-factor is not on, or not recorded")
	}
	if m := ta.waitMail(t, "turned on"); m.To != "ada@example.com" {
		t.Errorf("notice to %s", m.To)
	}

	t.Run("stored sealed and hashed", func(t *testing.T) {
		row, err := models.FindTwoFactor(ta.db, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(row.Sealed, []byte(secret)) || row.LastStep != models.TOTPStep(now.Add(-30*time.Second)) {
			t.Errorf("row %+v", row)
		}
		k, _ := models.NewTwoFactorKeys(ta.cfg.Secret)
		if got, err := k.Open(u.ID, row.Sealed); err != nil || got != secret {
			t.Errorf("opens to %q, %v", got, err)
		}
		if _, err := k.Open(u.ID+1, row.Sealed); err == nil {
			t.Error("the sealed secret opens as another user's")
		}
		other, _ := models.NewTwoFactorKeys([]byte(strings.Repeat("x", 40)))
		if _, err := other.Open(u.ID, row.Sealed); err == nil {
			t.Error("the sealed secret opens without TALLY_SECRET")
		}
		var hashes []string
		ta.db.Model(&models.RecoveryCode{}).Where("user_id = ?", u.ID).Pluck("hash", &hashes)
		for _, h := range hashes {
			for _, code := range codes {
				if strings.Contains(h, code) || strings.Contains(h, strings.ReplaceAll(code, "-", "")) {
					t.Errorf("code %s stored as %s", code, h)
				}
			}
		}
		if len(hashes) != 10 {
			t.Errorf("%d stored codes", len(hashes))
		}
	})

	status := c.get("/account/2fa")
	if status.doc.Find("#twofactor-status").Length() != 1 || strings.TrimSpace(status.doc.Find("#recovery-left").Text()) != "You have 10 recovery codes left." ||
		status.doc.Find("#twofactor-key").Length() != 0 {
		t.Errorf("status page:\n%s", trim(status.doc.Find("main").Text()))
	}
	wantStatus(t, c.get("/account/2fa/qr.png"), http.StatusNotFound)
	// A second enrolment (another tab) does not replace the secret.
	wantStatus(t, c.post("/account/2fa", url.Values{"code": {totpCode(t, secret, now)}}), http.StatusSeeOther)
	if n := ta.eventCount(u, models.EventTwoFactorEnabled); n != 1 {
		t.Errorf("%d enabled events", n)
	}
}

func TestTwoFactorSignIn(t *testing.T) {
	ta := newTestApp(t)
	u, secret, _ := ta.twoFactorAda()
	t0 := ta.clock.Now()

	c := ta.client()
	res := c.passwordStep("ada", goodPassword, url.Values{"remember": {"on"}, "next": {"/accounts"}})
	wantStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != "/login/2fa" {
		t.Fatalf("the right password goes to %q, want the code step", loc)
	}
	pending := c.cookie(ta.cfg.CookieName())
	if id := c.signedInAs(); id != 0 {
		t.Fatal("signed in by the password alone")
	}
	page := c.get("/login/2fa")
	wantStatus(t, page, http.StatusOK)
	if page.doc.Find(`form#login-code-form[action="/login/2fa"] input[name=code][autocomplete="one-time-code"]`).Length() != 1 {
		t.Fatalf("no code form:\n%s", trim(page.body))
	}
	res = c.post("/login/2fa", url.Values{"code": {totpCode(t, secret, t0)}})
	wantStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != "/accounts" {
		t.Errorf("after the code the browser goes to %q, want next", loc)
	}
	if id := c.signedInAs(); id != u.ID {
		t.Fatalf("signed in as %d", id)
	}
	if after := c.cookie(ta.cfg.CookieName()); after == pending || after == "" {
		t.Error("the session id did not change at the code step")
	}
	var remembered bool
	for _, ck := range res.Cookies() {
		remembered = remembered || ck.Name == ta.cfg.CookieName() && ck.MaxAge > 0
	}
	if !remembered {
		t.Error(`"keep me signed in" was not applied at the code step`)
	}
	if ta.user(u.ID).LastLogin == nil || ta.eventCount(u, models.EventLoginSuccess) != 2 {
		t.Error("the sign-in was not recorded")
	}

	// codeStep is a fresh browser's second step with code; it returns the code's answer.
	codeStep := func(t *testing.T, code string, headers ...string) (*client, *response) {
		t.Helper()
		c := ta.client()
		wantStatus(t, c.passwordStep("ada", goodPassword, nil, headers...), map[bool]int{true: http.StatusOK, false: http.StatusSeeOther}[len(headers) > 0])
		return c, c.post("/login/2fa", url.Values{"code": {code}}, headers...)
	}
	refused := func(t *testing.T, c *client, res *response) {
		t.Helper()
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if res.doc.Find("#code-error").Text() != errWrongCode {
			t.Errorf("error %q", res.doc.Find("#code-error").Text())
		}
		if c.signedInAs() != 0 {
			t.Fatal("signed in")
		}
	}

	t.Run("the same code again", func(t *testing.T) {
		c, res := codeStep(t, totpCode(t, secret, t0))
		refused(t, c, res)
	})

	ta.clock.Advance(5 * time.Minute)
	now := ta.clock.Now()
	for _, tc := range []struct {
		name string
		at   time.Time
	}{
		{"a code two steps old", now.Add(-60 * time.Second)},
		{"a code two steps ahead", now.Add(60 * time.Second)},
		{"a code of an hour ago", now.Add(-time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, res := codeStep(t, totpCode(t, secret, tc.at))
			refused(t, c, res)
		})
	}

	t.Run("a code of the step before, with htmx", func(t *testing.T) {
		c := ta.client()
		res := c.passwordStep("ada", goodPassword, nil, htmx...)
		wantStatus(t, res, http.StatusOK)
		form := res.doc.Find(`form#login-code-form[hx-post="/login/2fa"]`)
		token, _ := form.Find(`input[name=_csrf]`).Attr("value")
		if h, _ := form.Attr("hx-headers"); form.Length() != 1 || token == "" || h != `{"X-CSRF-Token":"`+token+`"}` {
			t.Fatalf("the login form was not swapped for the code form with its own token:\n%s", trim(res.body))
		}
		if strings.Contains(res.body, "<html") {
			t.Error("a whole page answered an htmx request")
		}
		res = c.post("/login/2fa", url.Values{"code": {totpCode(t, secret, now.Add(-30*time.Second))}}, "HX-Request", "true", "X-CSRF-Token", token)
		wantStatus(t, res, http.StatusNoContent)
		if res.Header.Get("HX-Redirect") != "/dashboard" || c.signedInAs() != u.ID {
			t.Fatalf("HX-Redirect %q", res.Header.Get("HX-Redirect"))
		}
	})
	t.Run("a code older than the last one used", func(t *testing.T) {
		c, res := codeStep(t, totpCode(t, secret, now.Add(-30*time.Second)))
		refused(t, c, res)
	})
	t.Run("a code without its password", func(t *testing.T) {
		c := ta.client()
		c.get("/login")
		res := c.post("/login/2fa", url.Values{"code": {totpCode(t, secret, now)}})
		wantStatus(t, res, http.StatusSeeOther)
		if !strings.HasPrefix(res.Header.Get("Location"), "/login") || c.signedInAs() != 0 {
			t.Fatal("a code alone signed in")
		}
	})
	t.Run("after five minutes", func(t *testing.T) {
		c := ta.client()
		c.passwordStep("ada", goodPassword, nil)
		ta.clock.Advance(5*time.Minute + time.Second)
		res := c.post("/login/2fa", url.Values{"code": {totpCode(t, secret, ta.clock.Now())}})
		wantStatus(t, res, http.StatusSeeOther)
		if c.signedInAs() != 0 {
			t.Fatal("a pending sign-in older than five minutes signed in")
		}
		if msg := c.get("/login").doc.Find(".alert-ok").Text(); !strings.Contains(msg, "took too long") {
			t.Errorf("the login page says %q", msg)
		}
	})
}

// Five wrong codes end the pending sign-in: even the right code then needs the password first.
func TestTwoFactorFiveWrongCodes(t *testing.T) {
	ta := newTestApp(t)
	_, secret, _ := ta.twoFactorAda()
	c := ta.client()
	c.passwordStep("ada", goodPassword, nil)
	wrong := otherCode(totpCode(t, secret, ta.clock.Now()), totpCode(t, secret, ta.clock.Now().Add(-30*time.Second)), totpCode(t, secret, ta.clock.Now().Add(30*time.Second)))
	for i := 1; i <= 4; i++ {
		wantStatus(t, c.post("/login/2fa", url.Values{"code": {wrong}}), http.StatusUnprocessableEntity)
	}
	res := c.post("/login/2fa", url.Values{"code": {wrong}})
	wantStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != "/login" {
		t.Errorf("the fifth wrong code goes to %q", loc)
	}
	if msg := c.get("/login").doc.Find(".alert-ok").Text(); !strings.Contains(msg, "Too many wrong codes") {
		t.Errorf("the login page does not say why:\n%s", trim(msg))
	}
	wantStatus(t, c.post("/login/2fa", url.Values{"code": {totpCode(t, secret, ta.clock.Now())}}), http.StatusSeeOther)
	if c.signedInAs() != 0 {
		t.Fatal("signed in after five wrong codes without the password again")
	}
}

// Wrong codes count against the account's lockout like wrong passwords.
func TestTwoFactorWrongCodesLockOut(t *testing.T) {
	ta := newTestApp(t, "TALLY_LOCKOUT_THRESHOLD", "3")
	u, secret, _ := ta.twoFactorAda()
	now := ta.clock.Now()
	wrong := otherCode(totpCode(t, secret, now), totpCode(t, secret, now.Add(-30*time.Second)), totpCode(t, secret, now.Add(30*time.Second)))
	c := ta.client()
	c.passwordStep("ada", goodPassword, nil)
	for range 3 {
		wantStatus(t, c.post("/login/2fa", url.Values{"code": {wrong}}), http.StatusUnprocessableEntity)
	}
	if n := ta.eventCount(u, models.EventTwoFactorFailure); n != 3 {
		t.Errorf("%d wrong-code events, want 3", n)
	}
	if n := ta.eventCount(u, models.EventLockout); n != 1 {
		t.Fatalf("%d lockouts after 3 wrong codes with a threshold of 3", n)
	}
	// The right code is refused now, and so is the right password.
	res := c.post("/login/2fa", url.Values{"code": {totpCode(t, secret, now)}})
	wantStatus(t, res, http.StatusSeeOther)
	if c.signedInAs() != 0 {
		t.Fatal("the right code signed in to a locked account")
	}
	res = ta.client().passwordStep("ada", goodPassword, nil)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if formError(res) != errLocked {
		t.Errorf("the password form says %q", formError(res))
	}
	if m := ta.waitMail(t, "paused"); m.To != "ada@example.com" {
		t.Errorf("lockout mail to %s", m.To)
	}
}

func TestTwoFactorRecoveryCode(t *testing.T) {
	ta := newTestApp(t)
	u, _, codes := ta.twoFactorAda()
	for _, tc := range []struct{ name, typed, used string }{
		{"as displayed", codes[3], codes[3]},
		{"upper case, no dash, spaces", " " + strings.ToUpper(strings.ReplaceAll(codes[7], "-", " ")) + " ", codes[7]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ta.client()
			c.passwordStep("ada", goodPassword, nil)
			res := c.post("/login/2fa", url.Values{"code": {tc.typed}})
			wantStatus(t, res, http.StatusSeeOther)
			if c.signedInAs() != u.ID {
				t.Fatal("a displayed recovery code did not sign in")
			}
			left := strconv.FormatInt(ta.countRowsWhere(&models.RecoveryCode{}, "user_id = ? AND used_at IS NULL", u.ID), 10)
			if flash := c.get("/dashboard").doc.Find(".alert-ok").Text(); !strings.Contains(flash, "recovery code; "+left+" are left") {
				t.Errorf("the page after says %q, want how many remain (%s)", flash, left)
			}
			m := ta.waitMail(t, "recovery code was used")
			if m.To != "ada@example.com" || !strings.Contains(m.Text, "You have "+left+" left") {
				t.Errorf("mail to %s:\n%s", m.To, m.Text)
			}
			// Used once: refused the second time.
			again := ta.client()
			again.passwordStep("ada", goodPassword, nil)
			wantStatus(t, again.post("/login/2fa", url.Values{"code": {tc.used}}), http.StatusUnprocessableEntity)
			if again.signedInAs() != 0 {
				t.Fatal("a recovery code worked twice")
			}
		})
	}
	if n := ta.eventCount(u, models.EventRecoveryCodeUsed); n != 2 {
		t.Errorf("%d recovery-code events, want 2", n)
	}
	var used int64
	ta.db.Model(&models.RecoveryCode{}).Where("user_id = ? AND used_at IS NOT NULL", u.ID).Count(&used)
	if used != 2 {
		t.Errorf("%d codes marked used, want 2 (kept for the record)", used)
	}
}

// A sign-in without two-factor reads nothing of two-factor's tables: it costs what it did
// before (the flag is a column of the user row the guard loads anyway).
func TestLoginWithoutTwoFactorReadsNoTwoFactorTable(t *testing.T) {
	ta := newTestApp(t)
	ta.createUser("ada", "ada@example.com", goodPassword)
	var tables []string
	record := func(tx *gorm.DB) { tables = append(tables, tx.Statement.Table) }
	cb := ta.db.Callback()
	for _, err := range []error{
		cb.Query().After("gorm:query").Register("test:tables", record),
		cb.Create().After("gorm:create").Register("test:tables", record),
		cb.Update().After("gorm:update").Register("test:tables", record),
		cb.Raw().After("gorm:raw").Register("test:tables", record),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	c := ta.client()
	c.get("/login")
	tables = nil
	wantStatus(t, c.post("/login", url.Values{"login": {"ada"}, "password": {goodPassword}}), http.StatusSeeOther)
	for _, table := range tables {
		if table == "two_factor_secrets" || table == "recovery_codes" {
			t.Errorf("a sign-in without two-factor touched %s (statements: %q)", table, tables)
		}
	}
	if len(tables) == 0 {
		t.Fatal("no statements recorded")
	}
}
