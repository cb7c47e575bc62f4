package handlers

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"

	"tally/models"
)

// softKey is a software authenticator for handler tests: a P-256 key whose public half is
// stored as a passkey, and which answers a begun sign-in the way a browser's authenticator
// does (a counter of 0, as synced passkeys send).
type softKey struct {
	key    *ecdsa.PrivateKey
	credID []byte
	handle []byte
}

// passkeyOrigin is the origin of passkeyBase, which clients' assertions are made for.
const passkeyOrigin = "http://localhost:8080"

func newSoftKey(t testing.TB, handle string) *softKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	return &softKey{key: key, credID: id, handle: []byte(handle)}
}

// addSoftPasskey stores k as a passkey of u, as a finished registration would.
func (ta *testApp) addSoftPasskey(u *models.User, name string, k *softKey) *models.Passkey {
	ta.t.Helper()
	pub, err := k.key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		ta.t.Fatal(err)
	}
	cose, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         1, XCoord: pub[1:33], YCoord: pub[33:],
	})
	if err != nil {
		ta.t.Fatal(err)
	}
	p := &models.Passkey{UserID: u.ID, CredentialID: k.credID, UserHandle: k.handle, PublicKey: cose,
		AAGUID: make([]byte, 16), Name: name, CreatedAt: ta.clock.Now()}
	if err := models.AddPasskey(ta.db, p); err != nil {
		ta.t.Fatal(err)
	}
	return p
}

// Authenticator data flags (WebAuthn §6.1).
const (
	flagUP = 0x01 // user present
	flagUV = 0x04 // user verified
	flagBE = 0x08 // backup eligible
	flagBS = 0x10 // backed up
)

// assert answers the request options of a begun sign-in (begin's body): the credential JSON a
// browser sends, with user verification when uv.
func (k *softKey) assert(t testing.TB, options string, uv bool) json.RawMessage {
	t.Helper()
	flags := byte(flagUP)
	if uv {
		flags |= flagUV
	}
	return k.assertFlags(t, options, flags)
}

