package handlers

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// sentMail is a mail as the SMTP server received it.
type sentMail struct {
	From, To, Subject, Text, HTML string
}

// Link returns the first link in the text part that starts with prefix.
func (m sentMail) Link(t testing.TB, prefix string) string {
	t.Helper()
	link := regexp.MustCompile(regexp.QuoteMeta(prefix) + `\S*`).FindString(m.Text)
	if link == "" {
		t.Fatalf("mail %q has no link starting with %s:\n%s", m.Subject, prefix, m.Text)
	}
	return link
}

// smtpServer is a real SMTP server on loopback that hands every mail to a channel.
type smtpServer struct {
	addr  string
	mails chan sentMail
}

func startSMTP(t testing.TB) *smtpServer {
	t.Helper()
	s := &smtpServer{mails: make(chan sentMail, 100)}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &smtpSession{srv: s}, nil
	}))
	srv.Domain = "localhost"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return s
}

// next waits for the next mail; the timeout only bounds a failing test.
func (s *smtpServer) next(t testing.TB) sentMail {
	t.Helper()
	select {
	case m := <-s.mails:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no mail arrived")
		return sentMail{}
	}
}

// none asserts that no further mail is waiting once the outbox has run dry.
func (s *smtpServer) none(t testing.TB, ta *testApp) {
	t.Helper()
	ta.outbox.DeliverDue(context.Background())
	select {
	case m := <-s.mails:
		t.Fatalf("unexpected mail to %s: %q", m.To, m.Subject)
	default:
	}
}

type smtpSession struct {
	srv      *smtpServer
	from, to string
}

func (s *smtpSession) Reset()        {}
func (s *smtpSession) Logout() error { return nil }
func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}
func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = to
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	dec := new(mime.WordDecoder)
	subject, _ := dec.DecodeHeader(msg.Header.Get("Subject"))
	m := sentMail{From: s.from, To: s.to, Subject: subject}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return err
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		} else if err != nil {
			return err
		}
		var buf bytes.Buffer
		_, _ = io.Copy(&buf, p)
		switch {
		case strings.HasPrefix(p.Header.Get("Content-Type"), "text/plain"):
			m.Text = buf.String()
		case strings.HasPrefix(p.Header.Get("Content-Type"), "text/html"):
			m.HTML = buf.String()
		}
	}
	s.srv.mails <- m
	return nil
}
