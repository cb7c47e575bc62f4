package mail

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"gorm.io/gorm"

	"tally/mail/mailtest"
	"tally/models"
	"tally/testkit/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m, nil)) }

const lease = claimLease

// A sender that claims a mail and dies while its SMTP server hangs leaves the mail to the other
// senders: none takes it while the lease holds, and one delivers it once after it runs out. On
// the Postgres pass the two workers are two connection pools on one database, as two instances.
func TestOutboxLeaseOutlivesADeadSender(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	target := testdb.Target(t, t.TempDir())
	open := func() *gorm.DB {
		db, err := models.Open(target, log)
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	dying, survivor := open(), open()
	t.Cleanup(func() { models.Close(survivor) })
	if err := models.Migrate(survivor); err != nil {
		t.Fatal(err)
	}
	// The dying worker's send returns only when the server lets the held mail go, at the end
	// of the test: registered before the server, this wait runs after the server's cleanup.
	dead := make(chan struct{})
	t.Cleanup(func() { <-dead })
	smtp := mailtest.Start(t)
	sender, err := newSMTPSender(smtp.URL(), "tally@example.com")
	if err != nil {
		t.Fatal(err)
	}

	t0 := time.Now().UTC().Truncate(time.Second)
	e := &models.Email{To: "ada@example.com", Purpose: models.MailReset, Subject: "Reset", Text: "text", HTML: "<p>html</p>"}
	if err := models.QueueEmail(survivor, e, t0); err != nil {
		t.Fatal(err)
	}

	held := smtp.Hold("ada@example.com")
	go func() {
		defer close(dead)
		NewOutbox(dying, sender, log, func() time.Time { return t0 }).DeliverDue(context.Background())
	}()
	select {
	case <-held:
	case <-time.After(mailtest.Timeout):
		t.Fatal("the first worker never sent the mail")
	}
	// The process dies mid-send: nothing it does from now on reaches the database.
	models.Close(dying)

	var row models.Email
	if err := survivor.First(&row, e.ID).Error; err != nil {
		t.Fatal(err)
	}
	if row.Status != models.MailPending || row.Attempts != 0 || !row.NextAttemptAt.Equal(t0.Add(lease)) {
		t.Fatalf("after the claim: %s, %d attempts, next at %v; want pending, 0, %v", row.Status, row.Attempts, row.NextAttemptAt, t0.Add(lease))
	}

	now := t0
	other := NewOutbox(survivor, sender, log, func() time.Time { return now })
	for _, d := range []time.Duration{0, time.Minute, lease - time.Second} {
		now = t0.Add(d)
		if n := other.DeliverDue(context.Background()); n != 0 {
			t.Fatalf("%v after the claim, while the lease holds, the other worker sent %d", d, n)
		}
	}
	if m, ok := smtp.Received(); ok {
		t.Fatalf("delivered while the lease holds: %q", m.Subject)
	}
	now = t0.Add(lease + time.Second)
	if n := other.DeliverDue(context.Background()); n != 1 {
		t.Fatalf("after the lease the other worker sent %d, want 1", n)
	}
	if m := smtp.Next(t); m.To != "ada@example.com" || m.Subject != "Reset" {
		t.Errorf("delivered %q to %s", m.Subject, m.To)
	}
	now = t0.Add(2 * lease)
	if n := other.DeliverDue(context.Background()); n != 0 {
		t.Errorf("sent %d more", n)
	}
	if err := survivor.First(&row, e.ID).Error; err != nil {
		t.Fatal(err)
	}
	if row.Status != models.MailSent || row.Attempts != 1 {
		t.Errorf("after delivery: %s, %d attempts; want sent at the first counted attempt", row.Status, row.Attempts)
	}
	if m, ok := smtp.Received(); ok {
		t.Errorf("a second delivery: %q", m.Subject)
	}
}
