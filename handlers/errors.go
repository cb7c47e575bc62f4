package handlers

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	"tally/models"
	"tally/views"
)

// handleError is the one place errors become responses: known errors get their status and a
// readable page (a fragment for htmx, JSON under /api and to a request that sent or asks for
// JSON), anything else is logged with the
// request id and answered 500 without details.
func (h *Handlers) handleError(c *fiber.Ctx, err error) error {
	status, msg := fiber.StatusInternalServerError, "Something went wrong on our side. Please try again in a moment."
	var fe *fiber.Error
	switch {
	case errors.As(err, &fe):
		status = fe.Code
		// A request the server could not parse arrives before any middleware ran (no request
		// id), with the parser's error as its message: that quotes the raw request, cookies too.
		if fe.Message != http.StatusText(fe.Code) && requestID(c) != "" && !routerNotFound(c, fe) {
			msg = fe.Message
		} else {
			msg = defaultMessage(fe.Code)
		}
	case errors.Is(err, models.ErrNotFound):
		status, msg = fiber.StatusNotFound, defaultMessage(fiber.StatusNotFound)
	}
	if status >= 500 && !errors.Is(err, errBusy) { // the hash gate's refusals are summed up by the gate
		h.log.Error("request failed", "request_id", requestID(c), "method", c.Method(), "path", c.Path(), "err", err)
		if status == fiber.StatusInternalServerError {
			msg = "Something went wrong on our side. Please try again in a moment."
		}
	}
	c.Response().ResetBody()
	setSecurityHeaders(c)
	c.Status(status)
	if strings.HasPrefix(c.Path(), "/api/") || wantsJSON(c) {
		return c.JSON(fiber.Map{"error": msg})
	}
	return h.render(c, page{
		Title:     http.StatusText(status),
		Status:    status,
		Body:      views.ErrorPage(status, http.StatusText(status), msg),
		Fragment:  views.ErrorAlert(msg),
		NoSession: true,
	})
}

// wantsJSON reports a request made by a script that reads JSON (passkeys.js): it sent JSON or
// asked for it, so a guard's refusal (CSRF, a body too large) is answered in JSON too, with the
// sentence the script shows.
func wantsJSON(c *fiber.Ctx) bool {
	return mediaType(c.Get(fiber.HeaderContentType)) == fiber.MIMEApplicationJSON ||
		strings.Contains(c.Get(fiber.HeaderAccept), fiber.MIMEApplicationJSON)
}

// mediaType is a Content-Type without its parameters, in lower case.
func mediaType(ct string) string {
	ct, _, _ = strings.Cut(ct, ";")
	return strings.ToLower(strings.TrimSpace(ct))
}

// routerNotFound reports Fiber's own 404 for an address no route matches: "Cannot GET /path",
// with the path escaped by Fiber and then again by the page. A handler's 404 says what is
// missing and keeps its words.
func routerNotFound(c *fiber.Ctx, fe *fiber.Error) bool {
	return fe.Code == fiber.StatusNotFound && strings.HasPrefix(fe.Message, "Cannot "+c.Method()+" ")
}

func defaultMessage(status int) string {
	switch status {
	case fiber.StatusBadRequest:
		return "Your browser sent a request that Tally could not read. Please try again."
	case fiber.StatusNotFound:
		return "There is no page at this address."
	case fiber.StatusMethodNotAllowed:
		return "This address does not accept that kind of request."
	case fiber.StatusRequestEntityTooLarge:
		return "What you sent is too large: a bank file can be at most 5 MiB and 50,000 rows, a picture 2 MiB."
	case fiber.StatusTooManyRequests:
		return "Too many attempts. Please wait a little and try again."
	case fiber.StatusForbidden:
		return "You do not have access to this page."
	case fiber.StatusUnauthorized:
		return "Please log in first."
	}
	return http.StatusText(status)
}
