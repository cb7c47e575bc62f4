package handlers

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"tally/config"
)

// CSRF tokens come from one of two places. A signed-in session keeps its token in the session,
// made at login and again at every change of privilege. A visitor who is not signed in has no
// session, and a page view must not make one (it would be a write for every view of /login):
// their forms carry a MAC, under the server's secret, of a random value kept in a cookie of its
// own (signed double submit). A form is accepted when its token is the MAC of the value in the
// cookie the same browser sends, so a token read from any other browser is worth nothing here,
// and nobody can make one without the secret. In production the cookie's name has the __Host-
// prefix: browsers accept it only from this origin over HTTPS, so a sibling subdomain or a
// plain-HTTP response cannot plant a value whose token the attacker knows.

var errCSRF = fiber.NewError(fiber.StatusForbidden,
	"This form has expired or was sent from another site. Reload the page and try again.")

// checkCSRF guards every state change: the request must come from this origin (Fetch Metadata
// and Origin, when the browser sends them) and carry its CSRF token in the _csrf field or the
// X-CSRF-Token header. Fiber's csrf middleware is not used because with session storage it
// rewrites the session on every GET, which would make every page view a database write.
func (h *Handlers) checkCSRF(c *fiber.Ctx) error {
	switch c.Method() {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return c.Next()
	}
	if site := c.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return errCSRF
	}
	if origin := c.Get(fiber.HeaderOrigin); origin != "" && !h.sameOrigin(c, origin) {
		return errCSRF
	}
	token := c.Get("X-CSRF-Token")
	if token == "" {
		token = c.FormValue("_csrf")
	}
	if !currentSession(c).csrfMatches(token) {
		if ended, _ := c.Locals(localSessionEnded).(bool); ended {
			return h.toLogin(c)
		}
		return errCSRF
	}
	return c.Next()
}

// csrfToken returns the token for this response's forms, creating it when there is none: in
// the session when signed in, else in the anonymous CSRF cookie.
func (w *webSession) csrfToken() string {
	if t := w.getString(keyCSRF); t != "" {
		return t
	}
	if w.signedIn() {
		t := randomToken(32)
		w.set(keyCSRF, t)
		return t
	}
	return w.anonCSRF(true)
}

// currentCSRFToken is csrfToken without creating anything, for pages that store nothing.
func (w *webSession) currentCSRFToken() string {
	if t := w.getString(keyCSRF); t != "" || w.signedIn() {
		return t
	}
	return w.anonCSRF(false)
}

// csrfMatches reports whether got is this browser's token: the session's when it has one
// (always, once signed in), else the MAC of the anonymous cookie's value.
func (w *webSession) csrfMatches(got string) bool {
	want := w.getString(keyCSRF)
	if want == "" && !w.signedIn() {
		want = w.anonCSRF(false)
	}
	return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

func (w *webSession) signedIn() bool { return w.getString(keyAuthSession) != "" }

// anonCSRFSeedLen is the size of the anonymous cookie's random value.
const anonCSRFSeedLen = 32

// anonCSRF returns the anonymous token of the browser's CSRF cookie. Without a valid cookie it
// returns "", or with mint sets a new cookie and returns its token.
func (w *webSession) anonCSRF(mint bool) string {
	if w.c == nil || w.cfg == nil {
		return ""
	}
	if !w.anonRead {
		w.anonRead = true
		seed, err := base64.RawURLEncoding.DecodeString(w.c.Cookies(csrfCookieName(w.cfg)))
		if err == nil && len(seed) == anonCSRFSeedLen {
			w.anonSeed = seed
		}
	}
	if w.anonSeed == nil {
		if !mint {
			return ""
		}
		w.anonSeed = make([]byte, anonCSRFSeedLen)
		_, _ = rand.Read(w.anonSeed) // crypto/rand does not fail on supported platforms
		w.c.Cookie(anonCSRFCookie(w.cfg, base64.RawURLEncoding.EncodeToString(w.anonSeed)))
	}
	return anonCSRFToken(w.cfg.Secret, w.anonSeed)
}

// dropAnonCSRF ends the anonymous token at login, logout and any change of privilege, as the
// session's token ends: a token seen before is worth nothing after. A page rendered later in
// the same request gets a new one.
func (w *webSession) dropAnonCSRF() {
	if w.c == nil || w.cfg == nil {
		return
	}
	had := w.anonSeed != nil || (!w.anonRead && w.c.Cookies(csrfCookieName(w.cfg)) != "")
	w.anonRead, w.anonSeed = true, nil
	if had {
		ck := anonCSRFCookie(w.cfg, "")
		ck.Expires = fasthttp.CookieExpireDelete
		w.c.Cookie(ck)
	}
}

// anonCSRFToken is the MAC of an anonymous cookie's value; the label keeps it apart from every
// other use of the secret.
func anonCSRFToken(secret, seed []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("tally anonymous csrf v1\x00"))
	m.Write(seed)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// csrfCookieName is the anonymous CSRF cookie; in production the __Host- prefix makes browsers
// insist on Secure, Path=/ and no Domain, so only this origin over HTTPS can set it.
func csrfCookieName(cfg *config.Config) string {
	if cfg.Prod {
		return "__Host-tally_csrf"
	}
	return "tally_csrf"
}

// anonCSRFCookie lasts as long as the browser's session, like the session cookie; only the
// server reads it (HttpOnly): pages carry its MAC, never the value.
func anonCSRFCookie(cfg *config.Config, value string) *fiber.Cookie {
	return &fiber.Cookie{
		Name: csrfCookieName(cfg), Value: value, Path: "/", Secure: cfg.Prod, HTTPOnly: true,
		SameSite: fiber.CookieSameSiteLaxMode,
	}
}
