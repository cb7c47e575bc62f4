package handlers

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"tally/config"
)

// A sign-in ceremony begun by a visitor who is not signed in is kept in a cookie of its own,
// sealed (AES-256-GCM under a key derived from TALLY_SECRET), not in the session store: the
// browser's autofill begins one on every view of /login, and an anonymous visitor gets no
// session row. The sealed value carries its own time (ceremonyTTL applies as in the session),
// and the challenge is still spent in the database when the ceremony is finished, so a copied
// cookie answers once, on every instance sharing the secret and the database.

// ceremonySealLabel keeps this key apart from every other use of the secret; the same label is
// the sealed value's associated data.
const ceremonySealLabel = "tally passkey ceremony v1"

// newCeremonySeal derives the cookie's AEAD from the secret.
func newCeremonySeal(secret []byte) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, secret, nil, ceremonySealLabel, 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// ceremonyCookieName: in production the __Host- prefix makes browsers insist on Secure,
// Path=/ and no Domain, as for the anonymous CSRF cookie.
func ceremonyCookieName(cfg *config.Config) string {
	if cfg.Prod {
		return "__Host-tally_passkey"
	}
	return "tally_passkey"
}

// ceremonyCookie is only read by the server (HttpOnly) and only sent by this site's own pages
// (Strict): passkeys.js calls the finish from a page of this origin. Its lifetime is relative
// (Max-Age), so a browser's clock does not matter; the sealed time is what the server trusts.
func ceremonyCookie(cfg *config.Config, value string) *fiber.Cookie {
	return &fiber.Cookie{
		Name: ceremonyCookieName(cfg), Value: value, Path: "/", Secure: cfg.Prod, HTTPOnly: true,
		SameSite: fiber.CookieSameSiteStrictMode, MaxAge: int(ceremonyTTL / time.Second),
	}
}

// keepCeremonyInCookie seals cer, stamped with the time, into the ceremony cookie.
func (h *Handlers) keepCeremonyInCookie(c *fiber.Ctx, cer ceremony) error {
	cer.At = h.now().Unix()
	plain, err := json.Marshal(cer)
	if err != nil {
		return err
	}
	aead := h.passkeys.seal
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce) // crypto/rand does not fail on supported platforms
	sealed := aead.Seal(nonce, nonce, plain, []byte(ceremonySealLabel))
	c.Cookie(ceremonyCookie(&h.cfg, base64.RawURLEncoding.EncodeToString(sealed)))
	return nil
}

// takeCeremonyFromCookie clears the ceremony cookie and returns what it held, or nil when there
// is none or it does not open; takeCeremony's checks (age, spent challenge) are applied by the
// caller through spendCeremony.
func (h *Handlers) takeCeremonyFromCookie(c *fiber.Ctx) *ceremony {
	raw := c.Cookies(ceremonyCookieName(&h.cfg))
	if raw == "" {
		return nil
	}
	clear := ceremonyCookie(&h.cfg, "")
	clear.MaxAge, clear.Expires = -1, fasthttp.CookieExpireDelete
	c.Cookie(clear)
	sealed, err := base64.RawURLEncoding.DecodeString(raw)
	aead := h.passkeys.seal
	if err != nil || len(sealed) < aead.NonceSize() {
		return nil
	}
	n := aead.NonceSize()
	plain, err := aead.Open(nil, sealed[:n], sealed[n:], []byte(ceremonySealLabel))
	if err != nil {
		return nil
	}
	var cer ceremony
	if json.Unmarshal(plain, &cer) != nil {
		return nil
	}
	return &cer
}

// dropCeremonyCookie ends a cookie ceremony that a newer one replaces.
func (h *Handlers) dropCeremonyCookie(c *fiber.Ctx) {
	if c.Cookies(ceremonyCookieName(&h.cfg)) != "" {
		h.takeCeremonyFromCookie(c)
	}
}
