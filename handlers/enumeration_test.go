package handlers

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"tally/models"
)

// The forms that take an address answer exactly the same whether or not the address has an
// account: status, every header (a cookie set for one and not the other told them apart 30
// times of 30) and body, and the page a redirect leads to. Only what must differ is normalised
// away: the date, the request id, random values (cookie values, CSRF tokens), the address
// typed, echoed back, and the rate limit's count and clock (the same for every address);
// the addresses have one length, so even Content-Length is compared.

// Addresses of one length: with an active account, one waiting for its confirmation, a
// deactivated one, and none.
const (
	activeEmail      = "actv1@example.com"
	pendingEmail     = "pend1@example.com"
	deactivatedEmail = "deac1@example.com"
	unknownEmail     = "none1@example.com"
)

// enumerationApp has an account for each kind of address, and the clock past the mail limits.
func enumerationApp(t *testing.T) *testApp {
	t.Helper()
	ta := newTestApp(t, "TALLY_RATE_IP_HOUR", "1000", "TALLY_RATE_MAIL_HOUR", "1000")
	ta.createUser("actv1", activeEmail, goodPassword)
	ta.createUser("taken_name", "taken@example.com", goodPassword)
	d := ta.createUser("deac1", deactivatedEmail, goodPassword)
	ta.db.Model(d).Updates(map[string]any{"is_active": false, "deactivated": true})
	ta.client().register("pend1", pendingEmail)
	return ta
}

var randomValue = regexp.MustCompile(`[A-Za-z0-9_-]{40,}`)

// answer is what a response shows an observer, with the date, the request id, random values
// and the typed address replaced.
func answer(res *response, email string) string {
	norm := func(s string) string {
		s = strings.ReplaceAll(s, email, "EMAIL")
		s = strings.ReplaceAll(s, url.QueryEscape(email), "EMAIL")
		return randomValue.ReplaceAllString(s, "RANDOM")
	}
	var lines []string
	for name, values := range res.Header {
		switch http.CanonicalHeaderKey(name) {
		case "Date", "X-Request-Id":
			continue
		case "X-Ratelimit-Remaining", "X-Ratelimit-Reset":
			// This test's earlier requests from its one address, whatever they named, and the
			// seconds left of the limiter's window, on the wall clock.
			lines = append(lines, name+": N")
			continue
		case "Set-Cookie":
			for _, v := range values {
				lines = append(lines, name+": "+cookieShape(v))
			}
			continue
		}
		for _, v := range values {
			lines = append(lines, name+": "+norm(v))
		}
	}
	slices.Sort(lines)
	return res.Status + "\n" + strings.Join(lines, "\n") + "\n\n" + norm(res.body)
}

// cookieShape keeps a Set-Cookie's name and attributes, and drops its value and expiry time.
func cookieShape(v string) string {
	parts := strings.Split(v, ";")
	name, _, _ := strings.Cut(parts[0], "=")
	out := []string{name + "=VALUE"}
	for _, a := range parts[1:] {
		a = strings.TrimSpace(a)
		if k, _, ok := strings.Cut(a, "="); ok && strings.EqualFold(k, "expires") {
			a = k + "=TIME"
		}
		out = append(out, a)
	}
	return strings.Join(out, "; ")
}

// compareAnswers fails when an address's answers differ from the first address's.
func compareAnswers(t *testing.T, emails []string, answers [][]string) {
	t.Helper()
	for i := 1; i < len(answers); i++ {
		if len(answers[i]) != len(answers[0]) {
			t.Errorf("%s: %d responses, %s: %d", emails[0], len(answers[0]), emails[i], len(answers[i]))
			continue
		}
		for step := range answers[i] {
			if answers[i][step] != answers[0][step] {
				t.Errorf("%s answers differently from %s:\n%s", emails[i], emails[0], lineDiff(answers[0][step], answers[i][step]))
			}
		}
	}
}

