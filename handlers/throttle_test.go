package handlers

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"tally/models"
)

// app.Test connections come from 0.0.0.0; trusting it as a proxy lets tests speak for many
// client IPs through X-Forwarded-For.
var behindProxy = []string{"TALLY_TRUSTED_PROXIES", "0.0.0.0/32", "TALLY_RATE_IP_HOUR", "1000"}

func (c *client) tryLogin(login, password, ip string) *response {
	c.ta.t.Helper()
	c.get("/login", "X-Forwarded-For", ip)
	return c.post("/login", url.Values{"login": {login}, "password": {password}}, "X-Forwarded-For", ip)
}

func formError(res *response) string { return res.doc.Find("#form-error").Text() }

func TestLockoutPerIdentityAcrossIPs(t *testing.T) {
	for _, tc := range []struct{ name, target string }{{"existing account", "ada"}, {"no such account", "ghost"}} {
		t.Run(tc.name, func(t *testing.T) {
			ta := newTestApp(t, behindProxy...)
			ta.createUser("ada", "ada@example.com", goodPassword)
			for i := 0; i < 10; i++ {
				res := ta.client().tryLogin(tc.target, "wrong-"+strconv.Itoa(i), "203.0.113."+strconv.Itoa(i+1))
				wantStatus(t, res, http.StatusUnprocessableEntity)
				if formError(res) != errBadLogin {
					t.Fatalf("attempt %d: %q", i+1, formError(res))
				}
			}
			// Locked from every IP, even with the right password, with the same answer whether
			// or not the account exists.
			res := ta.client().tryLogin(tc.target, goodPassword, "198.51.100.7")
			wantStatus(t, res, http.StatusUnprocessableEntity)
			if formError(res) != errLocked {
				t.Fatalf("after 10 failures: %q", formError(res))
			}
			if tc.target == "ada" {
				if m := ta.smtp.Next(t); m.Subject != "Sign-in to your Tally account was paused" || m.To != "ada@example.com" {
					t.Errorf("lock mail = %q to %s", m.Subject, m.To)
				}
				ta.client().tryLogin("ADA@example.com", "still-wrong", "198.51.100.8") // more failures: no second mail
				ta.noMail(t)
				// Restart: the lock is stored.
				ta.start()
				if res := ta.client().tryLogin("ada", goodPassword, "198.51.100.9"); formError(res) != errLocked {
					t.Errorf("lock lost in a restart: %q", formError(res))
				}
			}
			ta.clock.Advance(16 * time.Minute)
			want := http.StatusSeeOther
			if tc.target == "ghost" {
				want = http.StatusUnprocessableEntity
			}
			wantStatus(t, ta.client().tryLogin(tc.target, goodPassword, "198.51.100.7"), want)
		})
	}
}

func TestSuccessClearsCounter(t *testing.T) {
	ta := newTestApp(t, behindProxy...)
	ta.createUser("ada", "ada@example.com", goodPassword)
	for i := 0; i < 9; i++ {
		ta.client().tryLogin("ada", "wrong", "203.0.113.1")
	}
	wantStatus(t, ta.client().tryLogin("ada", goodPassword, "203.0.113.1"), http.StatusSeeOther)
	for i := 0; i < 9; i++ {
		ta.client().tryLogin("ada", "wrong", "203.0.113.1")
	}
	wantStatus(t, ta.client().tryLogin("ada", goodPassword, "203.0.113.1"), http.StatusSeeOther)
}

func TestLockoutPerIP(t *testing.T) {
	ta := newTestApp(t, behindProxy...)
	for i := 0; i < 50; i++ {
		res := ta.client().tryLogin("user"+strconv.Itoa(i), "wrong", "203.0.113.5")
		wantStatus(t, res, http.StatusUnprocessableEntity)
	}
	res := ta.client().tryLogin("someone", "wrong", "203.0.113.5")
	wantStatus(t, res, http.StatusTooManyRequests)
	if res.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	wantStatus(t, ta.client().tryLogin("someone", "wrong", "203.0.113.6"), http.StatusUnprocessableEntity)
}

