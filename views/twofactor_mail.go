package views

import "fmt"

// TwoFactorDisabledMail tells the owner that two-factor sign-in was turned off: by them, by an
// administrator (byAdmin), or from the command line (by the operator, also byAdmin).
func TwoFactorDisabledMail(name string, byAdmin bool, resetLink string) Mail {
	who := "from your account"
	if byAdmin {
		who = "by an administrator of this Tally"
	}
	return Mail{
		Subject:  "Two-factor sign-in was turned off for your Tally account",
		Greeting: hello(name),
		Paragraphs: []string{"Two-factor sign-in was just turned off " + who + ": signing in now takes only your password. " +
			"You can turn it on again from the Security page."},
		Action: "If this was not you, reset your password now", Link: resetLink,
	}
}

// RecoveryCodeUsedMail tells the owner a recovery code was used, and how many remain.
func RecoveryCodeUsedMail(name string, left int64, resetLink string) Mail {
	return Mail{
		Subject:  "A recovery code was used for your Tally account",
		Greeting: hello(name),
		Paragraphs: []string{"One of your recovery codes was just used instead of a code from your authenticator app. " +
			fmt.Sprintf("You have %d left; you can make a new set from the Security page.", left)},
		Action: "If this was not you, reset your password now", Link: resetLink,
	}
}

// TwoFactorEnabledMail tells the owner that two-factor sign-in was turned on: someone holding a
// stolen session could turn it on with their own phone, and the owner would find out only at
// their next sign-in.
func TwoFactorEnabledMail(name, resetLink string) Mail {
	return Mail{
		Subject:  "Two-factor sign-in was turned on for your Tally account",
		Greeting: hello(name),
		Paragraphs: []string{"Two-factor sign-in was just turned on for your Tally account: signing in now takes your password " +
			"and a code from your authenticator app, or one of your recovery codes."},
		Action: "If this was not you, reset your password and contact the administrator of this Tally", Link: resetLink,
	}
}
