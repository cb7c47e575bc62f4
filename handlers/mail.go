package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"time"

	"github.com/wneessen/go-mail"
	"gorm.io/gorm"

	"tally/models"
	"tally/views"
)

// Mailer delivers one mail. There are two: SMTP, and the log for installs without SMTP.
type Mailer interface {
	Send(ctx context.Context, e models.Email) error
}

// NewMailer returns the SMTP mailer when TALLY_SMTP_URL is set, else the log mailer.
func NewMailer(cfg Config, log *slog.Logger) (Mailer, error) {
	if cfg.SMTPURL == "" {
		return logMailer{log: log}, nil
	}
	return newSMTPMailer(cfg.SMTPURL, cfg.MailFrom)
}

// logMailer writes every mail in full to the log, links included, so a self-hoster without
// SMTP can still verify and reset accounts.
type logMailer struct{ log *slog.Logger }

func (m logMailer) Send(_ context.Context, e models.Email) error {
	m.log.Info("mail (no SMTP configured; set TALLY_SMTP_URL to send it)", "to", e.To, "subject", e.Subject, "body", e.Text)
	return nil
}

type smtpMailer struct {
	client *mail.Client
	from   string
}

// newSMTPMailer parses smtp://user:pass@host:587 (STARTTLS required) or smtps://... (implicit
// TLS). ?tls=none is for a relay on the same machine that offers no TLS.
func newSMTPMailer(raw, from string) (*smtpMailer, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return nil, fmt.Errorf("TALLY_SMTP_URL is not a valid smtp:// or smtps:// URL")
	}
	opts := []mail.Option{mail.WithTimeout(20 * time.Second)}
	port := 587
	switch u.Scheme {
	case "smtp":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
		if u.Query().Get("tls") == "none" {
			opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
		}
	case "smtps":
		port = 465
		opts = append(opts, mail.WithSSL())
	default:
		return nil, fmt.Errorf("TALLY_SMTP_URL must start with smtp:// or smtps://")
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("TALLY_SMTP_URL has an invalid port")
		}
	}
	opts = append(opts, mail.WithPort(port))
	if u.User != nil {
		pass, _ := u.User.Password()
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover),
			mail.WithUsername(u.User.Username()), mail.WithPassword(pass))
	}
	client, err := mail.NewClient(u.Hostname(), opts...)
	if err != nil {
		return nil, fmt.Errorf("TALLY_SMTP_URL: %w", err)
	}
	return &smtpMailer{client: client, from: from}, nil
}

func (m *smtpMailer) Send(ctx context.Context, e models.Email) error {
	msg := mail.NewMsg()
	if err := msg.From(m.from); err != nil {
		return fmt.Errorf("TALLY_MAIL_FROM: %w", err)
	}
	if err := msg.To(e.To); err != nil {
		return err
	}
	msg.Subject(e.Subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(mail.TypeTextPlain, e.Text)
	msg.AddAlternativeString(mail.TypeTextHTML, e.HTML)
	return m.client.DialAndSendWithContext(ctx, msg)
}

// maxMailAttempts is how often a mail is tried before it is marked failed; with the backoff
// below the last try is about an hour after the first.
const maxMailAttempts = 8

// Outbox delivers queued mails in the background: at start (mail left by a previous run),
// when woken after a commit, and when a retry comes due.
type Outbox struct {
	db     *gorm.DB
	mailer Mailer
	log    *slog.Logger
	now    func() time.Time
	wake   chan struct{}
}

// NewOutbox makes the worker; Run starts it.
func NewOutbox(db *gorm.DB, mailer Mailer, log *slog.Logger, now func() time.Time) *Outbox {
	if now == nil {
		now = func() time.Time { return time.Now().UTC() }
	}
	return &Outbox{db: db, mailer: mailer, log: log, now: now, wake: make(chan struct{}, 1)}
}

// Wake tells the worker new mail is waiting; it never blocks.
func (o *Outbox) Wake() {
	if o == nil {
		return
	}
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends.
func (o *Outbox) Run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-o.wake:
		}
		o.DeliverDue(ctx)
		timer.Reset(o.untilNext())
	}
}

func (o *Outbox) untilNext() time.Duration {
	next, ok, err := models.NextEmailDue(o.db)
	if err != nil || !ok {
		return time.Minute
	}
	return min(max(next.Sub(o.now()), 50*time.Millisecond), time.Minute)
}

// DeliverDue sends every mail that is due and returns how many were sent.
func (o *Outbox) DeliverDue(ctx context.Context) int {
	sent := 0
	for ctx.Err() == nil {
		due, err := models.DueEmails(o.db, o.now(), 20)
		if err != nil {
			o.log.Error("outbox: reading due mail", "err", err)
			return sent
		}
		if len(due) == 0 {
			return sent
		}
		for _, e := range due {
			if o.deliver(ctx, e) {
				sent++
			}
		}
	}
	return sent
}

func (o *Outbox) deliver(ctx context.Context, e models.Email) bool {
	if ok, err := models.ClaimEmail(o.db, &e, o.now().Add(5*time.Minute)); !ok || err != nil {
		return false
	}
	sendCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err := o.mailer.Send(sendCtx, e)
	cancel()
	now := o.now()
	if err == nil {
		if err := models.MarkEmailSent(o.db, e.ID, now); err != nil {
			o.log.Error("outbox: marking mail sent", "mail_id", e.ID, "err", err)
		}
		o.log.Info("mail sent", "mail_id", e.ID, "purpose", e.Purpose)
		return true
	}
	final := e.Attempts+1 >= maxMailAttempts
	backoff := 30 * time.Second << e.Attempts
	o.log.Warn("mail not sent", "mail_id", e.ID, "attempt", e.Attempts+1, "final", final, "err", err)
	if err := models.MarkEmailFailed(o.db, e.ID, now.Add(backoff), err.Error(), final); err != nil {
		o.log.Error("outbox: recording failure", "mail_id", e.ID, "err", err)
	}
	return false
}

// queueMail renders m and adds it to the outbox inside tx.
func (h *Handlers) queueMail(ctx context.Context, tx *gorm.DB, u *models.User, to, purpose string, m views.Mail) error {
	html, err := m.HTML(ctx)
	if err != nil {
		return err
	}
	e := &models.Email{To: to, Purpose: purpose, Subject: m.Subject, Text: m.Text(), HTML: html}
	if u != nil && u.ID != 0 {
		e.UserID = &u.ID
	}
	return models.QueueEmail(tx, e, h.now())
}

// mailAllowed applies the per-address limits (per purpose): at most MailPerMinute in a minute
// and MailPerHour in an hour.
func (h *Handlers) mailAllowed(tx *gorm.DB, to, purpose string) (bool, error) {
	now := h.now()
	n, err := models.CountRecentEmails(tx, to, purpose, now.Add(-time.Minute))
	if err != nil || n >= int64(h.cfg.MailPerMinute) {
		return false, err
	}
	n, err = models.CountRecentEmails(tx, to, purpose, now.Add(-time.Hour))
	return n < int64(h.cfg.MailPerHour), err
}
