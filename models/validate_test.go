package models

import (
	"strings"
	"testing"
)

func TestCheckText(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string // want: part of the message, "" for accepted
	}{
		{"plain", "Ada Lovelace", ""},
		{"accents", "Zoë Ångström", ""},
		{"persian with zero-width non-joiner", "می\u200cخواهم", ""},
		{"emoji with zero-width joiner", "👩\u200d💻", ""},
		{"invalid utf-8", "Ada\xff", "not valid text"},
		{"bell", "Ada\a", "control characters"},
		{"newline", "Ada\nLovelace", "control characters"},
		{"zero-width space", "Ad\u200ba", "invisible formatting"},
		{"right-to-left override", "Ada\u202egpj.exe", "invisible formatting"},
		{"direction isolate", "\u2066Ada\u2069", "invisible formatting"},
		{"byte order mark", "\ufeffAda", "invisible formatting"},
		{"soft hyphen", "Love\u00adlace", "invisible formatting"},
		{"too long", strings.Repeat("é", 21), "at most 20"},
		{"at the limit", strings.Repeat("é", 20), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := CheckText(tc.in, 20)
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("CheckText(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
