package handlers

import (
	"bytes"
	"encoding/json"
	"errors"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"tally/models"
)

// Signing in with a passkey. A passkey whose authenticator verified its user (fingerprint,
// face, PIN) signs in alone: no username, no password, no code. One that only proved presence
// (a security key without a PIN) is accepted only as the second step of a sign-in whose
// password was right (twofactor_login.go's pending sign-in). Either way the sign-in ends in
// startSession, like a password's: new session id, the events, the lockout rules.

const (
	errPasskeyUnknown = "This passkey is not registered with this Tally. Sign in another way, then add it on the Security page."
	errPasskeyNoUV    = "This passkey did not check who you are (no fingerprint, face or PIN), so it cannot sign in alone. Sign in with your password; with two-factor sign-in on, it can be your second step."
	errPasskeyCloned  = "This passkey was refused: its signature counter went backwards, which happens when a key has been copied. Sign in another way and remove it from the Security page."
	errNoSecondStep   = "Signing in took too long. Enter your password again."
)

// BeginPasskeyLogin answers the request options: for a sign-in without a username (the button
// or the browser's autofill, mode "signin"), or for the second step of the pending sign-in
// (mode "second"), limited to that user's passkeys.
func (h *Handlers) BeginPasskeyLogin(c *fiber.Ctx) error {
	if h.passkeys.wa == nil {
		return passkeyRefusal(c, fiber.StatusBadRequest, errPasskeysOff)
	}
	var in struct {
		Mode string `json:"mode"`
	}
	if err := json.Unmarshal(c.Body(), &in); err != nil {
		return passkeyRefusal(c, fiber.StatusBadRequest, errPasskeyUnreadable)
	}
	var (
		assertion *protocol.CredentialAssertion
		data      *webauthn.SessionData
		cer       ceremony
		err       error
	)
	switch in.Mode {
	case "second":
		p := h.pendingSignIn(c)
		if p == nil || p.expired(h.now()) {
			return passkeyRefusal(c, fiber.StatusBadRequest, errNoSecondStep)
		}
		u, err := models.FindUser(h.db, p.userID)
		if err != nil {
			return err
		}
		ps, err := models.UserPasskeys(h.db, u.ID)
		if err != nil {
			return err
		}
		if len(ps) == 0 {
			return passkeyRefusal(c, fiber.StatusBadRequest, "This account has no passkey. Enter a code from your authenticator app instead.")
		}
		assertion, data, err = h.passkeys.wa.BeginLogin(h.passkeyUserOf(u, ps))
		if err != nil {
			return err
		}
		cer = ceremony{UserID: u.ID, Second: true}
	case "signin", "conditional":
		mediation := protocol.MediationDefault
		if in.Mode == "conditional" {
			mediation = protocol.MediationConditional
		}
		if assertion, data, err = h.passkeys.wa.BeginDiscoverableMediatedLogin(mediation); err != nil {
			return err
		}
	default:
		return passkeyRefusal(c, fiber.StatusBadRequest, errPasskeyUnreadable)
	}
	cer.Data = *data
	if cer.Second {
		// The pending sign-in is in the session already; a ceremony there goes with it.
		h.dropCeremonyCookie(c)
		if err := h.keepCeremony(c, keyPasskeyLogin, cer); err != nil {
			return err
		}
	} else {
		currentSession(c).del(keyPasskeyLogin)
		if err := h.keepCeremonyInCookie(c, cer); err != nil {
			return err
		}
	}
	return c.JSON(assertion)
}

// passkeyLoginInput is the finish's body: the browser's credential, and what the sign-in form
// says besides (where to go, "keep me signed in", whether it is the sign-in dialog).
type passkeyLoginInput struct {
	Credential json.RawMessage `json:"credential"`
	Next       string          `json:"next"`
	Remember   bool            `json:"remember"`
	Dialog     bool            `json:"dialog"`
}

