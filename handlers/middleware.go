package handlers

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/session"
	"github.com/valyala/fasthttp"

	"tally/config"
	"tally/models"
)

type localKey int

const (
	localSession localKey = iota
	localUser
	localAuthSession
	localSessionEnded
)

// logRequests writes one structured line per request. It logs the path without the query
// string: queries can carry tokens (verification and reset links).
func (h *Handlers) logRequests(c *fiber.Ctx) error {
	start := time.Now()
	if m := c.Method(); m == fiber.MethodGet || m == fiber.MethodHead {
		h.gate.sawView()
	}
	err := c.Next()
	if err != nil {
		if herr := c.App().ErrorHandler(c, err); herr != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}
	h.logRequest(c, start)
	return nil
}

// logRequest writes the request's line.
func (h *Handlers) logRequest(c *fiber.Ctx, start time.Time) {
	h.log.LogAttrs(c.UserContext(), slog.LevelInfo, "request",
		slog.String("method", c.Method()),
		slog.String("path", c.Path()),
		slog.Int("status", c.Response().StatusCode()),
		slog.Duration("duration", time.Since(start)),
		slog.Int("bytes", len(c.Response().Body())),
		slog.String("ip", h.clientIP(c)),
		slog.String("request_id", requestID(c)),
		slog.Uint64("user_id", uint64(currentUser(c).ID)),
	)
}

// answerUnknownMethods goes in front of Fiber's handler. Fiber answers a method outside its
// list with a bare 400 before any middleware runs: no security headers and no log line. This
// answers it instead with 501 Not Implemented (RFC 9110, section 15.6.2), the headers, and the
// request's line.
func (h *Handlers) answerUnknownMethods(app *fiber.App) {
	known := map[string]bool{} // the methods Fiber routes: its list, defaults filled in
	for _, m := range app.Config().RequestMethods {
		known[m] = true
	}
	srv := app.Server()
	next := srv.Handler
	srv.Handler = func(rc *fasthttp.RequestCtx) {
		if known[string(rc.Method())] {
			next(rc)
			return
		}
		start := time.Now()
		c := app.AcquireCtx(rc)
		defer app.ReleaseCtx(c)
		setSecurityHeaders(c)
		_ = c.Status(fiber.StatusNotImplemented).SendString("This server does not support that request method.")
		h.logRequest(c, start)
	}
}

func (h *Handlers) logPanic(c *fiber.Ctx, e any) {
	h.log.Error("panic", "request_id", requestID(c), "panic", fmt.Sprint(e))
}

func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals("requestid").(string)
	return id
}

