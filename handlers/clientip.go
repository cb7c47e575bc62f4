package handlers

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// clientIP is the address limits and logs are keyed on (see clientOrigin): an IP address, or
// the obfuscated identifier a trusted proxy gave the client.
func (h *Handlers) clientIP(c *fiber.Ctx) string {
	a, obfuscated := h.clientOrigin(c)
	switch {
	case obfuscated != "":
		return obfuscated
	case a.IsValid():
		return a.String()
	}
	return c.Context().RemoteIP().String()
}

// clientNetwork is what per-IP limits count against: the client's IPv4 address, or the /64 of
// its IPv6 address. One IPv6 client usually holds a whole /64 and can pick any address in it, so
// counting single addresses would give it billions of fresh allowances.
func (h *Handlers) clientNetwork(c *fiber.Ctx) string {
	if a, obfuscated := h.clientOrigin(c); obfuscated == "" && a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			return p.String()
		}
	}
	return h.clientIP(c)
}

// clientOrigin is who sent the request: the connection's peer, unless that peer is a configured
// trusted proxy. Then X-Forwarded-For (all its header lines, in order, as one list) is read
// from the right, each trusted proxy's entry skipped, and the first other entry decides:
//
//   - an address, in any form proxies write it (ip, ip:port, [ipv6], [ipv6]:port, quoted as in
//     RFC 7239, with spaces; a zone or an IPv4-mapped form is dropped), is the client;
//   - an obfuscated identifier ("_hidden", RFC 7239's obfnode, at most 64 characters) is
//     returned as obfuscated: the proxy hides the address but tells clients apart by it;
//   - "unknown", or anything unreadable, stops the reading: the client is the trusted proxy that
//     wrote it, nearest on its right. Entries further left were written by the client, so
//     skipping to them would let anyone choose the address they are counted under.
//
// Empty entries are skipped. When every entry is a trusted proxy, the farthest one is the
// client. a is invalid only when the peer is not an IP address.
func (h *Handlers) clientOrigin(c *fiber.Ctx) (a netip.Addr, obfuscated string) {
	peer, ok := netip.AddrFromSlice(c.Context().RemoteIP())
	if !ok {
		return netip.Addr{}, ""
	}
	nearest := peer.Unmap()
	if !h.trusted(nearest) {
		return nearest, ""
	}
	lines := c.Request().Header.PeekAll(fiber.HeaderXForwardedFor)
	for l := len(lines) - 1; l >= 0; l-- {
		list := string(lines[l])
		for list != "" {
			var entry string
			if i := strings.LastIndexByte(list, ','); i >= 0 {
				list, entry = list[:i], list[i+1:]
			} else {
				list, entry = "", list
			}
			entry = strings.Trim(entry, " \t")
			if entry == "" {
				continue
			}
			hop, obf, ok := parseForwardedNode(entry)
			switch {
			case !ok:
				return nearest, ""
			case obf != "":
				return netip.Addr{}, obf
			case !h.trusted(hop):
				return hop, ""
			}
			nearest = hop
		}
	}
	return nearest, ""
}

// parseForwardedNode reads one X-Forwarded-For entry: an address with an optional port, or an
// obfuscated identifier (returned as obf, its port dropped). ok is false for "unknown" and for
// anything that is neither.
func parseForwardedNode(s string) (a netip.Addr, obf string, ok bool) {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	host, port, hasPort := s, "", false
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return netip.Addr{}, "", false
		}
		host = s[1:end]
		if rest := s[end+1:]; rest != "" {
			if rest[0] != ':' {
				return netip.Addr{}, "", false
			}
			port, hasPort = rest[1:], true
		}
		if strings.HasPrefix(host, "_") {
			return netip.Addr{}, "", false // brackets hold an address
		}
	case strings.Count(s, ":") == 1:
		// IPv4 (or an identifier) with a port. Unbracketed IPv6 has two colons or more: they
		// all belong to the address, since a proxy that adds a port brackets it.
		host, port, hasPort = strings.Cut(s, ":")
	}
	if hasPort && !validForwardedPort(port) {
		return netip.Addr{}, "", false
	}
	if strings.HasPrefix(host, "_") {
		if !validObfuscated(host) {
			return netip.Addr{}, "", false
		}
		return netip.Addr{}, host, true
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, "", false // "unknown" included
	}
	return a.Unmap().WithZone(""), "", true
}

// validForwardedPort accepts a port number or an obfuscated port.
func validForwardedPort(port string) bool {
	if strings.HasPrefix(port, "_") {
		return validObfuscated(port)
	}
	_, err := strconv.ParseUint(port, 10, 16)
	return err == nil
}

// validObfuscated checks an RFC 7239 obfuscated identifier: "_" and letters, digits, ".", "_"
// or "-", at most 64 characters in all (it is logged and stored as the client's address).
func validObfuscated(s string) bool {
	if len(s) < 2 || len(s) > 64 || s[0] != '_' {
		return false
	}
	for _, r := range s[1:] {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// setRequestID gives the request its id: the one a trusted proxy sent in X-Request-ID, so a
// request can be followed across the proxy's log and ours, or else a fresh one. A client's own
// header is ignored: it could pose as another request in the log. The proxy's id goes into log
// lines too, so it must be short and of safe characters; anything else is replaced.
func (h *Handlers) setRequestID(c *fiber.Ctx) error {
	var id string
	if peer, ok := netip.AddrFromSlice(c.Context().RemoteIP()); ok && h.trusted(peer.Unmap()) {
		if sent := c.Get(fiber.HeaderXRequestID); validRequestID(sent) {
			id = strings.Clone(sent)
		}
	}
	if id == "" {
		id = randomToken(9)
	}
	c.Set(fiber.HeaderXRequestID, id)
	c.Locals("requestid", id)
	return c.Next()
}

// validRequestID accepts 1 to 128 letters, digits and "-_.:=+/": UUIDs, hex, base64 and the
// "Root=1-..." ids of load balancers.
func validRequestID(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || strings.IndexByte("-_.:=+/", b) >= 0) {
			return false
		}
	}
	return true
}

func (h *Handlers) trusted(a netip.Addr) bool {
	for _, p := range h.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
