package views

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"
)

// Mail is one outgoing email: the same content renders as HTML (MailHTML) and plain text.
type Mail struct {
	Subject    string
	Greeting   string
	Paragraphs []string
	Action     string // the button's label
	Link       string // absolute URL
	After      []string
}

// Text is the plain-text part.
func (m Mail) Text() string {
	var b strings.Builder
	b.WriteString(m.Greeting + "\n\n")
	for _, p := range m.Paragraphs {
		b.WriteString(p + "\n\n")
	}
	if m.Link != "" {
		b.WriteString(m.Action + ":\n" + m.Link + "\n\n")
	}
	for _, p := range m.After {
		b.WriteString(p + "\n\n")
	}
	b.WriteString("-- \nTally\n")
	return b.String()
}

// HTML is the HTML part.
func (m Mail) HTML(ctx context.Context) (string, error) {
	var buf bytes.Buffer
	err := MailHTML(m).Render(ctx, &buf)
	return buf.String(), err
}

func hello(name string) string {
	if name == "" {
		return "Hello,"
	}
	return "Hello " + name + ","
}

func hours(d time.Duration) string {
	if d%(24*time.Hour) == 0 && d >= 48*time.Hour {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	if d == time.Hour {
		return "1 hour"
	}
	if d%time.Hour == 0 {
		return fmt.Sprintf("%d hours", d/time.Hour)
	}
	return fmt.Sprintf("%d minutes", d/time.Minute)
}

// VerifyMail asks a new user to confirm their address.
func VerifyMail(name, link string, ttl time.Duration) Mail {
	return Mail{
		Subject:    "Confirm your email address for Tally",
		Greeting:   hello(name),
		Paragraphs: []string{"Welcome to Tally. Please confirm that this is your email address to activate your account."},
		Action:     "Confirm my address", Link: link,
		After: []string{fmt.Sprintf("The link works once and expires in %s.", hours(ttl)),
			"If you did not create a Tally account, ignore this email."},
	}
}

// AccountExistsMail answers a registration with an address that already has an account.
func AccountExistsMail(name, link string, ttl time.Duration) Mail {
	return Mail{
		Subject:    "You already have a Tally account",
		Greeting:   hello(name),
		Paragraphs: []string{"Someone tried to create a Tally account with this email address, but you already have one. If that was you and you forgot your password, you can reset it."},
		Action:     "Reset my password", Link: link,
		After: []string{fmt.Sprintf("The link works once and expires in %s.", hours(ttl)),
			"If it was not you, ignore this email: nothing has changed."},
	}
}

// DeactivatedAccountExistsMail answers a registration with the address of a deactivated
// account: no reset link, since a new password would not let its owner in.
func DeactivatedAccountExistsMail(name string) Mail {
	return Mail{
		Subject:  "You already have a Tally account",
		Greeting: hello(name),
		Paragraphs: []string{"Someone tried to create a Tally account with this email address, but you already have one. " +
			"It has been deactivated: to use it again, ask the administrator of this Tally."},
		After: []string{"If it was not you, ignore this email: nothing has changed."},
	}
}

// ResetMail carries a password reset link.
func ResetMail(name, link string, ttl time.Duration) Mail {
	return Mail{
		Subject:    "Reset your Tally password",
		Greeting:   hello(name),
		Paragraphs: []string{"We received a request to reset the password of your Tally account."},
		Action:     "Choose a new password", Link: link,
		After: []string{fmt.Sprintf("The link works once and expires in %s.", hours(ttl)),
			"If you did not ask for this, ignore this email: your password stays as it is."},
	}
}

// PasswordChangedMail tells the owner their password changed.
func PasswordChangedMail(name, link string) Mail {
	return Mail{
		Subject:    "Your Tally password was changed",
		Greeting:   hello(name),
		Paragraphs: []string{"The password of your Tally account was just changed, and your other sessions were signed out."},
		Action:     "If this was not you, reset your password now", Link: link,
	}
}

// LockoutMail tells the owner that sign-in to their account was paused.
func LockoutMail(name, link string, d time.Duration) Mail {
	return Mail{
		Subject:  "Sign-in to your Tally account was paused",
		Greeting: hello(name),
		Paragraphs: []string{fmt.Sprintf("There were many failed attempts to sign in to your Tally account, so sign-in is paused for %s for browsers you have not used with Tally before.", hours(d)),
			"Browsers where you have signed in before can still sign in. If the attempts were not yours, consider choosing a stronger password."},
		Action: "Reset my password", Link: link,
	}
}