// An IPv6 client can take any address of its /64, so the per-IP limits count the /64: the
// login failures' limit and the forms' hourly limit.
func TestIPv6LimitsCountTheNetwork(t *testing.T) {
	t.Run("login failures", func(t *testing.T) {
		ta := newTestApp(t, behindProxy...)
		for i := 0; i < 50; i++ {
			res := ta.client().tryLogin("user"+strconv.Itoa(i), "wrong", "2001:db8:1:2::"+strconv.FormatInt(int64(i+1), 16))
			wantStatus(t, res, http.StatusUnprocessableEntity)
		}
		wantStatus(t, ta.client().tryLogin("someone", "wrong", "2001:db8:1:2:ffff:ffff:ffff:ffff"), http.StatusTooManyRequests)
		wantStatus(t, ta.client().tryLogin("someone", "wrong", "2001:db8:1:3::1"), http.StatusUnprocessableEntity)
	})
	t.Run("hourly form limit", func(t *testing.T) {
		ta := newTestApp(t, "TALLY_TRUSTED_PROXIES", "0.0.0.0/32", "TALLY_RATE_IP_HOUR", "3")
		forgot := func(ip string) *response {
			c := ta.client()
			c.get("/password/forgot", "X-Forwarded-For", ip)
			return c.post("/password/forgot", url.Values{"email": {"nobody@example.com"}}, "X-Forwarded-For", ip)
		}
		for i := 1; i <= 3; i++ {
			wantStatus(t, forgot("2001:db8:1:2::"+strconv.Itoa(i)), http.StatusOK)
		}
		wantStatus(t, forgot("2001:db8:1:2::99"), http.StatusTooManyRequests)
		wantStatus(t, forgot("2001:db8:1:3::1"), http.StatusOK)
	})
}

func TestSpoofedForwardedForIgnored(t *testing.T) {
	ta := newTestApp(t, "TALLY_RATE_IP_HOUR", "1000") // no trusted proxy
	for i := 0; i < 50; i++ {
		ta.client().tryLogin("user"+strconv.Itoa(i), "wrong", "203.0.113."+strconv.Itoa(i))
	}
	wantStatus(t, ta.client().tryLogin("someone", "wrong", "198.51.100.1"), http.StatusTooManyRequests)
}

func TestClientIPFromTrustedProxy(t *testing.T) {
	ta := newTestApp(t, behindProxy...)
	ta.createUser("ada", "ada@example.com", goodPassword)
	c := ta.client()
	// The client wrote the first entry itself; the proxy appended the real address.
	c.get("/login")
	c.post("/login", url.Values{"login": {"ada"}, "password": {goodPassword}}, "X-Forwarded-For", "6.6.6.6, 203.0.113.77")
	var s models.AuthSession
	ta.db.First(&s)
	if s.IP != "203.0.113.77" {
		t.Errorf("session IP = %q, want the address the proxy saw", s.IP)
	}
}

func TestResetClearsLock(t *testing.T) {
	ta := newTestApp(t, behindProxy...)
	ta.createUser("ada", "ada@example.com", goodPassword)
	for i := 0; i < 10; i++ {
		ta.client().tryLogin("ada", "wrong", "203.0.113.1")
	}
	ta.smtp.Next(t) // lock notice
	c := ta.client()
	c.get("/password/forgot")
	c.post("/password/forgot", url.Values{"email": {"ada@example.com"}})
	link := ta.smtp.Next(t).Link(t, "http://")
	c.get(path(t, link))
	newPassword := "violet-Harbour-1888"
	wantStatus(t, c.post("/password/reset", url.Values{"password": {newPassword}, "password_confirm": {newPassword}}), http.StatusSeeOther)
	wantStatus(t, ta.client().tryLogin("ada", newPassword, "203.0.113.1"), http.StatusSeeOther)
}

