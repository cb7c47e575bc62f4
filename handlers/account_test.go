package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"gorm.io/gorm"

	"tally/mail"
	"tally/mail/mailtest"
	"tally/models"
)

// register submits the registration form and returns the verification mail.
func (c *client) register(username, email string) mailtest.Mail {
	c.ta.t.Helper()
	c.get("/register")
	res := c.post("/register", registerValues("username", username, "email", email))
	if res.StatusCode != http.StatusSeeOther {
		c.ta.t.Fatalf("register: %d %s", res.StatusCode, trim(res.body))
	}
	return c.ta.smtp.Next(c.ta.t)
}

// path turns an absolute link from a mail into a path for the test client.
func path(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.RequestURI()
}

// A verification link signs in only the browser that registered the account: anyone can
// register and send their own link to someone else, who must not end up signed in as them.
// Anywhere else the link asks for the password chosen at sign-up before it confirms anything.
func TestVerifyElsewhereAsksForThePassword(t *testing.T) {
	for _, tc := range []struct {
		name   string
		victim func(ta *testApp) *client
	}{
		{"signed out", func(ta *testApp) *client { return ta.client() }},
		{"signed in as someone else", func(ta *testApp) *client { _, c := ta.signedInAda(); return c }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ta := newTestApp(t)
			link := ta.client().register("mallory", "mallory@example.com").Link(t, "http://")
			victim := tc.victim(ta)
			before := victim.cookie("tally_session")
			res := victim.get(path(t, link))
			wantStatus(t, res, http.StatusOK)
			if res.doc.Find(`#confirm-form input[name="password"]`).Length() != 1 {
				t.Fatalf("no password asked: %s", trim(res.doc.Find("main").Text()))
			}
			if !strings.Contains(res.doc.Find("#confirm-form").Text(), "mallory@example.com") {
				t.Errorf("the page does not name the address: %s", res.doc.Find("#confirm-form").Text())
			}
			if before != "" && victim.cookie("tally_session") != before {
				t.Error("the victim's session was replaced")
			}
			token := res.doc.Find(`#confirm-form input[name="token"]`).AttrOr("value", "")
			res = victim.post("/verify", url.Values{"token": {token}, "password": {"wrong-" + goodPassword}})
			wantStatus(t, res, http.StatusUnprocessableEntity)
			if res.doc.Find("#password-error").Length() != 1 {
				t.Error("a wrong password has no error beside the field")
			}
			if u, _ := models.FindUserByLogin(ta.db, "mallory"); u.IsVerified() || u.IsActive {
				t.Fatal("the link confirmed the address without the password")
			}
			// Whoever knows the password chosen at sign-up is the one who signed up.
			res = victim.post("/verify", url.Values{"token": {token}, "password": {goodPassword}})
			wantStatus(t, res, http.StatusSeeOther)
			if u, _ := models.FindUserByLogin(ta.db, "mallory"); !u.IsVerified() || !u.IsActive {
				t.Error("the password did not confirm the address")
			}
		})
	}
}

