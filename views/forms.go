// Package views holds Tally's templ components and the plain structs they render. Components
// never query anything: handlers hand them everything they show.
package views

import (
	"context"
	"encoding/json"

	"github.com/a-h/templ"
)

// Form carries a form's validation errors back into its component.
type Form struct {
	FieldErrors map[string]string
	// NonFieldError is for errors about the whole form (a failed login).
	NonFieldError string
}

// AddError records the first error of a field.
func (f *Form) AddError(field, msg string) {
	if f.FieldErrors == nil {
		f.FieldErrors = map[string]string{}
	}
	if _, ok := f.FieldErrors[field]; !ok {
		f.FieldErrors[field] = msg
	}
}

// Check adds msg to field unless ok.
func (f *Form) Check(ok bool, field, msg string) {
	if !ok {
		f.AddError(field, msg)
	}
}

// Valid reports whether no error was recorded.
func (f Form) Valid() bool { return len(f.FieldErrors) == 0 && f.NonFieldError == "" }

// Err is the error of one field, or "".
func (f Form) Err(field string) string { return f.FieldErrors[field] }

// firstInvalid is the first of fields (in page order) with an error; it gets autofocus, which
// browsers honour on page load and htmx after a swap, so no script is needed for it.
func (f Form) firstInvalid(fields ...string) string {
	for _, name := range fields {
		if f.FieldErrors[name] != "" {
			return name
		}
	}
	return ""
}

type csrfKey struct{}

// WithCSRF puts the request's CSRF token (the session's, or for a visitor who is not signed in
// the one bound to their CSRF cookie) where every form component finds it.
func WithCSRF(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, csrfKey{}, token)
}

func csrfToken(ctx context.Context) string {
	t, _ := ctx.Value(csrfKey{}).(string)
	return t
}

// htmxConfig: no injected indicator styles (they would be inline CSS, refused by the CSP), no
// eval, no history cache for private pages, requests only to this origin, and explicit response
// handling so 422 form fragments swap in and other errors land in the alert region. A 401 is
// not an error to htmx: the sign-in dialog it carries is retargeted to #reauth by its headers
// (HX-Retarget), and static/app.js holds the request to send again; a 401 without them is a
// message for the alert region.
var htmxConfig = mustJSON(map[string]any{
	"includeIndicatorStyles":    false,
	"allowEval":                 false,
	"allowScriptTags":           false,
	"historyCacheSize":          0,
	"historyRestoreAsHxRequest": false,
	"selfRequestsOnly":          true,
	"responseHandling": []map[string]any{
		{"code": "204", "swap": false},
		{"code": "[23]..", "swap": true},
		{"code": "422", "swap": true},
		{"code": "401", "swap": true, "target": "#alerts", "swapOverride": "innerHTML"},
		{"code": "[45]..", "swap": true, "error": true, "target": "#alerts", "swapOverride": "innerHTML"},
	},
})

// htmxConfigMeta is the htmx-config meta tag, escaped once rather than on every page view.
var htmxConfigMeta = templ.Raw(`<meta name="htmx-config" content="` + templ.EscapeString(htmxConfig) + `">`)

// csrfHeaders is the hx-headers value that sends the CSRF token with every htmx request.
func csrfHeaders(token string) string {
	return `{"X-CSRF-Token":` + mustJSON(token) + `}`
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
