package views

// PasskeyAddedMail tells the owner a passkey was added: a stolen session that added its own
// passkey would otherwise keep a way in after the password is changed.
func PasskeyAddedMail(name, passkey, resetLink string) Mail {
	return Mail{
		Subject:  "A passkey was added to your Tally account",
		Greeting: hello(name),
		Paragraphs: []string{"A passkey named \u201c" + passkey + "\u201d was just added to your Tally account: it signs in without a password. " +
			"You can see and remove your passkeys on the Security page."},
		Action: "If this was not you, reset your password, remove the passkey and contact the administrator of this Tally", Link: resetLink,
	}
}

// PasskeyRemovedMail tells the owner that passkeys were removed: one by them (passkey names
// it), or all of them by an administrator or from the command line (byAdmin).
func PasskeyRemovedMail(name, passkey string, byAdmin bool, resetLink string) Mail {
	what := "The passkey \u201c" + passkey + "\u201d was just removed from your Tally account."
	if byAdmin {
		what = "Your passkeys were just removed from your Tally account by an administrator of this Tally."
	}
	return Mail{
		Subject:    "A passkey was removed from your Tally account",
		Greeting:   hello(name),
		Paragraphs: []string{what + " It no longer signs in. You can add a passkey again from the Security page."},
		Action:     "If this was not you, reset your password now", Link: resetLink,
	}
}
