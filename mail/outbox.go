package mail

import (
	"context"
	"log/slog"
	"time"

	"gorm.io/gorm"

	"tally/models"
)

// claimLease is how long a claimed mail is left to the worker sending it: longer than one send
// (the SMTP client gives up after 20 s), so another instance takes it only when its sender died.
const claimLease = 5 * time.Minute

// MaxAttempts is how often a mail is tried before it is marked failed; with the backoff
// below the last try is about an hour after the first.
const MaxAttempts = 8

// Outbox delivers queued mails in the background: at start (mail left by a previous run),
// when woken after a commit, and when a retry comes due.
type Outbox struct {
	db     *gorm.DB
	mailer Sender
	log    *slog.Logger
	now    func() time.Time
	wake   chan struct{}
}

// NewOutbox makes the worker; Run starts it.
func NewOutbox(db *gorm.DB, mailer Sender, log *slog.Logger, now func() time.Time) *Outbox {
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
	if ok, err := models.ClaimEmail(o.db, &e, o.now().Add(claimLease)); !ok || err != nil {
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
	final := e.Attempts+1 >= MaxAttempts
	backoff := 30 * time.Second << e.Attempts
	o.log.Warn("mail not sent", "mail_id", e.ID, "attempt", e.Attempts+1, "final", final, "err", err)
	if err := models.MarkEmailFailed(o.db, e.ID, now.Add(backoff), err.Error(), final); err != nil {
		o.log.Error("outbox: recording failure", "mail_id", e.ID, "err", err)
	}
	return false
}
