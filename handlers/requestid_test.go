package handlers

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestRequestIDFromTrustedProxyOnly: a request id in X-Request-ID is taken from a trusted proxy
// when it is short and made of safe characters; any other request gets a fresh id. The id is
// answered in X-Request-ID and logged with the request.
func TestRequestIDFromTrustedProxyOnly(t *testing.T) {
	generated := regexp.MustCompile(`^[A-Za-z0-9_-]{12}$`)
	for _, tc := range []struct {
		name    string
		proxied bool
		sent    string
		taken   bool
	}{
		{"from a client", false, "client-chosen-id-1", false},
		{"from a client, in the generated shape", false, "AAAAAAAAAAAA", false},
		{"from a trusted proxy", true, "9f1c2d3e-4b5a-6789-abcd-ef0123456789", true},
		{"from a trusted proxy, AWS style", true, "Root=1-5759e988-bd862e3fe1be46a994272793", true},
		{"from a trusted proxy, 128 characters", true, strings.Repeat("a", 128), true},
		{"from a trusted proxy, too long", true, strings.Repeat("a", 129), false},
		{"from a trusted proxy, with spaces", true, "a b", false},
		{"from a trusted proxy, with markup", true, `<script>"x"</script>`, false},
		{"from a trusted proxy, with a quote", true, `id"level=ERROR`, false},
		{"from a trusted proxy, not ASCII", true, "idé", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ta *testApp
			if tc.proxied {
				ta = newTestApp(t, behindProxy...)
			} else {
				ta = newTestApp(t)
			}
			res := ta.client().get("/login", "X-Request-ID", tc.sent)
			got := res.Header.Get("X-Request-ID")
			switch {
			case tc.taken && got != tc.sent:
				t.Errorf("request id = %q, want the proxy's %q", got, tc.sent)
			case !tc.taken && (got == tc.sent || !generated.MatchString(got)):
				t.Errorf("request id = %q, want a fresh one", got)
			}
			// slog quotes a value with "=".
			if logs := ta.logs.String(); !strings.Contains(logs, " request_id="+got+" ") && !strings.Contains(logs, " request_id="+strconv.Quote(got)+" ") {
				t.Errorf("the log does not carry request id %q:\n%s", got, ta.logs.String())
			}
		})
	}
}
