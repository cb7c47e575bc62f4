package handlers

import (
	"cmp"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/session"

	"tally/config"
)

// randomToken returns n random bytes, URL-safe base64 encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// newSessionStore configures Fiber's session store: 32-byte random ids (the default UUID has
// 122 random bits), HttpOnly, SameSite=Lax, Path=/, Secure in prod.
func newSessionStore(cfg config.Config, storage fiber.Storage) *session.Store {
	return session.New(session.Config{
		Storage:        storage,
		Expiration:     cfg.SessionIdle + time.Minute,
		KeyLookup:      "cookie:" + cfg.CookieName(),
		CookiePath:     "/",
		CookieSecure:   cfg.Prod,
		CookieHTTPOnly: true,
		// The cookie ends with the browser; "remember me" makes it persistent per session.
		CookieSessionOnly: true,
		CookieSameSite:    "Lax",
		KeyGenerator:      func() string { return randomToken(32) },
	})
}

// Keys of the values a session holds. It holds little on purpose: who is signed in lives in the
// auth_sessions table, so ending a session there takes effect at the next request.
const (
	keyAuthSession = "aid"
	keyCSRF        = "csrf"
	keyFlash       = "flash"
)

// webSession wraps the store's session for one request and saves it at most once, after the
// handler, and only when something changed: a page view is not a write. It reads from vals,
// the values as last stored, and opens the store's session only to change something. A
// visitor who is not signed in has a session only while it holds something (a reset token, a
// flash); their CSRF token lives in a cookie of its own (see csrf.go).
type webSession struct {
	s    *session.Session
	vals map[string]any // read only; nil once the session is open or when there is none
	open func() (*session.Session, error)
	err  error // from open, returned by save
	c    *fiber.Ctx
	// dirty: s has changes to save.
	dirty bool
	// remember makes the cookie persistent and the store keep the session longer.
	remember bool
	cfg      *config.Config
	// anonSeed is the random value of the anonymous CSRF cookie, once read (anonRead).
	anonSeed []byte
	anonRead bool
}

func (w *webSession) getString(key string) string {
	var v any
	if w.s != nil {
		v = w.s.Get(key)
	} else {
		v = w.vals[key]
	}
	s, _ := v.(string)
	return s
}

// opened returns the store's session, opening it on first use; nil when there is none.
func (w *webSession) opened() *session.Session {
	if w.s == nil && w.open != nil && w.err == nil {
		if w.s, w.err = w.open(); w.s != nil {
			w.vals = nil
		}
	}
	return w.s
}

func (w *webSession) set(key string, v any) {
	if s := w.opened(); s != nil {
		s.Set(key, v)
		w.dirty = true
	}
}

func (w *webSession) del(key string) {
	if w.s == nil && w.vals[key] == nil {
		return // not stored: nothing to open
	}
	if s := w.opened(); s != nil && s.Get(key) != nil {
		s.Delete(key)
		w.dirty = true
	}
}

// renew gives the session a new id and empty data (login, privilege change): an id or CSRF
// token known before is worth nothing after. Nothing is stored until something is set.
func (w *webSession) renew() error {
	s := w.opened()
	if s == nil {
		return cmp.Or(w.err, errNoSession)
	}
	w.dropAnonCSRF()
	if s.Fresh() {
		// Made in this request (a visitor without a session signing in), so its id was never
		// stored or sent: there is nothing to delete, and emptying it is enough.
		for _, k := range s.Keys() {
			s.Delete(k)
		}
		return nil
	}
	return s.Reset()
}

// errNoSession: the request's session was saved or destroyed already, or never loaded.
var errNoSession = errors.New("no session to change")

// destroy deletes the session from the store and expires the cookie.
func (w *webSession) destroy() error {
	s := w.opened()
	if s == nil {
		return w.err
	}
	w.dropAnonCSRF()
	err := s.Destroy()
	w.s, w.open, w.dirty = nil, nil, false
	return err
}

// touch marks the session to be saved so its store expiry and cookie slide forward.
func (w *webSession) touch() {
	if w.opened() != nil {
		w.dirty = true
	}
}

func (w *webSession) save() error {
	if w.err != nil {
		return w.err
	}
	if w.s == nil || !w.dirty {
		return nil
	}
	s, id := w.s, w.s.ID()
	w.s, w.open, w.dirty = nil, nil, false // Save returns the session to a pool: never use it again
	if len(s.Keys()) == 0 {
		// Emptied (a flash shown, a reset link used up): nothing left to keep, so no row.
		if s.Fresh() {
			return nil
		}
		return s.Destroy()
	}
	idle := w.cfg.SessionIdle
	if w.remember {
		idle = rememberIdle
	}
	s.SetExpiry(idle + time.Minute)
	if err := s.Save(); err != nil {
		return err
	}
	if w.remember {
		// The store's cookies end with the browser; a remembered session's lasts.
		w.c.Cookie(&fiber.Cookie{
			Name: w.cfg.CookieName(), Value: id, Path: "/", MaxAge: int(rememberIdle.Seconds()),
			Expires: time.Now().Add(rememberIdle), Secure: w.cfg.Prod, HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode,
		})
	}
	return nil
}

// Lifetimes of a remembered session (ASVS level 2 allows these for "remember me").
const (
	rememberIdle = 7 * 24 * time.Hour
	rememberMax  = 30 * 24 * time.Hour
)

// takeFlash returns and clears the one-time message.
func (w *webSession) takeFlash() string {
	f := w.getString(keyFlash)
	if f != "" {
		w.del(keyFlash)
	}
	return f
}