func TestFormsAnswerAlikeForEveryAddress(t *testing.T) {
	type request struct {
		path  string
		email string
		form  url.Values
	}
	for _, form := range []struct {
		name     string
		signedIn bool // as ada, whose password confirms the change
		requests []request
	}{
		{"register", false, []request{
			{"/register", unknownEmail, registerValues("username", "new_user1", "email", unknownEmail)},
			{"/register", activeEmail, registerValues("username", "new_user2", "email", activeEmail)},
			{"/register", pendingEmail, registerValues("username", "new_user3", "email", pendingEmail)},
			{"/register", deactivatedEmail, registerValues("username", "new_user4", "email", deactivatedEmail)},
		}},
		// A taken username may be said (usernames are public), but the answer must not depend on
		// the address beside it.
		{"register with a taken username", false, []request{
			{"/register", unknownEmail, registerValues("username", "taken_name", "email", unknownEmail)},
			{"/register", activeEmail, registerValues("username", "taken_name", "email", activeEmail)},
			{"/register", pendingEmail, registerValues("username", "taken_name", "email", pendingEmail)},
			{"/register", deactivatedEmail, registerValues("username", "taken_name", "email", deactivatedEmail)},
		}},
		{"resend", false, []request{
			{"/verify/resend", unknownEmail, url.Values{"email": {unknownEmail}}},
			{"/verify/resend", pendingEmail, url.Values{"email": {pendingEmail}}},
			{"/verify/resend", activeEmail, url.Values{"email": {activeEmail}}},
			{"/verify/resend", deactivatedEmail, url.Values{"email": {deactivatedEmail}}},
		}},
		{"forgot", false, []request{
			{"/password/forgot", unknownEmail, url.Values{"email": {unknownEmail}}},
			{"/password/forgot", activeEmail, url.Values{"email": {activeEmail}}},
			{"/password/forgot", pendingEmail, url.Values{"email": {pendingEmail}}},
			{"/password/forgot", deactivatedEmail, url.Values{"email": {deactivatedEmail}}},
		}},
		{"email change", true, []request{
			{"/account/email", unknownEmail, url.Values{"new_email": {unknownEmail}, "password": {goodPassword}}},
			{"/account/email", activeEmail, url.Values{"new_email": {activeEmail}, "password": {goodPassword}}},
			{"/account/email", pendingEmail, url.Values{"new_email": {pendingEmail}, "password": {goodPassword}}},
			{"/account/email", deactivatedEmail, url.Values{"new_email": {deactivatedEmail}, "password": {goodPassword}}},
		}},
	} {
		for _, mode := range []string{"plain", "htmx"} {
			t.Run(form.name+"/"+mode, func(t *testing.T) {
				ta := enumerationApp(t)
				if form.signedIn {
					ta.createUser("ada", "ada@example.com", goodPassword)
				}
				var headers []string
				if mode == "htmx" {
					headers = htmx
				}
				var emails []string
				var answers [][]string
				for _, r := range form.requests {
					c := ta.client()
					if form.signedIn {
						c.login("ada", goodPassword)
					}
					c.get(r.path)
					res := c.post(r.path, r.form, headers...)
					got := []string{answer(res, r.email)}
					if loc := res.Header.Get("Location"); res.StatusCode == http.StatusSeeOther {
						// The page the redirect leads to is part of the answer.
						got = append(got, answer(c.get(loc), r.email))
					}
					emails, answers = append(emails, r.email), append(answers, got)
					ta.drainMail()
				}
				compareAnswers(t, emails, answers)
			})
		}
	}
}

// lineDiff lists the lines of b that a lacks (+) and those of a that b lacks (-).
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out []string
	for _, l := range al {
		if !slices.Contains(bl, l) {
			out = append(out, "- "+trim(l))
		}
	}
	for _, l := range bl {
		if !slices.Contains(al, l) {
			out = append(out, "+ "+trim(l))
		}
	}
	return strings.Join(out, "\n")
}

// drainMail lets the outbox send what the last request queued and drops it.
func (ta *testApp) drainMail() {
	ta.h.later.wait()
	ta.outbox.DeliverDue(context.Background())
	for {
		if _, ok := ta.smtp.Received(); !ok {
			return
		}
	}
}

// A taken username is refused the same way whatever the address beside it, and nobody gets mail.
func TestTakenUsernameSendsNothing(t *testing.T) {
	ta := enumerationApp(t)
	ta.drainMail()
	for _, email := range []string{unknownEmail, activeEmail, pendingEmail, deactivatedEmail} {
		c := ta.client()
		c.get("/register")
		res := c.post("/register", registerValues("username", "taken_name", "email", email))
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if res.doc.Find("#username-error").Length() != 1 || res.doc.Find("#email-error").Length() != 0 {
			t.Errorf("%s: the errors are not the username's alone", email)
		}
		ta.noMail(t)
	}
	var n int64
	ta.db.Model(&models.Registration{}).Count(&n)
	if n != 0 {
		t.Errorf("%d sign-ups kept for refused registrations", n)
	}
}
