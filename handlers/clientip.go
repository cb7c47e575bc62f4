package handlers

import (
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// clientIP is the address limits and logs are keyed on (see clientAddr).
func (h *Handlers) clientIP(c *fiber.Ctx) string {
	if a, ok := h.clientAddr(c); ok {
		return a.String()
	}
	return c.Context().RemoteIP().String()
}

// clientNetwork is what per-IP limits count against: the client's IPv4 address, or the /64 of
// its IPv6 address. One IPv6 client usually holds a whole /64 and can pick any address in it, so
// counting single addresses would give it billions of fresh allowances.
func (h *Handlers) clientNetwork(c *fiber.Ctx) string {
	if a, ok := h.clientAddr(c); ok && a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			return p.String()
		}
	}
	return h.clientIP(c)
}

// clientAddr is the client's address: the connection's peer, unless that peer is a configured
// trusted proxy: then X-Forwarded-For is read from the right, and the first address that is not
// a trusted proxy wins. (The leftmost entry is whatever the client wrote, so reading from the
// left would let anyone pick their own IP.) ok is false when the peer is not an IP address.
func (h *Handlers) clientAddr(c *fiber.Ctx) (a netip.Addr, ok bool) {
	peer, ok := netip.AddrFromSlice(c.Context().RemoteIP())
	if !ok {
		return netip.Addr{}, false
	}
	peer = peer.Unmap()
	if !h.trusted(peer) {
		return peer, true
	}
	hops := strings.Split(c.Get(fiber.HeaderXForwardedFor), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if a = a.Unmap(); !h.trusted(a) {
			return a, true
		}
	}
	return peer, true
}

func (h *Handlers) trusted(a netip.Addr) bool {
	for _, p := range h.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
