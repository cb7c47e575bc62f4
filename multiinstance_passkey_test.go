package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

// softKey is a software passkey: a P-256 key that answers Tally's creation and request options
// as a platform authenticator does (user present and verified, "none" attestation), so both
// ceremonies run over plain HTTP without a browser. The browser-side checks (origin, counter,
// replay) are proved with Chromium's virtual authenticator in e2e/passkeys_test.go.
type softKey struct {
	t      *testing.T
	key    *ecdsa.PrivateKey
	credID []byte
	handle []byte // the user handle the creation options named
	origin string
	count  uint32
}

// ceremonyOptions is what both begins answer, as far as an authenticator needs it.
type ceremonyOptions struct {
	PublicKey struct {
		Challenge string `json:"challenge"`
		RPID      string `json:"rpId"` // request options
		RP        struct {
			ID string `json:"id"`
		} `json:"rp"` // creation options
		User struct {
			ID string `json:"id"`
		} `json:"user"`
	} `json:"publicKey"`
}

func newSoftKey(t *testing.T, origin string) *softKey {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	return &softKey{t: t, key: key, credID: id, origin: origin}
}

var b64 = base64.RawURLEncoding

func (k *softKey) clientData(kind, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": kind, "challenge": challenge, "origin": k.origin, "crossOrigin": false})
	return b
}

// authData is the authenticator data for rpID: its hash, the flags, the counter, and (at
// creation) the credential with its COSE public key.
func (k *softKey) authData(rpID string, attested []byte) []byte {
	const up, uv, at = 0x01, 0x04, 0x40
	rp := sha256.Sum256([]byte(rpID))
	flags := byte(up | uv)
	if attested != nil {
		flags |= at
	}
	d := append(rp[:], flags)
	d = binary.BigEndian.AppendUint32(d, k.count)
	return append(d, attested...)
}

// create answers creation options: the body of /passkeys/register/finish.
func (k *softKey) create(raw []byte) map[string]any {
	var o ceremonyOptions
	if err := json.Unmarshal(raw, &o); err != nil || o.PublicKey.Challenge == "" {
		k.t.Fatalf("creation options %s: %v", raw, err)
	}
	handle, err := b64.DecodeString(o.PublicKey.User.ID)
	if err != nil {
		k.t.Fatalf("user handle %q: %v", o.PublicKey.User.ID, err)
	}
	k.handle = handle
	pub, err := k.key.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		k.t.Fatal(err)
	}
	cose, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         int64(webauthncose.P256), XCoord: pub[1:33], YCoord: pub[33:],
	})
	if err != nil {
		k.t.Fatal(err)
	}
	attested := make([]byte, 16) // AAGUID: none
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(k.credID)))
	attested = append(append(attested, k.credID...), cose...)
	obj, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": k.authData(o.PublicKey.RP.ID, attested)})
	if err != nil {
		k.t.Fatal(err)
	}
	return map[string]any{"id": b64.EncodeToString(k.credID), "rawId": b64.EncodeToString(k.credID), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(k.clientData("webauthn.create", o.PublicKey.Challenge)),
			"attestationObject": b64.EncodeToString(obj), "transports": []string{"internal"}}}
}

// get answers request options with a signed assertion: the credential of
// /passkeys/login/finish.
func (k *softKey) get(raw []byte) map[string]any {
	var o ceremonyOptions
	if err := json.Unmarshal(raw, &o); err != nil || o.PublicKey.Challenge == "" {
		k.t.Fatalf("request options %s: %v", raw, err)
	}
	k.count++
	data := k.authData(o.PublicKey.RPID, nil)
	cd := k.clientData("webauthn.get", o.PublicKey.Challenge)
	cdHash := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, data...), cdHash[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.key, digest[:])
	if err != nil {
		k.t.Fatal(err)
	}
	return map[string]any{"id": b64.EncodeToString(k.credID), "rawId": b64.EncodeToString(k.credID), "type": "public-key",
		"response": map[string]any{"clientDataJSON": b64.EncodeToString(cd), "authenticatorData": b64.EncodeToString(data),
			"signature": b64.EncodeToString(sig), "userHandle": b64.EncodeToString(k.handle)}}
}
