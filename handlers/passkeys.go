package handlers

import (
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"tally/config"
	"tally/models"
	"tally/views"
)

// Passkeys, the account's side: the relying party, the registration ceremony, renaming and
// removing. Sign-in with a passkey is in passkeys_login.go. The ceremonies answer JSON to
// static/passkeys.js; everything else is a plain form.

// passkeyRP is the WebAuthn relying party of TALLY_BASE_URL; wa is nil when passkeys cannot
// work at that address (off says why).
type passkeyRP struct {
	wa  *webauthn.WebAuthn
	off string
	// seal keeps a signed-out visitor's sign-in ceremony in its cookie (passkeys_cookie.go).
	seal cipher.AEAD
}

// ceremonyTTL is how long a begun ceremony may be finished; the browser is given the same time.
const ceremonyTTL = 5 * time.Minute

func newPasskeyRP(cfg config.Config, log *slog.Logger) *passkeyRP {
	rp := cfg.Passkeys()
	if rp.Off != "" {
		log.Warn("passkeys are off", "reason", rp.Off)
		return &passkeyRP{off: rp.Off}
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          rp.ID,
		RPDisplayName: "Tally",
		RPOrigins:     []string{rp.Origin},
		// Discoverable credentials: signing in needs no username. Verification is preferred, not
		// required, so a security key without a PIN still serves as a second step.
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementRequired,
			UserVerification: protocol.VerificationPreferred,
		},
		AttestationPreference: protocol.PreferNoAttestation,
		// Expiry is enforced from the session's own timestamp with the app's clock, not here.
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: ceremonyTTL, TimeoutUVD: ceremonyTTL},
			Registration: webauthn.TimeoutConfig{Timeout: ceremonyTTL, TimeoutUVD: ceremonyTTL},
		},
	})
	if err != nil {
		log.Warn("passkeys are off", "reason", err.Error())
		return &passkeyRP{off: "Passkeys are not available on this Tally."}
	}
	seal, err := newCeremonySeal(cfg.Secret)
	if err != nil {
		log.Warn("passkeys are off", "reason", err.Error())
		return &passkeyRP{off: "Passkeys are not available on this Tally."}
	}
	return &passkeyRP{wa: wa, seal: seal}
}

// offerPasskeys tells every page whether to show passkey buttons.
func (h *Handlers) offerPasskeys(c *fiber.Ctx) error {
	if h.passkeys.wa != nil {
		c.SetUserContext(views.WithPasskeys(c.UserContext()))
	}
	return c.Next()
}

// passkeyUser is a user as go-webauthn sees them: the handle the authenticator keeps, and the
// credentials it may use.
type passkeyUser struct {
	handle []byte
	name   string
	creds  []webauthn.Credential
}

