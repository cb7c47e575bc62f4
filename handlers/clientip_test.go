package handlers

import (
	"net"
	"net/netip"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"tally/config"
)

// clientOf returns the client IP and network h keys a request on, for a request from peer
// carrying the X-Forwarded-For header lines xff (each one header line).
func clientOf(t *testing.T, h *Handlers, peer string, xff ...string) (ip, network string) {
	t.Helper()
	app := fiber.New()
	var req fasthttp.Request
	for _, v := range xff {
		req.Header.Add(fiber.HeaderXForwardedFor, v)
	}
	var fctx fasthttp.RequestCtx
	fctx.Init(&req, &net.TCPAddr{IP: net.ParseIP(peer), Port: 50000}, nil)
	c := app.AcquireCtx(&fctx)
	defer app.ReleaseCtx(c)
	return h.clientIP(c), h.clientNetwork(c)
}

func TestClientAddressFromForwardedFor(t *testing.T) {
	var proxies []netip.Prefix
	for _, p := range []string{"10.0.0.0/8", "2001:db8:ffff::/48"} {
		proxies = append(proxies, netip.MustParsePrefix(p))
	}
	h := &Handlers{cfg: config.Config{TrustedProxies: proxies}}
	const proxy = "10.0.0.1"
	for _, tc := range []struct {
		name string
		peer string
		xff  []string
		// ip and network are what limits and logs key the request on (network "" = ip).
		ip, network string
	}{
		{name: "direct client: the header is the client's own", peer: "203.0.113.9", xff: []string{"198.51.100.1"}, ip: "203.0.113.9"},
		{name: "direct IPv6 client counts by its /64", peer: "2001:db8:1:2:3:4:5:6", ip: "2001:db8:1:2:3:4:5:6", network: "2001:db8:1:2::/64"},
		{name: "proxy without a header", peer: proxy, ip: proxy},
		{name: "plain address", peer: proxy, xff: []string{"203.0.113.9"}, ip: "203.0.113.9"},
		{name: "the client's own entries on the left are ignored", peer: proxy, xff: []string{"6.6.6.6, 203.0.113.9"}, ip: "203.0.113.9"},
		{name: "address and port", peer: proxy, xff: []string{"6.6.6.6, 203.0.113.9:41234"}, ip: "203.0.113.9"},
		{name: "bracketed IPv6 and port", peer: proxy, xff: []string{"[2001:db8:1::7]:41234"}, ip: "2001:db8:1::7", network: "2001:db8:1::/64"},
		{name: "bracketed IPv6", peer: proxy, xff: []string{"[2001:db8:1::7]"}, ip: "2001:db8:1::7", network: "2001:db8:1::/64"},
		{name: "bare IPv6", peer: proxy, xff: []string{"2001:db8:1::7"}, ip: "2001:db8:1::7", network: "2001:db8:1::/64"},
		{name: "IPv6 with a zone", peer: proxy, xff: []string{"fe80::1%eth0"}, ip: "fe80::1", network: "fe80::/64"},
		{name: "quoted, as in RFC 7239", peer: proxy, xff: []string{`"[2001:db8:1::7]:41234"`}, ip: "2001:db8:1::7", network: "2001:db8:1::/64"},
		{name: "IPv4-mapped IPv6", peer: proxy, xff: []string{"::ffff:203.0.113.9"}, ip: "203.0.113.9"},
		{name: "spaces, tabs and empty entries", peer: proxy, xff: []string{" 6.6.6.6 ,\t203.0.113.9 , ,"}, ip: "203.0.113.9"},
		{name: "trusted hops are skipped", peer: proxy, xff: []string{"203.0.113.9, 10.1.1.1:8080, [2001:db8:ffff::2]:443"}, ip: "203.0.113.9"},
		{name: "one header line per proxy", peer: proxy, xff: []string{"6.6.6.6", "203.0.113.9:5000", "10.1.1.1"}, ip: "203.0.113.9"},
		{name: "IPv6 proxy peer", peer: "2001:db8:ffff::1", xff: []string{"203.0.113.9"}, ip: "203.0.113.9"},
		{name: "only trusted hops: the farthest one", peer: proxy, xff: []string{"10.9.9.9, 10.1.1.1"}, ip: "10.9.9.9"},
		// A proxy that hides the address behind a token (RFC 7239 obfnode) still tells clients
		// apart: the token is the client's key.
		{name: "obfuscated identifier", peer: proxy, xff: []string{"6.6.6.6, _hidden-7.a"}, ip: "_hidden-7.a"},
		{name: "address with an obfuscated port", peer: proxy, xff: []string{"203.0.113.9:_p1"}, ip: "203.0.113.9"},
		// What a trusted proxy could not identify is not guessed from the client's entries on
		// its left: it counts against that proxy.
		{name: "unknown", peer: proxy, xff: []string{"6.6.6.6, unknown, 10.1.1.1"}, ip: "10.1.1.1"},
		{name: "unknown with a port", peer: proxy, xff: []string{"6.6.6.6, unknown:1234"}, ip: proxy},
		{name: "garbage", peer: proxy, xff: []string{"6.6.6.6, not-an-ip"}, ip: proxy},
		{name: "bad port", peer: proxy, xff: []string{"6.6.6.6, 203.0.113.9:99999"}, ip: proxy},
		{name: "unclosed bracket", peer: proxy, xff: []string{"6.6.6.6, [2001:db8:1::7:80"}, ip: proxy},
		{name: "obfuscated identifier with bad characters", peer: proxy, xff: []string{"6.6.6.6, _a b"}, ip: proxy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ip, network := clientOf(t, h, tc.peer, tc.xff...)
			if tc.network == "" {
				tc.network = tc.ip
			}
			if ip != tc.ip || network != tc.network {
				t.Errorf("client = %q, network %q; want %q, %q", ip, network, tc.ip, tc.network)
			}
		})
	}
}
