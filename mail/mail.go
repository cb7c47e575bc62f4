// Package mail delivers Tally's mail: over SMTP, or to the terminal and the log when no SMTP
// server is configured, from an outbox that survives restarts. Handlers only queue a mail in
// their transaction (Queue); the Outbox sends it after the commit.
package mail

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
	"gorm.io/gorm"

	"tally/config"
	"tally/models"
	"tally/views"
)

// Sender delivers one mail. There are two: SMTP, and the log for installs without SMTP.
type Sender interface {
	Send(ctx context.Context, e models.Email) error
}

// New returns the SMTP sender when TALLY_SMTP_URL is set, else one that writes each mail to
// out (in dev, as a readable block) and a line to the log.
func New(cfg config.Config, log *slog.Logger, out io.Writer) (Sender, error) {
	if cfg.SMTPURL == "" {
		return &logSender{log: log, out: out, block: !cfg.Prod}, nil
	}
	return newSMTPSender(cfg.SMTPURL, cfg.MailFrom)
}

// logSender lets a self-hoster without SMTP still verify and reset accounts. In dev each mail
// is printed as it would arrive, so a link can be selected cleanly in the terminal; in prod the
// structured log line carries the body instead.
type logSender struct {
	log   *slog.Logger
	out   io.Writer
	block bool
	mu    sync.Mutex // blocks of concurrent mails do not interleave
}

func (m *logSender) Send(_ context.Context, e models.Email) error {
	if !m.block {
		m.log.Info("mail logged (no SMTP configured; set TALLY_SMTP_URL to send it)", "mail_id", e.ID,
			"purpose", e.Purpose, "to", e.To, "subject", e.Subject, "body", e.Text)
		return nil
	}
	m.mu.Lock()
	_, err := io.WriteString(m.out, Block(e))
	m.mu.Unlock()
	m.log.Info("mail logged (no SMTP configured; set TALLY_SMTP_URL to send it)", "mail_id", e.ID,
		"purpose", e.Purpose, "to", e.To)
	return err
}

// Block is a mail as a terminal shows it: a separator, To and Subject, then the plain-text
// body as it would arrive (views.Mail.Text puts every link on a line of its own).
func Block(e models.Email) string {
	var b strings.Builder
	b.WriteString("\n" + strings.Repeat("-", 72) + "\n")
	b.WriteString("To:      " + e.To + "\n")
	b.WriteString("Subject: " + e.Subject + "\n\n")
	b.WriteString(strings.TrimRight(e.Text, "\n") + "\n")
	b.WriteString(strings.Repeat("-", 72) + "\n\n")
	return b.String()
}

// Queue renders m and adds it to the outbox inside tx; the Outbox sends it once tx commits.
func Queue(ctx context.Context, tx *gorm.DB, u *models.User, to, purpose string, m views.Mail, now time.Time) error {
	html, err := m.HTML(ctx)
	if err != nil {
		return err
	}
	e := &models.Email{To: to, Purpose: purpose, Subject: m.Subject, Text: m.Text(), HTML: html}
	if u != nil && u.ID != 0 {
		e.UserID = &u.ID
	}
	return models.QueueEmail(tx, e, now)
}

// Allowed applies the per-address limits (per purpose): at most cfg.MailPerMinute in a minute
// and cfg.MailPerHour in an hour.
func Allowed(tx *gorm.DB, cfg config.Config, to, purpose string, now time.Time) (bool, error) {
	n, err := models.CountRecentEmails(tx, to, purpose, now.Add(-time.Minute))
	if err != nil || n >= int64(cfg.MailPerMinute) {
		return false, err
	}
	n, err = models.CountRecentEmails(tx, to, purpose, now.Add(-time.Hour))
	return n < int64(cfg.MailPerHour), err
}

type smtpSender struct {
	client *gomail.Client
	from   string
}

// newSMTPSender parses smtp://user:pass@host:587 (STARTTLS required) or smtps://... (implicit
// TLS). ?tls=none is for a relay on the same machine that offers no TLS.
func newSMTPSender(raw, from string) (*smtpSender, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return nil, fmt.Errorf("TALLY_SMTP_URL is not a valid smtp:// or smtps:// URL")
	}
	opts := []gomail.Option{gomail.WithTimeout(20 * time.Second)}
	port := 587
	switch u.Scheme {
	case "smtp":
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
		if u.Query().Get("tls") == "none" {
			opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
		}
	case "smtps":
		port = 465
		opts = append(opts, gomail.WithSSL())
	default:
		return nil, fmt.Errorf("TALLY_SMTP_URL must start with smtp:// or smtps://")
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("TALLY_SMTP_URL has an invalid port")
		}
	}
	opts = append(opts, gomail.WithPort(port))
	if u.User != nil {
		pass, _ := u.User.Password()
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(u.User.Username()), gomail.WithPassword(pass))
	}
	client, err := gomail.NewClient(u.Hostname(), opts...)
	if err != nil {
		return nil, fmt.Errorf("TALLY_SMTP_URL: %w", err)
	}
	return &smtpSender{client: client, from: from}, nil
}

func (m *smtpSender) Send(ctx context.Context, e models.Email) error {
	msg := gomail.NewMsg()
	if err := msg.From(m.from); err != nil {
		return fmt.Errorf("TALLY_MAIL_FROM: %w", err)
	}
	if err := msg.To(e.To); err != nil {
		return err
	}
	msg.Subject(e.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(gomail.TypeTextPlain, e.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, e.HTML)
	return m.client.DialAndSendWithContext(ctx, msg)
}