func (u *passkeyUser) WebAuthnID() []byte                         { return u.handle }
func (u *passkeyUser) WebAuthnName() string                       { return u.name }
func (u *passkeyUser) WebAuthnDisplayName() string                { return u.name }
func (u *passkeyUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// passkeyUserOf builds u's WebAuthn user from their passkeys. The handle is the one their
// passkeys were made with; for a first passkey it is derived from the secret and the user id
// (random-looking, no personal data), and kept with each passkey so it outlives the secret.
func (h *Handlers) passkeyUserOf(u *models.User, ps []models.Passkey) *passkeyUser {
	pu := &passkeyUser{name: u.Username}
	for _, p := range ps {
		if pu.handle == nil {
			pu.handle = p.UserHandle
		}
		pu.creds = append(pu.creds, credentialOf(p))
	}
	if pu.handle == nil {
		m := hmac.New(sha256.New, h.cfg.Secret)
		m.Write([]byte("tally passkey user handle v1:" + strconv.FormatUint(uint64(u.ID), 10)))
		pu.handle = m.Sum(nil)
	}
	return pu
}

// credentialOf is a stored passkey as go-webauthn's credential record.
func credentialOf(p models.Passkey) webauthn.Credential {
	flags := protocol.FlagUserPresent
	for _, f := range []struct {
		on   bool
		flag protocol.AuthenticatorFlags
	}{{p.UserVerified, protocol.FlagUserVerified}, {p.BackupEligible, protocol.FlagBackupEligible}, {p.BackupState, protocol.FlagBackupState}} {
		if f.on {
			flags |= f.flag
		}
	}
	var transports []protocol.AuthenticatorTransport
	for _, t := range p.TransportList() {
		transports = append(transports, protocol.AuthenticatorTransport(t))
	}
	return webauthn.Credential{
		ID: p.CredentialID, PublicKey: p.PublicKey, AttestationFormat: p.AttestationFormat, Transport: transports,
		Flags:         webauthn.NewCredentialFlags(flags),
		Authenticator: webauthn.Authenticator{AAGUID: p.AAGUID, SignCount: uint32(p.SignCount)},
	}
}

// ceremony is a begun WebAuthn ceremony, kept in the session until its finish, which takes it
// out whatever happens next: a challenge is answered once.
type ceremony struct {
	Data webauthn.SessionData `json:"data"`
	At   int64                `json:"at"`
	// UserID is the user registering, or signing in at the second step.
	UserID uint `json:"uid,omitempty"`
	// Name is the name of the passkey being registered.
	Name string `json:"name,omitempty"`
	// Second: a sign-in's second step, after the password.
	Second bool `json:"second,omitempty"`
}

// Session keys of the two ceremonies.
const (
	keyPasskeyRegistration = "pk_reg"
	keyPasskeyLogin        = "pk_login"
)

func (h *Handlers) keepCeremony(c *fiber.Ctx, key string, cer ceremony) error {
	cer.At = h.now().Unix()
	b, err := json.Marshal(cer)
	if err != nil {
		return err
	}
	currentSession(c).set(key, string(b))
	return nil
}

// takeCeremony removes the session's ceremony and returns it, or nil when there is none, it is
// older than ceremonyTTL, or its challenge was spent already. Removing it from the session is
// not enough on its own: two requests sent together both read the session before either saves
// it, so the challenge is also spent in the database, where only one of them can.
func (h *Handlers) takeCeremony(c *fiber.Ctx, key string) (*ceremony, error) {
	ws := currentSession(c)
	raw := ws.getString(key)
	ws.del(key)
	var cer ceremony
	if raw == "" || json.Unmarshal([]byte(raw), &cer) != nil {
		return nil, nil
	}
	return h.spendCeremony(cer)
}

// spendCeremony returns cer unless it is older than ceremonyTTL or its challenge was spent
// already; it spends the challenge.
func (h *Handlers) spendCeremony(cer ceremony) (*ceremony, error) {
	at, now := time.Unix(cer.At, 0), h.now()
	if now.Sub(at) > ceremonyTTL || at.After(now.Add(time.Minute)) {
		return nil, nil
	}
	err := models.SpendPasskeyChallenge(h.db, cer.Data.Challenge, at.Add(ceremonyTTL+time.Minute), now)
	if errors.Is(err, models.ErrDuplicate) {
		return nil, nil
	}
	return &cer, err
}

// Sentences of the ceremonies' refusals: never a library's message or a configuration detail.
const (
	errPasskeysOff       = "Passkeys are not available at this Tally's address."
	errCeremonyGone      = "This passkey request has expired or was already used. Try again."
	errPasskeyUnreadable = "Tally could not read what your browser sent. Try again."
	errPasskeyOrigin     = "This passkey answer was made for another site, so it was refused."
	errPasskeyUnverified = "The passkey could not be verified. Try again."
)

// passkeyRefusal answers a ceremony's failure: JSON with one plain sentence.
func passkeyRefusal(c *fiber.Ctx, status int, msg string) error {
	return c.Status(status).JSON(fiber.Map{"error": msg})
}

const errPasskeyNotJSON = "Tally expected this passkey request as JSON. Reload the page and try again."

// requireJSON refuses a ceremony's request whose body is not declared JSON: a form or a
// text/plain body (which a cross-site page can send without asking) is never read as one.
func requireJSON(c *fiber.Ctx) error {
	if mediaType(c.Get(fiber.HeaderContentType)) != fiber.MIMEApplicationJSON {
		return passkeyRefusal(c, fiber.StatusBadRequest, errPasskeyNotJSON)
	}
	return c.Next()
}

// verificationRefusal maps go-webauthn's verification error to its answer: a wrong origin is
// 403, anything else 400; its details stay in the debug log.
func (h *Handlers) verificationRefusal(c *fiber.Ctx, err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		h.log.Debug("passkey refused", "request_id", requestID(c), "reason", pe.Details)
		if pe.Details == "Error validating origin" {
			return passkeyRefusal(c, fiber.StatusForbidden, errPasskeyOrigin)
		}
	}
	return passkeyRefusal(c, fiber.StatusBadRequest, errPasskeyUnverified)
}

// checkPasskeyName puts what is wrong with a passkey's name (trimmed) on f's name field.
func checkPasskeyName(f *views.Form, name string) {
	if name == "" {
		f.AddError("name", "Give the passkey a name.")
	} else if msg := models.CheckText(name, models.PasskeyNameMax); msg != "" {
		f.AddError("name", msg)
	}
}