// FinishPasskeyLogin verifies the assertion against the begun ceremony and signs in.
func (h *Handlers) FinishPasskeyLogin(c *fiber.Ctx) error {
	if h.passkeys.wa == nil {
		return passkeyRefusal(c, fiber.StatusBadRequest, errPasskeysOff)
	}
	// A sign-in without a username keeps its ceremony in a cookie, the second step in the
	// session; at most one of them is there.
	var (
		cer *ceremony
		err error
	)
	if inCookie := h.takeCeremonyFromCookie(c); inCookie != nil && !inCookie.Second {
		cer, err = h.spendCeremony(*inCookie)
	} else {
		cer, err = h.takeCeremony(c, keyPasskeyLogin)
	}
	if err != nil {
		return err
	}
	if cer == nil {
		return passkeyRefusal(c, fiber.StatusBadRequest, errCeremonyGone)
	}
	var in passkeyLoginInput
	if err := json.Unmarshal(c.Body(), &in); err != nil {
		return passkeyRefusal(c, fiber.StatusBadRequest, errPasskeyUnreadable)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(in.Credential)
	if err != nil {
		return passkeyRefusal(c, fiber.StatusBadRequest, errPasskeyUnreadable)
	}
	p, err := models.FindPasskeyByCredential(h.db, parsed.RawID)
	if errors.Is(err, models.ErrNotFound) {
		return passkeyRefusal(c, fiber.StatusBadRequest, errPasskeyUnknown)
	} else if err != nil {
		return err
	}
	remember, next := h.cfg.RememberMe && in.Remember, safeNext(in.Next, "")
	var pending *pendingSignIn
	if cer.Second {
		// The second step answers for the pending sign-in's user only.
		pending = h.pendingSignIn(c)
		if pending == nil || pending.expired(h.now()) || pending.userID != cer.UserID {
			endPendingSignIn(currentSession(c))
			return passkeyRefusal(c, fiber.StatusBadRequest, errNoSecondStep)
		}
		if p.UserID != cer.UserID {
			return passkeyRefusal(c, fiber.StatusBadRequest, errPasskeyUnknown)
		}
		remember, next = pending.remember, pending.next
	}
	u, err := models.FindUser(h.db, p.UserID)
	if err != nil {
		return err
	}
	switch {
	case u.IsPending():
		return passkeyRefusal(c, fiber.StatusForbidden, "Your email address is not confirmed yet. Follow the link we sent you, or ask for a new one.")
	case !u.IsActive:
		return passkeyRefusal(c, fiber.StatusForbidden, "This account has been deactivated. Contact the administrator of this Tally.")
	}
	g, locked, err := h.guardUser(c, u)
	if err != nil {
		return err
	}
	if locked {
		return passkeyRefusal(c, fiber.StatusForbidden, errLocked)
	}
	ps, err := models.UserPasskeys(h.db, u.ID)
	if err != nil {
		return err
	}
	pu := h.passkeyUserOf(u, ps)
	pu.handle = p.UserHandle
	var cred *webauthn.Credential
	if cer.Second {
		cred, err = h.passkeys.wa.ValidateLogin(pu, cer.Data, parsed)
	} else {
		cred, err = h.passkeys.wa.ValidateDiscoverableLogin(func(rawID, userHandle []byte) (webauthn.User, error) {
			if !bytes.Equal(userHandle, p.UserHandle) {
				return nil, errors.New("user handle does not match")
			}
			return pu, nil
		}, cer.Data, parsed)
	}
	if err != nil {
		if ferr := h.loginFailedAs(c, g, models.EventLoginFailure, "With a passkey"); ferr != nil {
			return ferr
		}
		return h.verificationRefusal(c, err)
	}
	if cred.Authenticator.CloneWarning {
		if err := h.recordEvent(c, h.db, u.ID, models.EventPasskeyCloned, p.Name, nil); err != nil {
			return err
		}
		return passkeyRefusal(c, fiber.StatusForbidden, errPasskeyCloned)
	}
	flags := parsed.Response.AuthenticatorData.Flags
	if !cer.Second && !flags.HasUserVerified() {
		return passkeyRefusal(c, fiber.StatusForbidden, errPasskeyNoUV)
	}
	use := models.PasskeyUse{SignCount: cred.Authenticator.SignCount, BackupEligible: flags.HasBackupEligible(),
		BackupState: flags.HasBackupState(), UserVerified: flags.HasUserVerified()}
	// The counter is stored durably before the session starts: a copy of the key must not be
	// able to reuse the same count after a power cut.
	err = models.Transaction(h.db, func(tx *gorm.DB) error { return models.UsePasskey(tx, p, use, h.now()) })
	if errors.Is(err, models.ErrNotFound) {
		// A concurrent sign-in stored a higher counter first: this one is the replay.
		if err := h.recordEvent(c, h.db, u.ID, models.EventPasskeyCloned, p.Name, nil); err != nil {
			return err
		}
		return passkeyRefusal(c, fiber.StatusForbidden, errPasskeyCloned)
	} else if err != nil {
		return err
	}
	// startSession renews the session, which ends a pending sign-in with the rest.
	if err := h.startSession(c, u, remember, func(tx *gorm.DB) error { return h.loginSucceeded(c, tx, g, u) }); err != nil {
		return err
	}
	if in.Dialog {
		// The sign-in dialog: static/passkeys.js raises the same event as LoginAgain's answer.
		return c.JSON(fiber.Map{"csrf": currentSession(c).csrfToken(), "user": u.ID})
	}
	return c.JSON(fiber.Map{"redirect": h.afterSignIn(u, next)})
}
