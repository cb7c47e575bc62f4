package handlers

import (
	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"tally/views"
)

func isHTMX(c *fiber.Ctx) bool { return c.Get("HX-Request") == "true" }

// page describes one response: the whole page for a normal request, and the fragment that an
// htmx request swaps in place (nil when the page has none).
type page struct {
	Title    string
	Status   int
	Body     templ.Component
	Fragment templ.Component
	Narrow   bool
	// Public pages without forms make no CSRF token (for a visitor who is not signed in, no
	// CSRF cookie) and leave the flash to the next page.
	NoSession bool
}

// render is the one place that decides between fragment and full page.
func (h *Handlers) render(c *fiber.Ctx, p page) error {
	ws := currentSession(c)
	token := ws.currentCSRFToken()
	if !p.NoSession {
		token = ws.csrfToken()
	}
	if p.Status == 0 {
		p.Status = fiber.StatusOK
	}
	c.Status(p.Status)
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Vary("HX-Request")
	ctx := views.WithCSRF(c.UserContext(), token)
	if isHTMX(c) && p.Fragment != nil {
		return p.Fragment.Render(ctx, c.Response().BodyWriter())
	}
	meta := views.Meta{Title: p.Title, User: currentUser(c), CSRF: token, Narrow: p.Narrow, Impersonator: impersonator(c)}
	if !p.NoSession {
		meta.Flash = ws.takeFlash()
	}
	return views.Layout(meta).Render(templ.WithChildren(ctx, p.Body), c.Response().BodyWriter())
}

// redirect sends a browser to url after a POST (303) or, for htmx, with HX-Redirect.
func (h *Handlers) redirect(c *fiber.Ctx, url string) error {
	if isHTMX(c) {
		c.Set("HX-Redirect", url)
		return c.SendStatus(fiber.StatusNoContent)
	}
	return c.Redirect(url, fiber.StatusSeeOther)
}

// flash stores a one-time message for the next page.
func (h *Handlers) flash(c *fiber.Ctx, msg string) {
	currentSession(c).set(keyFlash, msg)
}