// BeginPasskeyRegistration checks the password (and a code when two-factor is on) and the
// name, then answers the creation options.
func (h *Handlers) BeginPasskeyRegistration(c *fiber.Ctx) error {
	if h.passkeys.wa == nil {
		return passkeyRefusal(c, fiber.StatusBadRequest, errPasskeysOff)
	}
	u := currentUser(c)
	var in struct {
		Name     string `json:"name"`
		Password string `json:"password"`
		Code     string `json:"code"`
	}
	if err := json.Unmarshal(c.Body(), &in); err != nil {
		return passkeyRefusal(c, fiber.StatusBadRequest, errPasskeyUnreadable)
	}
	var f views.Form
	name := strings.TrimSpace(in.Name)
	checkPasskeyName(&f, name)
	if err := h.confirmPassword(c, &f, "password", in.Password, u); err != nil {
		return err
	}
	if err := h.confirmCode(c, &f, u, in.Code); err != nil {
		return err
	}
	if !f.Valid() {
		return c.Status(fiber.StatusUnprocessableEntity).JSON(fiber.Map{"error": formSentence(f), "fields": f.FieldErrors})
	}
	ps, err := models.UserPasskeys(h.db, u.ID)
	if err != nil {
		return err
	}
	pu := h.passkeyUserOf(u, ps)
	var exclude []protocol.CredentialDescriptor
	for _, cr := range pu.creds {
		exclude = append(exclude, cr.Descriptor())
	}
	creation, data, err := h.passkeys.wa.BeginRegistration(pu, webauthn.WithExclusions(exclude))
	if err != nil {
		return err
	}
	if err := h.keepCeremony(c, keyPasskeyRegistration, ceremony{Data: *data, UserID: u.ID, Name: name}); err != nil {
		return err
	}
	return c.JSON(creation)
}

// formSentence joins a form's errors, in a fixed order, into what the page says.
func formSentence(f views.Form) string {
	var parts []string
	for _, k := range []string{"name", "password", "code"} {
		if msg := f.Err(k); msg != "" {
			parts = append(parts, msg)
		}
	}
	return strings.Join(parts, " ")
}

// FinishPasskeyRegistration verifies the new credential against the begun ceremony and stores
// it, with its security event and the notice mail.
func (h *Handlers) FinishPasskeyRegistration(c *fiber.Ctx) error {
	if h.passkeys.wa == nil {
		return passkeyRefusal(c, fiber.StatusBadRequest, errPasskeysOff)
	}
	u := currentUser(c)
	cer, err := h.takeCeremony(c, keyPasskeyRegistration)
	if err != nil {
		return err
	}
	if cer == nil || cer.UserID != u.ID {
		return passkeyRefusal(c, fiber.StatusBadRequest, errCeremonyGone)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(c.Body())
	if err != nil {
		return passkeyRefusal(c, fiber.StatusBadRequest, errPasskeyUnreadable)
	}
	ps, err := models.UserPasskeys(h.db, u.ID)
	if err != nil {
		return err
	}
	pu := h.passkeyUserOf(u, ps)
	cred, err := h.passkeys.wa.CreateCredential(pu, cer.Data, parsed)
	if err != nil {
		return h.verificationRefusal(c, err)
	}
	var transports []string
	for _, t := range cred.Transport {
		transports = append(transports, string(t))
	}
	p := models.Passkey{
		UserID: u.ID, CredentialID: cred.ID, UserHandle: pu.handle, PublicKey: cred.PublicKey,
		SignCount: int64(cred.Authenticator.SignCount), UserVerified: cred.Flags.UserVerified,
		BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState,
		AAGUID: append([]byte{}, cred.Authenticator.AAGUID...), Transports: strings.Join(transports, ","),
		AttestationFormat: cred.AttestationFormat, Name: cer.Name, CreatedAt: h.now(),
	}
	err = models.Transaction(h.db, func(tx *gorm.DB) error {
		if err := models.AddPasskey(tx, &p); err != nil {
			return err
		}
		if err := h.recordEvent(c, tx, u.ID, models.EventPasskeyAdded, p.Name, nil); err != nil {
			return err
		}
		m := views.PasskeyAddedMail(u.FirstName, p.Name, h.cfg.AbsURL("/password/forgot"))
		return h.queueMail(c.UserContext(), tx, u, u.Email, models.MailChanged, m)
	})
	if errors.Is(err, models.ErrDuplicate) {
		return passkeyRefusal(c, fiber.StatusBadRequest, "This passkey is registered already.")
	} else if err != nil {
		return err
	}
	h.outbox.Wake()
	h.flash(c, "Passkey \u201c"+p.Name+"\u201d added. You can sign in with it now.")
	return c.JSON(fiber.Map{"redirect": "/account/security"})
}