func TestVerifyFlow(t *testing.T) {
	ta := newTestApp(t, "TALLY_BASE_URL", "https://tally.example.org")
	c := ta.client()
	c.get("/register")
	// A hostile Host header must not end up in the link.
	res := c.post("/register", registerValues(), "X-Forwarded-Host", "evil.example")
	wantStatus(t, res, http.StatusSeeOther)
	page := c.get(res.Header.Get("Location"))
	if !strings.Contains(page.doc.Find("main").Text(), "Check your inbox") {
		t.Errorf("after registration: %s", page.doc.Find("main").Text())
	}
	m := ta.smtp.Next(t)
	if m.To != "ada@example.com" || m.Subject != "Confirm your email address for Tally" || !strings.Contains(m.HTML, "https://tally.example.org/verify?token=") {
		t.Fatalf("mail = %+v", m)
	}
	link := m.Link(t, "https://tally.example.org/verify?token=")
	u, _ := models.FindUserByLogin(ta.db, "ada_l")
	if u.IsActive || u.IsVerified() {
		t.Fatal("new account is active before verification")
	}

	t.Run("login before verification", func(t *testing.T) {
		other := ta.client()
		other.get("/login")
		res := other.post("/login", url.Values{"login": {"ada_l"}, "password": {goodPassword}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if !strings.Contains(res.doc.Find("#form-error").Text(), "not confirmed") ||
			res.doc.Find(`button[formaction="/verify/resend"]`).Length() != 1 {
			t.Errorf("no clear message and resend button: %s", res.doc.Find("#login-form").Text())
		}
		if other.get("/dashboard").StatusCode != http.StatusSeeOther {
			t.Error("unverified login got a session")
		}
		res = other.post("/login", url.Values{"login": {"ada_l"}, "password": {"wrong-" + goodPassword}})
		if got := res.doc.Find("#form-error").Text(); got != errBadLogin {
			t.Errorf("wrong password on unverified account: %q", got)
		}
	})
	t.Run("tampered", func(t *testing.T) {
		tampered := strings.Replace(link, "token=1.", "token=2.", 1)
		for _, l := range []string{tampered, link + "x", link[:len(link)-5], "https://tally.example.org/verify?token=", "https://tally.example.org/verify?token=%ff%00"} {
			res := ta.client().get(path(t, l))
			wantStatus(t, res, http.StatusBadRequest)
			if res.doc.Find(`a[href="/verify/resend"]`).Length() != 1 {
				t.Errorf("%s: no way to get a new link", l)
			}
		}
	})
	t.Run("verify signs in", func(t *testing.T) {
		before := c.cookie("tally_session")
		res := c.get(path(t, link))
		wantStatus(t, res, http.StatusSeeOther)
		if loc := res.Header.Get("Location"); loc != "/dashboard" {
			t.Errorf("Location = %q", loc)
		}
		if c.cookie("tally_session") == before {
			t.Error("session id not rotated at verification")
		}
		dash := c.get("/dashboard")
		wantStatus(t, dash, http.StatusOK)
		if !strings.Contains(dash.doc.Find("#alerts").Text(), "confirmed") {
			t.Errorf("no confirmation message: %q", dash.doc.Find("#alerts").Text())
		}
		u, _ := models.FindUserByLogin(ta.db, "ada_l")
		if !u.IsActive || !u.IsVerified() {
			t.Error("account not activated")
		}
	})
	t.Run("reuse refused", func(t *testing.T) {
		wantStatus(t, ta.client().get(path(t, link)), http.StatusBadRequest)
	})
}

func TestVerifyLinkExpires(t *testing.T) {
	ta := newTestApp(t)
	c := ta.client()
	link := c.register("ada_l", "ada@example.com").Link(t, "http://")
	ta.clock.Advance(72*time.Hour + time.Minute)
	wantStatus(t, c.get(path(t, link)), http.StatusBadRequest)
	u, _ := models.FindUserByLogin(ta.db, "ada_l")
	if u.IsActive {
		t.Error("expired link activated the account")
	}
}

// TestResendButtonOnLogin presses "Send a new activation link" under a refused login as a
// browser does: the login form's fields and the button's own name and value go to its
// formaction. The link is sent to the account's address, whether the login was by username
// or by email.
func TestResendButtonOnLogin(t *testing.T) {
	ta := newTestApp(t)
	c := ta.client()
	c.register("grace", "grace@example.com")
	for _, tc := range []struct{ name, login string }{{"by username/plain", "grace"}, {"by email/htmx", "Grace@Example.com"}} {
		t.Run(tc.name, func(t *testing.T) {
			ta.clock.Advance(2 * time.Minute) // past the one-mail-a-minute limit
			c.get("/login")
			res := c.post("/login", url.Values{"login": {tc.login}, "password": {goodPassword}})
			wantStatus(t, res, http.StatusUnprocessableEntity)
			button := res.doc.Find(`#login-form button[formaction="/verify/resend"]`)
			// Enter presses the form's first submit button: it must still log in.
			if first := res.doc.Find(`#login-form button[type="submit"]`).First(); first.AttrOr("formaction", "") != "" {
				t.Errorf("Enter would press %q, not Log in", strings.TrimSpace(first.Text()))
			}
			sent := url.Values{}
			res.doc.Find("#login-form input").Each(func(_ int, in *goquery.Selection) {
				name, _ := in.Attr("name")
				value, _ := in.Attr("value")
				if name != "" && name != "_csrf" {
					sent.Set(name, value)
				}
			})
			sent.Set("password", goodPassword)
			if name, ok := button.Attr("name"); ok {
				value, _ := button.Attr("value")
				sent.Set(name, value)
			}
			var headers []string
			if strings.HasSuffix(tc.name, "htmx") {
				headers = htmx
			}
			res = c.post("/verify/resend", sent, headers...)
			wantStatus(t, res, http.StatusOK)
			if !strings.Contains(res.doc.Find("[role=status]").Text(), "grace@example.com") {
				t.Errorf("answer: %s", trim(res.body))
			}
			if m := ta.smtp.Next(t); m.To != "grace@example.com" || m.Subject != "Confirm your email address for Tally" {
				t.Errorf("mail = %q to %s", m.Subject, m.To)
			}
		})
	}
}

func TestRegisterExistingEmailSendsNotice(t *testing.T) {
	ta := newTestApp(t)
	ta.createUser("ada", "ada@example.com", goodPassword)
	c := ta.client()
	c.get("/register")
	res := c.post("/register", registerValues("username", "ada2", "email", "ADA@example.com"))
	wantStatus(t, res, http.StatusSeeOther)
	if !strings.Contains(c.get(res.Header.Get("Location")).doc.Find("main").Text(), "Check your inbox") {
		t.Error("existing address is not answered like a new one")
	}
	m := ta.smtp.Next(t)
	if m.To != "ada@example.com" || m.Subject != "You already have a Tally account" {
		t.Fatalf("mail = %+v", m)
	}
	reset := m.Link(t, "http://127.0.0.1:8080/password/reset?token=")
	var n int64
	ta.db.Model(&models.User{}).Count(&n)
	if n != 1 {
		t.Errorf("users = %d", n)
	}
	// The reset link in the note works.
	res = c.get(path(t, reset))
	wantStatus(t, res, http.StatusSeeOther)
	wantStatus(t, c.get("/password/reset"), http.StatusOK)
}

// A deactivated account's owner is told the account exists, without a reset link: a new
// password would not let them in, and "forgot password" sends such accounts nothing either.
func TestRegisterDeactivatedEmailSendsNoResetLink(t *testing.T) {
	ta := newTestApp(t)
	u := ta.createUser("ada", "ada@example.com", goodPassword)
	ta.db.Model(u).Updates(map[string]any{"is_active": false, "deactivated": true})
	c := ta.client()
	c.get("/register")
	wantStatus(t, c.post("/register", registerValues("username", "ada2", "email", "ada@example.com")), http.StatusSeeOther)
	m := ta.smtp.Next(t)
	if m.To != "ada@example.com" || m.Subject != "You already have a Tally account" ||
		!strings.Contains(m.Text, "deactivated") || strings.Contains(m.Text, "/password/reset") || strings.Contains(m.HTML, "/password/reset") {
		t.Errorf("mail = %+v", m)
	}
}

// adaAndUnverifiedBob is an app with the active account ada and bob's registration, not yet
// confirmed, with the clock past the one-mail-a-minute limit; c registered bob.
func adaAndUnverifiedBob(t *testing.T) (*testApp, *client) {
	t.Helper()
	ta := newTestApp(t)
	ta.createUser("ada", "ada@example.com", goodPassword)
	c := ta.client()
	c.register("bob", "bob@example.com")
	ta.clock.Advance(2 * time.Minute)
	return ta, c
}

func TestResendAndForgotDoNotEnumerate(t *testing.T) {
	ta, c := adaAndUnverifiedBob(t)

	cases := []struct {
		name, path, email, wantSubject string
	}{
		{"resend unverified", "/verify/resend", "bob@example.com", "Confirm your email address for Tally"},
		{"resend verified", "/verify/resend", "ada@example.com", ""},
		{"resend unknown", "/verify/resend", "nobody@example.com", ""},
		{"forgot active", "/password/forgot", "Ada@Example.com", "Reset your Tally password"},
		{"forgot unverified", "/password/forgot", "bob@example.com", ""},
		{"forgot unknown", "/password/forgot", "nobody@example.com", ""},
	}
	var pages []string
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.get(tc.path)
			res := c.post(tc.path, url.Values{"email": {tc.email}})
			wantStatus(t, res, http.StatusOK)
			pages = append(pages, strings.ReplaceAll(res.doc.Find("main").Text(), models.NormalizeEmail(tc.email), "EMAIL"))
			if tc.wantSubject == "" {
				ta.noMail(t)
				return
			}
			if m := ta.smtp.Next(t); m.Subject != tc.wantSubject || m.To != models.NormalizeEmail(tc.email) {
				t.Errorf("mail = %q to %s", m.Subject, m.To)
			}
		})
	}
	for i := 1; i < len(pages); i++ {
		if cases[i].path == cases[0].path && pages[i] != pages[0] || cases[i].path == cases[3].path && pages[i] != pages[3] {
			t.Errorf("%s answers differently from %s", cases[i].name, cases[0].name)
		}
	}
	t.Run("bad address is a field error", func(t *testing.T) {
		res := c.post("/password/forgot", url.Values{"email": {"not-an-address"}}, htmx...)
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if res.doc.Find("#email-error").Length() != 1 {
			t.Error("no field error")
		}
	})
}

