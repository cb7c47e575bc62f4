package e2e

import (
	"bytes"
	"fmt"
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

// mailTimeout bounds the wait for one mail; it only matters when the mail never comes.
const mailTimeout = 10 * time.Second

// sentMail is a mail as the SMTP server received it, its parts decoded.
type sentMail struct {
	From     string   // envelope sender (MAIL FROM)
	Rcpt     []string // envelope recipients (RCPT TO)
	To       []string // addresses in the To header
	Subject  string
	Text     string
	HTML     string
	parseErr error // a mail the server could not parse; nextMail fails the test with it
}

var linkRe = regexp.MustCompile(`https?://\S+`)

// link returns the first link in the text part that starts with prefix.
func (m sentMail) link(t *testing.T, prefix string) string {
	t.Helper()
	for _, l := range linkRe.FindAllString(m.Text, -1) {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	t.Fatalf("mail %q has no link starting with %s:\n%s", m.Subject, prefix, m.Text)
	return ""
}

// mailServer is a real SMTP server on loopback that hands every mail it accepts to a channel.
type mailServer struct {
	addr  string
	mails chan sentMail
}

// startMailServer serves SMTP on a loopback port until the test ends.
func startMailServer(t *testing.T) *mailServer {
	t.Helper()
	s := &mailServer{mails: make(chan sentMail, 100)}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &mailSession{srv: s}, nil
	}))
	srv.Domain = "localhost"
	srv.ReadTimeout = mailTimeout
	srv.WriteTimeout = mailTimeout
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return s
}

// nextMail waits for the next mail the app sends.
func (e *env) nextMail(t *testing.T) sentMail {
	t.Helper()
	select {
	case m := <-e.mail.mails:
		if m.parseErr != nil {
			t.Fatalf("the SMTP server got a mail it cannot read: %v", m.parseErr)
		}
		return m
	case <-time.After(mailTimeout):
		t.Fatalf("no mail arrived at the SMTP server within %s", mailTimeout)
		return sentMail{}
	}
}

type mailSession struct {
	srv  *mailServer
	from string
	rcpt []string
}

func (s *mailSession) Reset()        { s.from, s.rcpt = "", nil }
func (s *mailSession) Logout() error { return nil }

func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.rcpt = append(s.rcpt, to)
	return nil
}

// Data accepts the mail whatever its content; a mail it cannot parse goes to the test as an
// error, since refusing it would only make the outbox retry later and the test time out.
func (s *mailSession) Data(r io.Reader) error {
	m, err := parseMail(r)
	m.From, m.Rcpt, m.parseErr = s.from, s.rcpt, err
	s.srv.mails <- m
	return nil
}

// parseMail reads a message with a text/plain and a text/html part, in a multipart body or
// alone; mime/multipart undoes quoted-printable.
func parseMail(r io.Reader) (sentMail, error) {
	var m sentMail
	msg, err := mail.ReadMessage(r)
	if err != nil {
		return m, err
	}
	dec := new(mime.WordDecoder)
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return m, fmt.Errorf("Subject: %w", err)
	}
	to, err := msg.Header.AddressList("To")
	if err != nil {
		return m, fmt.Errorf("To: %w", err)
	}
	for _, a := range to {
		m.To = append(m.To, a.Address)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return m, fmt.Errorf("Content-Type: %w", err)
	}
	if !strings.HasPrefix(mediaType, "multipart/") {
		return m, fmt.Errorf("Content-Type %s, want a multipart mail with text and HTML", mediaType)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		} else if err != nil {
			return m, err
		}
		var buf bytes.Buffer
		if _, err := io.Copy(&buf, p); err != nil {
			return m, err
		}
		partType, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch partType {
		case "text/plain":
			m.Text = buf.String()
		case "text/html":
			m.HTML = buf.String()
		}
	}
	if m.Text == "" {
		return m, fmt.Errorf("no text/plain part")
	}
	return m, nil
}
