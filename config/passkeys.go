package config

import (
	"net"
	"strings"
)

// PasskeyRP is the WebAuthn relying party that TALLY_BASE_URL allows: its id (the host name)
// and the one origin a browser may sign for. Both come from the configuration, never from a
// request's Host header, which a client chooses.
type PasskeyRP struct {
	ID     string
	Origin string
	// Off says why passkeys cannot work at this base URL; "" when they can.
	Off string
}

// Passkeys derives the relying party from the base URL. Browsers offer passkeys only to a
// secure context under a domain name: https, or http://localhost for development. An IP
// address is never a valid relying party id.
func (cfg Config) Passkeys() PasskeyRP {
	host := strings.ToLower(cfg.BaseURL.Hostname())
	rp := PasskeyRP{ID: host, Origin: strings.ToLower(cfg.BaseURL.Scheme) + "://" + strings.ToLower(cfg.BaseURL.Host)}
	localhost := host == "localhost" || strings.HasSuffix(host, ".localhost")
	switch {
	case net.ParseIP(host) != nil:
		rp.Off = "TALLY_BASE_URL names an IP address, and browsers never accept an IP address as a passkey's site: passkeys are off. Use a domain name (or http://localhost for development)."
	case cfg.BaseURL.Scheme != "https" && !localhost:
		rp.Off = "TALLY_BASE_URL is not https, and browsers offer passkeys only over https (or at http://localhost): passkeys are off."
	}
	return rp
}