func TestKnownDeviceNotLockedOut(t *testing.T) {
	ta := newTestApp(t, behindProxy...)
	ta.createUser("ada", "ada@example.com", goodPassword)
	owner := ta.client()
	wantStatus(t, owner.tryLogin("ada", goodPassword, "192.0.2.10"), http.StatusSeeOther)
	if owner.cookie("tally_device") == "" {
		t.Fatal("no known-device cookie after a successful login")
	}
	owner.post("/logout", nil)
	for i := 0; i < 10; i++ {
		ta.client().tryLogin("ada", "guess", "203.0.113.1")
	}
	if res := ta.client().tryLogin("ada", goodPassword, "203.0.113.1"); formError(res) != errLocked {
		t.Fatalf("attacker not locked: %q", formError(res))
	}
	t.Run("forged device cookie", func(t *testing.T) {
		forger := ta.client()
		forger.jar.SetCookies(testBase, []*http.Cookie{{Name: "tally_device", Value: "abc.1.forged"}})
		if res := forger.tryLogin("ada", goodPassword, "203.0.113.1"); formError(res) != errLocked {
			t.Errorf("forged cookie got past the lock: %q", formError(res))
		}
	})
	wantStatus(t, owner.tryLogin("ada", goodPassword, "192.0.2.10"), http.StatusSeeOther)
	owner.post("/logout", nil)

	t.Run("the device counts its own failures", func(t *testing.T) {
		for i := 0; i < 10; i++ {
			owner.tryLogin("ada", "typo", "192.0.2.10")
		}
		if res := owner.tryLogin("ada", goodPassword, "192.0.2.10"); formError(res) != errLocked {
			t.Errorf("device not locked by its own failures: %q", formError(res))
		}
	})
}

func TestRememberMe(t *testing.T) {
	sessionCookie := func(res *response) *http.Cookie {
		for _, ck := range res.Cookies() {
			if ck.Name == "tally_session" && ck.Value != "" {
				return ck
			}
		}
		return nil
	}
	login := func(c *client, remember bool) *response {
		c.get("/login")
		form := url.Values{"login": {"ada"}, "password": {goodPassword}}
		if remember {
			form.Set("remember", "on")
		}
		return c.post("/login", form)
	}
	t.Run("cookie attributes", func(t *testing.T) {
		ta := newTestApp(t)
		ta.createUser("ada", "ada@example.com", goodPassword)
		ck := sessionCookie(login(ta.client(), false))
		if ck == nil || ck.MaxAge != 0 || !ck.Expires.IsZero() {
			t.Errorf("without remember: %+v, want a browser-session cookie", ck)
		}
		c := ta.client()
		ck = sessionCookie(login(c, true))
		if ck == nil || ck.MaxAge < 6*24*3600 || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
			t.Errorf("with remember: %+v", ck)
		}
		// Idle 2 days: a normal session would be gone, a remembered one is not.
		ta.clock.Advance(48 * time.Hour)
		wantStatus(t, c.get("/dashboard"), http.StatusOK)
		for i := 0; i < 4; i++ { // active every 6 days, up to day 26
			ta.clock.Advance(6 * 24 * time.Hour)
			wantStatus(t, c.get("/dashboard"), http.StatusOK)
		}
		ta.clock.Advance(6 * 24 * time.Hour) // day 32: past the 30-day absolute limit
		wantStatus(t, c.get("/dashboard"), http.StatusSeeOther)
	})
	t.Run("remembered session idles out after 7 days", func(t *testing.T) {
		ta := newTestApp(t)
		ta.createUser("ada", "ada@example.com", goodPassword)
		c := ta.client()
		login(c, true)
		ta.clock.Advance(7*24*time.Hour + time.Minute)
		wantStatus(t, c.get("/dashboard"), http.StatusSeeOther)
	})
	t.Run("operator switched it off", func(t *testing.T) {
		ta := newTestApp(t, "TALLY_REMEMBER", "off")
		ta.createUser("ada", "ada@example.com", goodPassword)
		c := ta.client()
		if c.get("/login").doc.Find("#remember").Length() != 0 {
			t.Error("remember box shown")
		}
		if ck := sessionCookie(login(c, true)); ck == nil || ck.MaxAge != 0 {
			t.Errorf("remember honoured while off: %+v", ck)
		}
	})
}