// The resend and forgot forms must not answer more slowly for an address with an account:
// queueing its mail is a durable write, which the answer for an unknown address does not wait
// for. Here that write is held until the answer has arrived; an answer that waited for it would
// never come.
func TestResendAndForgotAnswerBeforeTheMailIsWritten(t *testing.T) {
	ta, c := adaAndUnverifiedBob(t)
	var release chan struct{}
	err := ta.db.Callback().Create().Before("gorm:create").Register("test:held_mail_write", func(tx *gorm.DB) {
		if tx.Statement.Table == "emails" {
			<-release
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, path, email string }{
		{"resend unverified", "/verify/resend", "bob@example.com"},
		{"forgot active", "/password/forgot", "ada@example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.get(tc.path)
			release = make(chan struct{})
			type answer struct {
				res *response
				err error
			}
			answered := make(chan answer, 1)
			req := c.postRequest(tc.path, url.Values{"email": {tc.email}}, nil)
			go func() {
				res, err := c.try(req)
				answered <- answer{res, err}
			}()
			select {
			case a := <-answered:
				if a.err != nil {
					close(release)
					t.Fatal(a.err)
				}
				wantStatus(t, a.res, http.StatusOK)
			case <-time.After(mailtest.Timeout):
				close(release)
				t.Fatalf("no answer within %s while the mail's write was held: the answer waits for it", mailtest.Timeout)
			}
			close(release)
			if m := ta.smtp.Next(t); m.To != tc.email {
				t.Errorf("mail to %s", m.To)
			}
		})
	}
}

func TestMailRateLimits(t *testing.T) {
	ta := newTestApp(t, "TALLY_RATE_IP_HOUR", "1000")
	ta.createUser("ada", "ada@example.com", goodPassword)
	c := ta.client()
	forgot := func() {
		c.get("/password/forgot")
		wantStatus(t, c.post("/password/forgot", url.Values{"email": {"ada@example.com"}}), http.StatusOK)
	}

	forgot()
	ta.smtp.Next(t)
	forgot() // same minute: same answer, no mail
	ta.noMail(t)
	// Another purpose is counted on its own: a registration notice still goes out.
	c.get("/register")
	c.post("/register", registerValues("username", "other", "email", "ada@example.com"))
	if m := ta.smtp.Next(t); m.Subject != "You already have a Tally account" {
		t.Errorf("notice held back by the reset limit: %q", m.Subject)
	}
	for i := 0; i < 4; i++ {
		ta.clock.Advance(2 * time.Minute)
		forgot()
		ta.smtp.Next(t)
	}
	ta.clock.Advance(2 * time.Minute)
	forgot() // sixth within the hour
	ta.noMail(t)
	ta.clock.Advance(time.Hour)
	forgot()
	ta.smtp.Next(t)
}

func TestIPRateLimit(t *testing.T) {
	ta := newTestApp(t, "TALLY_RATE_IP_HOUR", "3")
	c := ta.client()
	c.get("/password/forgot")
	for i := 0; i < 3; i++ {
		wantStatus(t, c.post("/password/forgot", url.Values{"email": {"x@example.com"}}), http.StatusOK)
	}
	res := c.post("/password/forgot", url.Values{"email": {"x@example.com"}})
	wantStatus(t, res, http.StatusTooManyRequests)
	if res.Header.Get("Retry-After") == "" || !strings.Contains(res.doc.Find("main").Text(), "Too many requests") {
		t.Errorf("429 not readable: %s", res.doc.Find("main").Text())
	}
	// Other forms have their own count, and the count survives a restart.
	c.get("/verify/resend")
	wantStatus(t, c.post("/verify/resend", url.Values{"email": {"x@example.com"}}), http.StatusOK)
	ta.start()
	wantStatus(t, c.post("/password/forgot", url.Values{"email": {"x@example.com"}}), http.StatusTooManyRequests)
}

func TestPasswordReset(t *testing.T) {
	ta := newTestApp(t)
	_, elsewhere := ta.signedInAda()

	c := ta.client()
	c.get("/password/forgot")
	c.post("/password/forgot", url.Values{"email": {"ada@example.com"}})
	link := ta.smtp.Next(t).Link(t, "http://127.0.0.1:8080/password/reset?token=")

	res := c.get(path(t, link))
	wantStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != "/password/reset" {
		t.Fatalf("token not moved out of the URL: Location = %q", loc)
	}
	form := c.get("/password/reset")
	wantStatus(t, form, http.StatusOK)
	if form.doc.Find("#password-form").Length() != 1 {
		t.Fatal("no reset form")
	}
	res = c.post("/password/reset", url.Values{"password": {"password"}, "password_confirm": {"password"}}, htmx...)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if !strings.Contains(res.doc.Find("#password-error").Text(), "too common") {
		t.Errorf("validator not applied: %q", res.doc.Find("#password-error").Text())
	}
	newPassword := "violet-Harbour-1888"
	res = c.post("/password/reset", url.Values{"password": {newPassword}, "password_confirm": {newPassword}})
	wantStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != "/login" {
		t.Errorf("Location = %q", loc)
	}
	if c.get("/dashboard").StatusCode != http.StatusSeeOther {
		t.Error("a reset signed the user in")
	}
	if elsewhere.get("/dashboard").StatusCode != http.StatusSeeOther {
		t.Error("the reset did not end the other session")
	}
	if m := ta.smtp.Next(t); m.Subject != "Your Tally password was changed" {
		t.Errorf("notice = %q", m.Subject)
	}
	// Single use: the same link is refused now.
	c.get(path(t, link))
	wantStatus(t, c.get("/password/reset"), http.StatusBadRequest)
	c.login("ada", newPassword)
}

func TestPasswordResetLinkExpires(t *testing.T) {
	ta := newTestApp(t)
	ta.createUser("ada", "ada@example.com", goodPassword)
	c := ta.client()
	c.get("/password/forgot")
	c.post("/password/forgot", url.Values{"email": {"ada@example.com"}})
	link := ta.smtp.Next(t).Link(t, "http://")
	ta.clock.Advance(61 * time.Minute)
	c.get(path(t, link))
	res := c.get("/password/reset")
	wantStatus(t, res, http.StatusBadRequest)
	if res.doc.Find(`a[href="/password/forgot"]`).Length() != 1 {
		t.Error("no way to ask for a new link")
	}
	wantStatus(t, c.post("/password/reset", url.Values{"password": {goodPassword + "1"}, "password_confirm": {goodPassword + "1"}}), http.StatusBadRequest)
}

func TestChangePassword(t *testing.T) {
	ta := newTestApp(t)
	u, elsewhere := ta.signedInAda()
	c := ta.client()
	c.login("ada", goodPassword)
	c.get("/account/password")

	newPassword := "violet-Harbour-1888"
	cases := []struct {
		name, field string
		form        url.Values
	}{
		{"wrong current", "current_password", url.Values{"current_password": {"nope-nope-nope"}, "new_password": {newPassword}, "new_password_confirm": {newPassword}}},
		{"weak new", "new_password", url.Values{"current_password": {goodPassword}, "new_password": {"12345678"}, "new_password_confirm": {"12345678"}}},
		{"mismatch", "new_password_confirm", url.Values{"current_password": {goodPassword}, "new_password": {newPassword}, "new_password_confirm": {newPassword + "!"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := c.post("/account/password", tc.form, htmx...)
			wantStatus(t, res, http.StatusUnprocessableEntity)
			if res.doc.Find("#"+tc.field+"-error").Length() != 1 {
				t.Errorf("no error beside %s", tc.field)
			}
			after, _ := models.FindUser(ta.db, u.ID)
			if after.PasswordHash != u.PasswordHash {
				t.Fatal("password changed anyway")
			}
		})
	}
	before := c.cookie("tally_session")
	res := c.post("/account/password", url.Values{"current_password": {goodPassword}, "new_password": {newPassword}, "new_password_confirm": {newPassword}})
	wantStatus(t, res, http.StatusSeeOther)
	if c.cookie("tally_session") == before {
		t.Error("session id not rotated")
	}
	wantStatus(t, c.get("/dashboard"), http.StatusOK)
	if elsewhere.get("/dashboard").StatusCode != http.StatusSeeOther {
		t.Error("other session still signed in")
	}
	if m := ta.smtp.Next(t); m.Subject != "Your Tally password was changed" {
		t.Errorf("notice = %q", m.Subject)
	}
	// Notices of the owner's own actions are never held back by rate limits.
	c.get("/account/password")
	c.post("/account/password", url.Values{"current_password": {newPassword}, "new_password": {goodPassword}, "new_password_confirm": {goodPassword}})
	if m := ta.smtp.Next(t); m.Subject != "Your Tally password was changed" {
		t.Errorf("second notice = %q", m.Subject)
	}
}

func TestOutboxSurvivesRestart(t *testing.T) {
	ta := newTestApp(t)
	ta.stopOutbox() // the server "crashes" before it can send
	c := ta.client()
	c.get("/register")
	wantStatus(t, c.post("/register", registerValues()), http.StatusSeeOther)
	var pending int64
	ta.db.Model(&models.Email{}).Where("status = ?", models.MailPending).Count(&pending)
	if pending != 1 {
		t.Fatalf("pending mails = %d, want the verification mail queued with the account", pending)
	}
	ta.start()
	if m := ta.smtp.Next(t); m.Subject != "Confirm your email address for Tally" {
		t.Errorf("mail after restart = %q", m.Subject)
	}
}

func TestOutboxRetriesWithBackoff(t *testing.T) {
	ta := newTestApp(t, "TALLY_SMTP_URL", "smtp://127.0.0.1:1?tls=none") // nothing listens there
	ta.stopOutbox()
	c := ta.client()
	c.get("/register")
	c.post("/register", registerValues())
	ctx := context.Background()
	for attempt := 1; attempt <= mail.MaxAttempts; attempt++ {
		if sent := ta.outbox.DeliverDue(ctx); sent != 0 {
			t.Fatal("sent to nowhere")
		}
		var e models.Email
		ta.db.First(&e)
		if e.Attempts != attempt || e.LastError == "" {
			t.Fatalf("attempt %d recorded as %+v", attempt, e)
		}
		if attempt == mail.MaxAttempts {
			if e.Status != models.MailFailed {
				t.Errorf("status after %d attempts = %s", attempt, e.Status)
			}
			break
		}
		if !e.NextAttemptAt.After(ta.clock.Now()) {
			t.Fatalf("no backoff after attempt %d", attempt)
		}
		ta.outbox.DeliverDue(ctx) // not due yet: nothing happens
		ta.clock.Advance(e.NextAttemptAt.Sub(ta.clock.Now()))
	}
}

// Deactivation is an administrator's decision, and only an administrator undoes it. An account
// whose address was never confirmed is activated by hand, then deactivated: no way its owner
// has (a new activation link, a confirmation, a reset, registering again) lets it in again.
func TestDeactivationIsTheAdministratorsToUndo(t *testing.T) {
	ta := newTestApp(t)
	ta.createAdmin("root", true)
	owner := ta.client()
	owner.register("bob", "bob@example.com")
	bob, _ := models.FindUserByLogin(ta.db, "bob")
	admin := ta.signedIn("root")
	adminAct := func(action string) {
		t.Helper()
		admin.get(userPath(bob, ""))
		wantStatus(t, admin.post(userPath(bob, action), nil), http.StatusSeeOther)
	}
	adminAct("/activate")
	owner.login("bob", goodPassword) // let in by hand, address unconfirmed
	adminAct("/deactivate")
	ta.clock.Advance(2 * time.Minute) // past the one-mail-a-minute limit

	refused := func(step string) {
		t.Helper()
		c := ta.client()
		c.get("/login")
		res := c.post("/login", url.Values{"login": {"bob"}, "password": {goodPassword}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		wantStatus(t, c.get("/dashboard"), http.StatusSeeOther)
		if u := ta.user(bob.ID); u.IsActive || !u.Deactivated {
			t.Fatalf("after %s: active %v, deactivated %v", step, u.IsActive, u.Deactivated)
		}
	}
	refused("deactivation")

	owner.get("/verify/resend")
	wantStatus(t, owner.post("/verify/resend", url.Values{"email": {"bob@example.com"}}), http.StatusOK)
	ta.noMail(t) // a new activation link would not let the account in: none is sent
	owner.get("/password/forgot")
	wantStatus(t, owner.post("/password/forgot", url.Values{"email": {"bob@example.com"}}), http.StatusOK)
	ta.noMail(t)
	owner.get("/register")
	wantStatus(t, owner.post("/register", registerValues("username", "bob2", "email", "bob@example.com")), http.StatusSeeOther)
	if m := ta.smtp.Next(t); !strings.Contains(m.Text, "deactivated") || strings.Contains(m.Text, "/verify") || strings.Contains(m.Text, "/password/reset") {
		t.Errorf("registering again mails %q:\n%s", m.Subject, m.Text)
	}
	refused("asking for links")

	// A link that does reach the owner (an administrator sent one) confirms the address and
	// nothing more.
	adminAct("/resend-verification")
	link := ta.smtp.Next(t).Link(t, "http://127.0.0.1:8080/verify?token=")
	res := owner.get(path(t, link))
	token := res.doc.Find(`#confirm-form input[name="token"]`).AttrOr("value", "")
	res = owner.post("/verify", url.Values{"token": {token}, "password": {goodPassword}})
	wantStatus(t, res, http.StatusSeeOther)
	if msg := owner.get(res.Header.Get("Location")).doc.Find("#alerts").Text(); !strings.Contains(msg, "deactivated") {
		t.Errorf("after confirming: %q", msg)
	}
	if !ta.user(bob.ID).IsVerified() {
		t.Error("the link did not confirm the address")
	}
	wantStatus(t, owner.get("/dashboard"), http.StatusSeeOther)
	refused("confirming the address")

	out, note, err := ta.runCLI("", nil, "reset-link", "bob")
	if err != nil || !strings.Contains(note, "deactivated") {
		t.Errorf("reset-link: %q %q %v", out, note, err)
	}

	adminAct("/activate")
	owner.login("bob", goodPassword)
}
