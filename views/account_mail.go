package views

import (
	"fmt"
	"time"
)

// EmailChangeMail carries the link that moves an account to the new address; it goes to
// that address, so following it proves the inbox is the user's.
func EmailChangeMail(name, newEmail, link string, ttl time.Duration) Mail {
	return Mail{
		Subject:    "Confirm your new email address for Tally",
		Greeting:   hello(name),
		Paragraphs: []string{fmt.Sprintf("You asked to use %s for your Tally account. Confirm it to make the change.", newEmail)},
		Action:     "Use this address", Link: link,
		After: []string{fmt.Sprintf("The link works once and expires in %s.", hours(ttl)),
			"If you did not ask for this, ignore this email: nothing changes."},
	}
}

// EmailChangeNoticeMail tells the current address that a change was asked for.
func EmailChangeNoticeMail(name, newEmail, resetLink string) Mail {
	return Mail{
		Subject:  "Your Tally email address is being changed",
		Greeting: hello(name),
		Paragraphs: []string{fmt.Sprintf("Someone signed in to your Tally account asked to change its address to %s. "+
			"The address changes only when the link sent there is followed.", newEmail)},
		Action: "If this was not you, reset your password now", Link: resetLink,
	}
}

// EmailInUseMail answers an address change to an address that already has an account: no
// link, and the requester sees the same page as for a free address.
func EmailInUseMail(name, resetLink string) Mail {
	return Mail{
		Subject:  "Someone tried to move a Tally account to this address",
		Greeting: hello(name),
		Paragraphs: []string{"Someone asked to change the address of a Tally account to this one, but you already have an account with it, " +
			"so nothing was changed. If it was you, sign in to that account instead; you can reset its password if you forgot it."},
		Action: "Reset my password", Link: resetLink,
		After: []string{"If it was not you, ignore this email."},
	}
}