func TestAbsoluteSessionLifetime(t *testing.T) {
	ta := newTestApp(t)
	_, c := ta.signedInAda()
	for elapsed := time.Duration(0); elapsed < 12*time.Hour-20*time.Minute; elapsed += 20 * time.Minute {
		ta.clock.Advance(20 * time.Minute)
		wantStatus(t, c.get("/dashboard"), http.StatusOK)
	}
	ta.clock.Advance(30 * time.Minute)
	wantStatus(t, c.get("/dashboard"), http.StatusSeeOther)
}

func TestSessionList(t *testing.T) {
	ta := newTestApp(t)
	ta.createUser("ada", "ada@example.com", goodPassword)
	ta.createUser("bob", "bob@example.com", goodPassword)
	phone, laptop, tablet := ta.client(), ta.client(), ta.client()
	var phoneSession models.AuthSession
	for _, c := range []*client{phone, laptop, tablet} {
		c.get("/login", "User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
		c.post("/login", url.Values{"login": {"ada"}, "password": {goodPassword}}, "User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
		if c == phone {
			ta.db.First(&phoneSession)
		}
	}
	bob := ta.client()
	bob.login("bob", goodPassword)

	res := laptop.get("/account/sessions")
	wantStatus(t, res, http.StatusOK)
	rows := res.doc.Find("#sessions tbody tr")
	if rows.Length() != 3 {
		t.Fatalf("sessions listed = %d", rows.Length())
	}
	if !strings.Contains(rows.Text(), "Firefox on Linux") || res.doc.Find(".this-session").Length() != 1 {
		t.Errorf("device names / this-session marker missing: %s", rows.Text())
	}
	if strings.Contains(res.body, laptop.cookie("tally_session")) {
		t.Error("a session key is shown on the page")
	}

	t.Run("cannot end another user's session", func(t *testing.T) {
		bob.get("/account/sessions")
		wantStatus(t, bob.post("/account/sessions/"+phoneSession.ID+"/revoke", nil), http.StatusNotFound)
		wantStatus(t, phone.get("/dashboard"), http.StatusOK)
	})
	t.Run("revoke one", func(t *testing.T) {
		laptop.get("/account/sessions")
		wantStatus(t, laptop.post("/account/sessions/"+phoneSession.ID+"/revoke", nil), http.StatusSeeOther)
		wantStatus(t, phone.get("/dashboard"), http.StatusSeeOther)
		wantStatus(t, laptop.get("/dashboard"), http.StatusOK)
	})
	t.Run("revoke others", func(t *testing.T) {
		laptop.get("/account/sessions")
		wantStatus(t, laptop.post("/account/sessions/revoke-others", nil), http.StatusSeeOther)
		wantStatus(t, tablet.get("/dashboard"), http.StatusSeeOther)
		wantStatus(t, laptop.get("/dashboard"), http.StatusOK)
		wantStatus(t, bob.get("/dashboard"), http.StatusOK)
	})
	t.Run("security activity", func(t *testing.T) {
		res := laptop.get("/account/security")
		wantStatus(t, res, http.StatusOK)
		text := res.doc.Find("#security-events").Text()
		for _, want := range []string{"Signed in", "Session ended remotely"} {
			if !strings.Contains(text, want) {
				t.Errorf("security page lacks %q", want)
			}
		}
	})
}

func TestLastSeenIsCoalesced(t *testing.T) {
	ta := newTestApp(t)
	_, c := ta.signedInAda()
	lastSeen := func() time.Time {
		var s models.AuthSession
		ta.db.First(&s)
		return s.LastSeenAt
	}
	start := lastSeen()
	ta.clock.Advance(30 * time.Second)
	c.get("/dashboard")
	if !lastSeen().Equal(start) {
		t.Error("last-seen written within the same minute")
	}
	ta.clock.Advance(31 * time.Second)
	c.get("/dashboard")
	if !lastSeen().After(start) {
		t.Error("last-seen not moved after a minute")
	}
}

func TestHashingIsBounded(t *testing.T) {
	ta := newTestApp(t)
	_, viewer := ta.signedInAda()
	c := ta.client()
	c.get("/login")

	// Occupy every hashing worker and every place in the queue, as a flood from many networks
	// would.
	release := make(chan struct{})
	drain := fillGate(t, ta.h.gate, release)
	res := c.post("/login", url.Values{"login": {"ada"}, "password": {goodPassword}})
	wantStatus(t, res, http.StatusServiceUnavailable)
	if res.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	c.get("/register")
	wantStatus(t, c.post("/register", registerValues("username", "zed", "email", "zed@example.com")), http.StatusServiceUnavailable)
	wantStatus(t, viewer.get("/dashboard"), http.StatusOK) // page views go on
	close(release)
	drain()
	c.get("/login")
	wantStatus(t, c.post("/login", url.Values{"login": {"ada"}, "password": {goodPassword}}), http.StatusSeeOther)
}

func TestLoginFloodKeepsPagesServed(t *testing.T) {
	if testing.Short() {
		t.Skip("real argon2 parameters")
	}
	ta := newTestApp(t, behindProxy...)
	ta.hash = models.DefaultHashParams
	ta.start()
	_, viewer := ta.signedInAda()
	base := ta.listen()

	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for i := 0; i < 60; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := ta.client()
			if _, err := c.try(c.getRequest("/login", nil)); err != nil {
				t.Error(err)
				return
			}
			form := url.Values{"login": {"ada"}, "password": {"wrong-password-x"}, "_csrf": {c.csrf}}
			req, _ := http.NewRequest(http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for _, ck := range c.jar.Cookies(testBase) {
				req.AddCookie(ck)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			mu.Lock()
			statuses[res.StatusCode]++
			mu.Unlock()
		}()
	}
	for i := 0; i < 5; i++ {
		wantStatus(t, viewer.get("/dashboard"), http.StatusOK)
	}
	wg.Wait()
	for status, n := range statuses {
		if status != http.StatusUnprocessableEntity && status != http.StatusServiceUnavailable && status != http.StatusTooManyRequests {
			t.Errorf("%d answers with status %d", n, status)
		}
	}
	// All from one address: beyond its share of the gate, which alone is the whole gate.
	if statuses[http.StatusServiceUnavailable]+statuses[http.StatusTooManyRequests] == 0 {
		t.Errorf("no request was turned away: %v", statuses)
	}
}

// The forms that ask a signed-in user for their password are password guesses: with a stolen
// session cookie they must not allow unlimited tries, so wrong passwords count against the
// session and end it at the lockout threshold. Failures elsewhere (guessing at the login form)
// must not keep the owner from these forms.
func TestPasswordConfirmationIsThrottled(t *testing.T) {
	for _, tc := range []struct {
		name, path, field string
		form              url.Values
	}{
		{"password change", "/account/password", "current_password",
			url.Values{"new_password": {"another-Pass-phrase-7"}, "new_password_confirm": {"another-Pass-phrase-7"}}},
		{"account deletion", "/account/delete", "password", url.Values{}},
		{"export", "/account/export", "password", url.Values{}},
		{"email change", "/account/email", "password", url.Values{"new_email": {"ada.new@example.com"}}},
	} {
		try := func(c *client, password string) *response {
			c.get(tc.path)
			f := cloneValues(tc.form)
			f.Set(tc.field, password)
			return c.post(tc.path, f)
		}
		t.Run(tc.name+": the session ends", func(t *testing.T) {
			ta := newTestApp(t, "TALLY_LOCKOUT_THRESHOLD", "3")
			u, c := ta.signedInAda()
			other := ta.client()
			other.login("ada", goodPassword)
			for i := 0; i < 2; i++ {
				res := try(c, "wrong-"+strconv.Itoa(i))
				wantStatus(t, res, http.StatusUnprocessableEntity)
				if got := res.doc.Find("#" + tc.field + "-error").Text(); got != "Your password is not correct." {
					t.Errorf("error %q", got)
				}
			}
			res := try(c, "wrong-2")
			wantStatus(t, res, http.StatusUnauthorized)
			if !strings.Contains(res.doc.Find("main").Text(), "signed out") {
				t.Errorf("third wrong password: %s", strings.TrimSpace(res.doc.Find("main").Text()))
			}
			wantStatus(t, c.get("/dashboard"), http.StatusSeeOther)
			if ta.user(u.ID).PasswordHash != u.PasswordHash {
				t.Error("the password changed")
			}
			wantStatus(t, other.get("/dashboard"), http.StatusOK) // the owner's other session
			es, _ := models.UserEvents(ta.db, u.ID, 2)
			if len(es) != 2 || es[0].Kind != models.EventSessionRevoked || es[1].Kind != models.EventLoginFailure ||
				es[1].Detail != "Wrong password on "+tc.path {
				t.Errorf("latest events = %+v, want the failure and the session's end", es)
			}
			// Logging in again is not locked: the guesses were not logins.
			wantStatus(t, ta.client().tryLogin("ada", goodPassword, "203.0.113.9"), http.StatusSeeOther)
		})
		t.Run(tc.name+": login guessing elsewhere does not block the owner", func(t *testing.T) {
			ta := newTestApp(t, append(behindProxy, "TALLY_LOCKOUT_THRESHOLD", "3")...)
			_, c := ta.signedInAda()
			// Without a known-device cookie, as after signing in from a verification link: the
			// account's own lock would apply to this browser.
			c.jar.SetCookies(testBase, []*http.Cookie{{Name: "tally_device", Value: "", MaxAge: -1}})
			if c.cookie("tally_device") != "" {
				t.Fatal("the device cookie is still there")
			}
			for i := 0; i < 3; i++ {
				ta.client().tryLogin("ada", "wrong", "198.51.100.7")
			}
			res := try(c, goodPassword)
			if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusSeeOther {
				t.Errorf("the right password after someone else's guesses: %d %s", res.StatusCode,
					strings.TrimSpace(res.doc.Find("#"+tc.field+"-error, main").First().Text()))
			}
		})
	}
}

// A wrong password writes the same number of commits whether or not the account exists: an
// existing account's "failed sign-in" event goes into the failure's own transaction, so its
// fsync cannot tell a guesser which names have accounts.
func TestFailedLoginIsOneCommit(t *testing.T) {
	ta := newTestApp(t)
	ta.createUser("ada", "ada@example.com", goodPassword)
	var mu sync.Mutex
	var commits []gorm.ConnPool // the transaction of each write of a failed login
	err := ta.db.Callback().Create().After("gorm:create").Register("test:failed_login_commits", func(tx *gorm.DB) {
		switch tx.Statement.Dest.(type) {
		case *[]models.LoginFailure, *models.SecurityEvent:
			mu.Lock()
			commits = append(commits, tx.Statement.ConnPool)
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		login  string
		writes int
	}{{"ada", 2}, {"ghost", 1}} {
		t.Run(tc.login, func(t *testing.T) {
			mu.Lock()
			commits = nil
			mu.Unlock()
			c := ta.client()
			c.get("/login")
			wantStatus(t, c.post("/login", url.Values{"login": {tc.login}, "password": {"wrong-password"}}), http.StatusUnprocessableEntity)
			mu.Lock()
			defer mu.Unlock()
			if len(commits) != tc.writes {
				t.Fatalf("%d writes, want %d", len(commits), tc.writes)
			}
			for i, pool := range commits {
				if _, ok := pool.(gorm.TxCommitter); !ok || pool != commits[0] {
					t.Errorf("write %d of %d is not in the one transaction of this failed login", i+1, len(commits))
				}
			}
		})
	}
}