// contentSecurityPolicy allows scripts, styles and images from this origin only: no inline
// script or style and no eval anywhere.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// setSecurityHeaders is called by the middleware and again by the error handler, because
// errors raised before any middleware ran (an oversized body) must carry the headers too.
func setSecurityHeaders(c *fiber.Ctx) {
	c.Set("Content-Security-Policy", contentSecurityPolicy)
	SecurityHeaders(c.Set)
	if c.Protocol() == "https" {
		c.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
}

// SecurityHeaders sets the headers every answer carries besides its Content-Security-Policy
// and HSTS: the app's and those of the server that answers while a start opens the database.
func SecurityHeaders(set func(key, value string)) {
	set("X-Content-Type-Options", "nosniff")
	set("X-Frame-Options", "DENY")
	// same-origin, not no-referrer: the CSRF check over HTTPS needs to see our own Referer.
	set("Referrer-Policy", "same-origin")
	set("Cross-Origin-Opener-Policy", "same-origin")
	set("Cross-Origin-Resource-Policy", "same-origin")
	set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
	// Pages are private or carry a CSRF token: nothing but static files may be stored.
	set("Cache-Control", "no-store")
}

func securityHeaders(c *fiber.Ctx) error {
	setSecurityHeaders(c)
	return c.Next()
}

// loadSession reads the session once, resolves the signed-in user, runs the handler, renders
// any error, and saves the session only if it changed. A session in the cache is read from its
// decoded values; the store's session is opened only to change it.
func (h *Handlers) loadSession(c *fiber.Ctx) error {
	ws := &webSession{c: c, cfg: &h.cfg, open: func() (*session.Session, error) { return h.openSession(c) }}
	if vals, ok := h.sessionData.values(c.Cookies(h.cfg.CookieName())); ok {
		ws.vals = vals
	} else if s := ws.opened(); ws.err != nil {
		return ws.err
	} else if s.Fresh() && c.Cookies(h.cfg.CookieName()) != "" {
		// The cookie names no stored session (ended, expired, planted): the browser is told to
		// drop it, so it stops costing a lookup on every request. Saving a session later in this
		// request sets the cookie again. A session past its idle limit is gone from the store a
		// minute later, so a form sent from its page is sent to sign in again, as in resolveUser.
		c.Locals(localSessionEnded, true)
		c.Cookie(&fiber.Cookie{
			Name: h.cfg.CookieName(), Path: "/", Expires: fasthttp.CookieExpireDelete, Secure: h.cfg.Prod,
			HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode,
		})
	}
	c.Locals(localSession, ws)
	c.Locals(localUser, models.Anonymous())
	if err := h.resolveUser(c, ws); err != nil {
		return err
	}
	err := c.Next()
	if err != nil {
		if herr := c.App().ErrorHandler(c, err); herr != nil {
			return herr
		}
	}
	return ws.save()
}

// openSession reads the request's session through the store. Data that cannot be decoded is
// deleted and the browser starts over with a new session, rather than failing every request.
func (h *Handlers) openSession(c *fiber.Ctx) (*session.Session, error) {
	s, err := h.sessions.Get(c)
	if err == nil {
		return s, nil
	}
	id := c.Cookies(h.cfg.CookieName())
	if !h.sessionData.undecodable(id) {
		return nil, err // the store failed: the session may be fine
	}
	h.log.Warn("session unreadable", "request_id", requestID(c), "err", err)
	if err := h.sessions.Delete(id); err != nil {
		return nil, err
	}
	return h.sessions.Get(c)
}

// resolveUser binds the session's user to the request. A session whose row is gone (logged
// out elsewhere, revoked) or past its idle or absolute limit becomes an anonymous one with a
// new id.
func (h *Handlers) resolveUser(c *fiber.Ctx, ws *webSession) error {
	aid := ws.getString(keyAuthSession)
	if aid == "" {
		return nil
	}
	now := h.now()
	as, err := h.sessionCache.Find(h.db, aid, now)
	if err == nil && as.User.IsActive {
		idle, max := h.cfg.SessionIdle, h.cfg.SessionMax
		if as.Remember {
			idle, max = rememberIdle, rememberMax
		}
		err = as.CheckLifetime(now, idle, max)
		ws.remember = as.Remember
	} else if err == nil {
		err = models.ErrInactive
	}
	switch {
	case err == nil:
	case errors.Is(err, models.ErrNotFound), errors.Is(err, models.ErrInactive), errors.Is(err, models.ErrSessionExpired):
		_ = models.EndAuthSession(h.db, aid)
		// The CSRF token goes with the session; a form sent from the expired page is then sent
		// to the login page rather than refused (see checkCSRF).
		c.Locals(localSessionEnded, true)
		return ws.renew()
	default:
		return err
	}
	// Last-seen is written at most once a minute per session, not on every view.
	if now.Sub(as.LastSeenAt) >= time.Minute {
		if err := h.sessionCache.Touch(h.db, as.ID, now); err != nil {
			return err
		}
		ws.touch()
	}
	c.Locals(localUser, &as.User)
	c.Locals(localAuthSession, as)
	return nil
}

func currentUser(c *fiber.Ctx) *models.User {
	if u, ok := c.Locals(localUser).(*models.User); ok {
		return u
	}
	return models.Anonymous()
}

// currentAuthSession is the signed-in session's row (a zero value when anonymous).
func currentAuthSession(c *fiber.Ctx) *models.AuthSession {
	if as, ok := c.Locals(localAuthSession).(*models.AuthSession); ok {
		return as
	}
	return &models.AuthSession{}
}

func currentSession(c *fiber.Ctx) *webSession {
	if ws, ok := c.Locals(localSession).(*webSession); ok {
		return ws
	}
	return &webSession{}
}

func (h *Handlers) sameOrigin(c *fiber.Ctx, origin string) bool {
	base := h.cfg.BaseURL.Scheme + "://" + h.cfg.BaseURL.Host
	return strings.EqualFold(origin, base) || strings.EqualFold(origin, c.Protocol()+"://"+c.Hostname())
}

// requireUser sends anonymous visitors to the login page, keeping where they were going (see
// toLogin). With TALLY_REQUIRE_2FA=all, a user without two-factor goes to its enrolment first.
func (h *Handlers) requireUser(c *fiber.Ctx) error {
	if !currentUser(c).IsAuthenticated() {
		return h.toLogin(c)
	}
	if h.cfg.RequireTwoFactor == config.RequireTwoFactorAll && h.mustEnrol(signedInUser(c)) {
		return h.toEnrolment(c)
	}
	return c.Next()
}

// requireUserToEnrol is requireUser for the enrolment's own pages, which a user who must enrol
// reaches.
func (h *Handlers) requireUserToEnrol(c *fiber.Ctx) error {
	if currentUser(c).IsAuthenticated() {
		return c.Next()
	}
	return h.toLogin(c)
}

// signedInUser is who is signed in: the staff member while they view Tally as someone else.
func signedInUser(c *fiber.Ctx) *models.User {
	if admin := impersonator(c); admin != nil {
		return admin
	}
	return currentUser(c)
}

// toLogin sends the visitor to the login page with next set to where they were. An htmx
// request is answered with a sign-in dialog in place instead (see reauth.go): a session that
// ended under an open page must not take what was typed on it. Logging out needs no sign-in.
func (h *Handlers) toLogin(c *fiber.Ctx) error {
	if isHTMX(c) && c.Path() != "/logout" {
		return h.askToSignInAgain(c)
	}
	return h.redirect(c, "/login?next="+url.QueryEscape(safeNext(currentPage(c), "/dashboard")))
}

// currentPage is where the visitor is: the page an htmx request came from, else the request's
// own address.
func currentPage(c *fiber.Ctx) string {
	if !isHTMX(c) {
		return c.OriginalURL()
	}
	if u, err := url.Parse(c.Get("HX-Current-URL")); err == nil {
		return u.RequestURI()
	}
	return "/"
}

func (h *Handlers) requireUserAPI(c *fiber.Ctx) error {
	if !currentUser(c).IsAuthenticated() {
		return fiber.NewError(fiber.StatusUnauthorized, "Authentication required.")
	}
	if h.cfg.RequireTwoFactor == config.RequireTwoFactorAll && h.mustEnrol(signedInUser(c)) {
		return errEnrolFirst
	}
	return c.Next()
}

var errEnrolFirst = fiber.NewError(fiber.StatusForbidden, "Turn on two-factor sign-in first: this Tally requires it (/account/2fa).")

// limitForm refuses url-encoded bodies above formBodyLimit with 413.
func limitForm(c *fiber.Ctx) error {
	if len(c.Body()) > formBodyLimit {
		return fiber.ErrRequestEntityTooLarge
	}
	return c.Next()
}

// safeNext returns next when it is a path on this site, else def. It refuses absolute and
// protocol-relative URLs, backslashes (browsers read "/\" as "//") and control characters
// (browsers drop tabs and newlines, turning "/\t/x" into "//x").
func safeNext(next, def string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsRune(next, '\\') ||
		models.CheckText(next, 2000) != "" {
		return def
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return def
	}
	return next
}

// limitIP allows each client IP (an IPv6 client's /64) cfg.IPPerHour requests an hour to one
// route, counted in the database so a restart does not reset them and instances sharing it
// count together, exactly (see models.RateLimits). The headers are those of Fiber's limiter.
func (h *Handlers) limitIP() fiber.Handler {
	return func(c *fiber.Ctx) error {
		now := h.now()
		hits, reset, err := h.rates.Hit(c.Route().Path+"|"+h.clientNetwork(c), time.Hour, now)
		if err != nil {
			return err
		}
		limit := h.cfg.IPPerHour
		wait := strconv.Itoa(int(math.Ceil(reset.Sub(now).Seconds())))
		c.Set("X-RateLimit-Limit", strconv.Itoa(limit))
		c.Set("X-RateLimit-Remaining", strconv.Itoa(max(limit-hits, 0)))
		c.Set("X-RateLimit-Reset", wait)
		if hits > limit {
			c.Set(fiber.HeaderRetryAfter, wait)
			return fiber.NewError(fiber.StatusTooManyRequests,
				"Too many requests from your network to this form. Please try again in an hour.")
		}
		return c.Next()
	}
}
