package config

import "testing"

func TestPasskeys(t *testing.T) {
	for _, tc := range []struct {
		name, base, id, origin string
		on                     bool
	}{
		{"https domain", "https://Money.Example.com", "money.example.com", "https://money.example.com", true},
		{"https domain with port and path", "https://example.com:8443/tally/", "example.com", "https://example.com:8443", true},
		{"localhost over http", "http://localhost:8080", "localhost", "http://localhost:8080", true},
		{"a localhost subdomain", "http://tally.localhost:8080", "tally.localhost", "http://tally.localhost:8080", true},
		{"IPv4", "http://127.0.0.1:8080", "127.0.0.1", "http://127.0.0.1:8080", false},
		{"IPv4 over https", "https://192.0.2.7", "192.0.2.7", "https://192.0.2.7", false},
		{"IPv6", "https://[::1]:8443", "::1", "https://[::1]:8443", false},
		{"plain http domain", "http://example.com", "example.com", "http://example.com", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Load(func(k string) string {
				if k == "TALLY_BASE_URL" {
					return tc.base
				}
				return ""
			})
			if err != nil {
				t.Fatal(err)
			}
			rp := cfg.Passkeys()
			if rp.ID != tc.id || rp.Origin != tc.origin || (rp.Off == "") != tc.on {
				t.Errorf("Passkeys() = %+v, want id %q origin %q on %v", rp, tc.id, tc.origin, tc.on)
			}
		})
	}
}
