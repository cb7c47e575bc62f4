package models

import (
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

var usernamePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,30}$`)

// ValidateUsername returns a message naming the broken rule, or "".
func ValidateUsername(s string) string {
	if msg := CheckText(s, 30); msg != "" {
		return msg
	}
	if !usernamePattern.MatchString(s) {
		return "Use 3 to 30 letters, digits, and _ . - only."
	}
	return ""
}

// ValidateEmail accepts a plain address (no display name) of at most 254 characters.
func ValidateEmail(s string) string {
	if msg := CheckText(s, 254); msg != "" {
		return msg
	}
	a, err := mail.ParseAddress(s)
	at := strings.LastIndexByte(s, '@')
	if err != nil || a.Address != s || at < 1 || at > 64 || !strings.Contains(s[at+1:], ".") ||
		strings.HasSuffix(s, ".") {
		return "Enter a valid email address, like name@example.com."
	}
	return ""
}

// CheckText rejects what no text field should hold: invalid UTF-8, control characters,
// invisible format characters, and more than max characters. It returns a message, or "".
func CheckText(s string, max int) string {
	if !utf8.ValidString(s) {
		return "This contains characters that are not valid text."
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return "This contains control characters."
		}
		if invisibleFormat(r) {
			return "This contains invisible formatting characters, such as a zero-width space or a change of text direction."
		}
	}
	if n := utf8.RuneCountInString(s); n > max {
		return "This is too long (at most " + strconv.Itoa(max) + " characters)."
	}
	return ""
}

// invisibleFormat reports Unicode's format characters (category Cf): zero-width spaces, byte
// order marks, text direction overrides and the like, which make a name look like another or
// reorder the text around it. The zero-width joiner and non-joiner are kept: Persian, the
// Indic scripts and emoji sequences need them.
func invisibleFormat(r rune) bool {
	return unicode.Is(unicode.Cf, r) && r != '\u200c' && r != '\u200d'
}
