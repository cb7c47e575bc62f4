package mail

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"tally/config"
	"tally/models"
)

func TestLogSender(t *testing.T) {
	e := models.Email{ID: 7, To: "a@example.com", Purpose: models.MailVerify, Subject: "Hi",
		Text: "Hello,\n\nConfirm my address:\nhttp://x/verify?token=abc\n\n-- \nTally\n"}
	for _, tc := range []struct {
		name string
		prod bool
	}{{"dev", false}, {"prod", true}} {
		t.Run(tc.name, func(t *testing.T) {
			var out, logs bytes.Buffer
			s, err := New(config.Config{Prod: tc.prod}, slog.New(slog.NewJSONHandler(&logs, nil)), &out)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Send(context.Background(), e); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(logs.String(), `"msg":"mail logged`) || !strings.Contains(logs.String(), `"mail_id":7`) ||
				!strings.Contains(logs.String(), `"purpose":"verify"`) || !strings.Contains(logs.String(), `"to":"a@example.com"`) {
				t.Errorf("log line = %s", logs.String())
			}
			if tc.prod {
				// Production logs are JSON, read by machines: the body goes there, nothing to stdout.
				if out.Len() != 0 || !strings.Contains(logs.String(), "token=abc") {
					t.Errorf("stdout %q, log %s", out.String(), logs.String())
				}
				return
			}
			// In dev the link is for a person to select: alone on its line, unescaped, not in the log.
			lines := strings.Split(out.String(), "\n")
			if !contains(lines, "http://x/verify?token=abc") || !contains(lines, "To:      a@example.com") ||
				!contains(lines, "Subject: Hi") || !contains(lines, strings.Repeat("-", 72)) {
				t.Errorf("block =\n%s", out.String())
			}
			if strings.Contains(logs.String(), "token=abc") {
				t.Errorf("dev log carries the body: %s", logs.String())
			}
		})
	}
}

func contains(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}