// assertFlags is assert with the authenticator data's flags as given.
func (k *softKey) assertFlags(t testing.TB, options string, flags byte) json.RawMessage {
	t.Helper()
	var opts struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
			RPID      string `json:"rpId"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal([]byte(options), &opts); err != nil || opts.PublicKey.Challenge == "" {
		t.Fatalf("request options %q: %v", options, err)
	}
	client, _ := json.Marshal(map[string]any{"type": "webauthn.get", "challenge": opts.PublicKey.Challenge,
		"origin": passkeyOrigin, "crossOrigin": false})
	rp := sha256.Sum256([]byte(opts.PublicKey.RPID))
	authData := append(append(rp[:], flags), binary.BigEndian.AppendUint32(nil, 0)...)
	clientHash := sha256.Sum256(client)
	digest := sha256.Sum256(append(append([]byte{}, authData...), clientHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	cred, _ := json.Marshal(map[string]any{"id": b64(k.credID), "rawId": b64(k.credID), "type": "public-key",
		"response": map[string]string{"clientDataJSON": b64(client), "authenticatorData": b64(authData),
			"signature": b64(sig), "userHandle": b64(k.handle)}})
	return cred
}

// passkeyFinish is the request passkeys.js sends to finish a sign-in.
func (c *client) passkeyFinish(cred json.RawMessage) *http.Request {
	b, _ := json.Marshal(map[string]any{"credential": cred})
	req, _ := http.NewRequest(http.MethodPost, testBase.String()+"passkeys/login/finish", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", c.csrf)
	return req
}

// TestPasskeyFinishOnceConcurrently: one begun sign-in, its assertion sent ten times at once:
// exactly one signs in, however the requests interleave, and the others are told the request
// was used.
func TestPasskeyFinishOnceConcurrently(t *testing.T) {
	ta := newTestApp(t, passkeyBase...)
	ada := ta.createUser("ada", "ada@example.com", goodPassword)
	k := newSoftKey(t, "handle-ada")
	ta.addSoftPasskey(ada, "Laptop", k)

	c := ta.client()
	c.get("/login")
	res := c.postJSON("/passkeys/login/begin", map[string]string{"mode": "signin"}, true)
	wantStatus(t, res, http.StatusOK)
	cred := k.assert(t, res.body, true)

	const n = 10
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[int]int{}
		bodies   []string
	)
	start := make(chan struct{})
	for range n {
		req := c.passkeyFinish(cred)
		wg.Go(func() {
			<-start
			r, err := c.try(req)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Error(err)
				return
			}
			statuses[r.StatusCode]++
			if r.StatusCode != http.StatusOK {
				bodies = append(bodies, r.body)
			}
		})
	}
	close(start)
	wg.Wait()
	if statuses[http.StatusOK] != 1 || statuses[http.StatusBadRequest] != n-1 {
		t.Fatalf("%d concurrent finishes of one sign-in answered %v", n, statuses)
	}
	for _, b := range bodies {
		if !strings.Contains(b, errCeremonyGone) {
			t.Errorf("a refused finish said %s", b)
		}
	}
	var signIns int64
	ta.db.Model(&models.SecurityEvent{}).Where("user_id = ? AND kind = ?", ada.ID, models.EventLoginSuccess).Count(&signIns)
	if signIns != 1 {
		t.Errorf("%d sign-ins recorded", signIns)
	}
}

// TestPasskeyUseRecordsBackupAndTime: each sign-in stores the backup state the authenticator
// reports now and the time, which the security page shows ("Never" before the first use).
func TestPasskeyUseRecordsBackupAndTime(t *testing.T) {
	ta := newTestApp(t, passkeyBase...)
	ada := ta.createUser("ada", "ada@example.com", goodPassword)
	k, other := newSoftKey(t, "handle-ada"), newSoftKey(t, "handle-ada")
	p := ta.addSoftPasskey(ada, "Phone", k)
	ta.addSoftPasskey(ada, "Laptop", other)
	// A synced passkey: eligible for backup from its registration on.
	if err := ta.db.Model(&models.Passkey{}).Where("id = ?", p.ID).Update("backup_eligible", true).Error; err != nil {
		t.Fatal(err)
	}
	// signIn signs a new client in with key and flags, and returns what its security page says
	// in p's "Last used" cell.
	signIn := func(t *testing.T, key *softKey, flags byte) string {
		t.Helper()
		c := ta.client()
		c.get("/login")
		res := c.postJSON("/passkeys/login/begin", map[string]string{"mode": "signin"}, true)
		wantStatus(t, res, http.StatusOK)
		wantStatus(t, c.do(c.passkeyFinish(key.assertFlags(t, res.body, flags))), http.StatusOK)
		page := c.get("/account/security")
		wantStatus(t, page, http.StatusOK)
		return trim(page.doc.Find("#passkey-" + itoa(p.ID) + ` td[data-label="Last used"]`).Text())
	}
	if got := signIn(t, other, flagUP|flagUV); got != "Never" {
		t.Errorf("before any use the list says %q", got)
	}
	for i, tc := range []struct {
		name       string
		flags      byte
		backedUp   bool
		clockAhead time.Duration
	}{
		{"backed up", flagUP | flagUV | flagBE | flagBS, true, time.Hour},
		{"no longer backed up", flagUP | flagUV | flagBE, false, 26 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ta.clock.Advance(tc.clockAhead)
			cell := signIn(t, k, tc.flags)
			got, err := models.FindUserPasskey(ta.db, ada.ID, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			now := ta.clock.Now().UTC().Truncate(time.Second)
			if !got.BackupEligible || got.BackupState != tc.backedUp {
				t.Errorf("use %d stored eligible %v, backed up %v", i+1, got.BackupEligible, got.BackupState)
			}
			if got.LastUsedAt == nil || !got.LastUsedAt.UTC().Truncate(time.Second).Equal(now) {
				t.Errorf("use %d stored last used %v, want %v", i+1, got.LastUsedAt, now)
			}
			if want := now.Format("2 Jan 2006, 15:04 UTC"); cell != want {
				t.Errorf("use %d: the list says last used %q, want %q", i+1, cell, want)
			}
		})
	}
}

// TestAnonymousPasskeyBeginStoresNoSession: a signed-out visitor's sign-in ceremony lives in its
// sealed cookie, so begins (the autofill makes one on every view of /login) store no session
// and are not limited per network like the forms that do; the sign-in still works, once.
func TestAnonymousPasskeyBeginStoresNoSession(t *testing.T) {
	ta := newTestApp(t, passkeyBase...)
	ada := ta.createUser("ada", "ada@example.com", goodPassword)
	k := newSoftKey(t, "handle-ada")
	ta.addSoftPasskey(ada, "Laptop", k)

	before, writes := ta.sessionRows(), ta.sessionWrites()
	c := ta.client()
	c.get("/login")
	var (
		options string
		cookie  *http.Cookie
	)
	begins := ta.h.cfg.IPPerHour + 10 // more than a network may post of the limited forms in an hour
	for range begins {
		res := c.postJSON("/passkeys/login/begin", map[string]string{"mode": "conditional"}, true)
		wantStatus(t, res, http.StatusOK)
		for _, ck := range res.Cookies() {
			if ck.Name == "tally_passkey" {
				cookie = ck
			}
		}
		options = res.body
	}
	if n := ta.sessionRows() - before; n != 0 {
		t.Errorf("%d anonymous begins stored %d sessions", begins, n)
	}
	if n := ta.sessionWrites() - writes; n != 0 {
		t.Errorf("anonymous begins wrote to the session store %d times", n)
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.MaxAge != int(ceremonyTTL/time.Second) {
		t.Fatalf("begin set no strict, HttpOnly ceremony cookie of %v: %v", ceremonyTTL, cookie)
	}
	// Only the last begin's challenge is answerable: the cookie holds one ceremony. (Shown on
	// another browser's two begins: a failed finish spends the ceremony it was checked against.)
	other := ta.client()
	other.get("/login")
	earlier := other.postJSON("/passkeys/login/begin", map[string]string{"mode": "signin"}, true)
	wantStatus(t, other.postJSON("/passkeys/login/begin", map[string]string{"mode": "signin"}, true), http.StatusOK)
	if res := other.do(other.passkeyFinish(k.assert(t, earlier.body, true))); res.StatusCode != http.StatusBadRequest {
		t.Errorf("the earlier of two begins' challenge: %d %s, want 400", res.StatusCode, res.body)
	}
	cred := k.assert(t, options, true)
	wantStatus(t, c.do(c.passkeyFinish(cred)), http.StatusOK)
	if page := c.get("/account/security"); page.StatusCode != http.StatusOK {
		t.Fatalf("signed in by passkey, the security page answers %d", page.StatusCode)
	}

	// A copy of the cookie replays nothing: the challenge is spent in the database.
	anon := ta.client()
	anon.get("/login")
	res := anon.postJSON("/passkeys/login/begin", map[string]string{"mode": "signin"}, true)
	wantStatus(t, res, http.StatusOK)
	cred = k.assert(t, res.body, true)
	copied := ta.client()
	copied.get("/login")
	for _, ck := range anon.jar.Cookies(testBase) {
		if ck.Name == "tally_passkey" {
			copied.jar.SetCookies(testBase, []*http.Cookie{ck})
		}
	}
	wantStatus(t, anon.do(anon.passkeyFinish(cred)), http.StatusOK)
	res = copied.do(copied.passkeyFinish(cred))
	if res.StatusCode != http.StatusBadRequest || jsonError(t, res) != errCeremonyGone {
		t.Errorf("a replay from a copied cookie: %d %s", res.StatusCode, res.body)
	}

}
