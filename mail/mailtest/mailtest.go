// Package mailtest is a real SMTP server on loopback for tests: the app sends its mail over
// SMTP as in production, and tests read each mail with its parts decoded.
package mailtest

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
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Timeout bounds the wait for one mail; it only matters when the mail never comes.
const Timeout = 10 * time.Second

// Mail is a mail as the server received it.
type Mail struct {
	From     string   // envelope sender (MAIL FROM)
	Rcpt     []string // envelope recipients (RCPT TO)
	To       string   // the envelope recipients, joined: whom the mail was delivered to
	ToHeader []string // addresses in the To header
	Subject  string
	Text     string
	HTML     string
	Via      string // the URL of the port it came in by (URL, or one from Listen)
	err      error  // a mail the server could not parse; Next fails the test with it
}

var linkRe = regexp.MustCompile(`https?://\S+`)

// Link returns the first link in the text part that starts with prefix.
func (m Mail) Link(t testing.TB, prefix string) string {
	t.Helper()
	for _, l := range linkRe.FindAllString(m.Text, -1) {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	t.Fatalf("mail %q has no link starting with %s:\n%s", m.Subject, prefix, m.Text)
	return ""
}

// Server hands every mail it accepts to a channel.
type Server struct {
	Addr  string
	mails chan Mail
	srv   *smtp.Server
	ended chan struct{} // closed when the test ends: held mails are let go

	mu    sync.Mutex
	holds map[string]chan string // recipient -> where to report the held mail
}

// Start serves SMTP on a loopback port until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{mails: make(chan Mail, 100), ended: make(chan struct{}), holds: map[string]chan string{}}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{srv: s, via: urlOf(c.Conn().LocalAddr().String())}, nil
	}))
	s.srv.Domain = "localhost"
	s.srv.ReadTimeout = Timeout
	s.srv.WriteTimeout = Timeout
	s.Addr = s.listen(t)
	t.Cleanup(func() {
		close(s.ended)
		s.srv.Close()
	})
	return s
}

func (s *Server) listen(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.srv.Serve(ln) }()
	return ln.Addr().String()
}

// Listen serves the same mailbox on one more loopback port and returns that port's URL. Processes
// given URLs of their own are told apart by Mail.Via and by what Hold reports.
func (s *Server) Listen(t testing.TB) string {
	t.Helper()
	return urlOf(s.listen(t))
}

// Hold makes the server hang on the next mail to rcpt, as a server that stopped responding: it
// takes the DATA command and never answers it, so the sender waits for a reply that does not
// come. The channel receives the URL the held mail came in by. The held mail is not delivered;
// its connection is answered with a temporary failure when the test ends.
func (s *Server) Hold(rcpt string) <-chan string {
	held := make(chan string, 1)
	s.mu.Lock()
	s.holds[rcpt] = held
	s.mu.Unlock()
	return held
}

// hold reports and removes the hold on one of rcpts, if any.
func (s *Server) hold(rcpts []string) chan string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range rcpts {
		if held, ok := s.holds[r]; ok {
			delete(s.holds, r)
			return held
		}
	}
	return nil
}

func urlOf(addr string) string { return "smtp://" + addr + "?tls=none" }

// URL is the TALLY_SMTP_URL that points the app at this server.
func (s *Server) URL() string { return urlOf(s.Addr) }

// Next waits for the next mail.
func (s *Server) Next(t testing.TB) Mail {
	t.Helper()
	select {
	case m := <-s.mails:
		if m.err != nil {
			t.Fatalf("the SMTP server got a mail it cannot read: %v", m.err)
		}
		return m
	case <-time.After(Timeout):
		t.Fatalf("no mail arrived at the SMTP server within %s", Timeout)
		return Mail{}
	}
}

// Received returns a mail that has already arrived, without waiting.
func (s *Server) Received() (Mail, bool) {
	select {
	case m := <-s.mails:
		return m, true
	default:
		return Mail{}, false
	}
}

type session struct {
	srv  *Server
	via  string
	from string
	rcpt []string
}

func (s *session) Reset()        { s.from, s.rcpt = "", nil }
func (s *session) Logout() error { return nil }

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.rcpt = append(s.rcpt, to)
	return nil
}

// Data accepts the mail whatever its content; a mail it cannot parse goes to the test as an
// error, since refusing it would only make the outbox retry later and the test time out.
func (s *session) Data(r io.Reader) error {
	if held := s.srv.hold(s.rcpt); held != nil {
		held <- s.via
		<-s.srv.ended
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "held by the test"}
	}
	m, err := parse(r)
	m.From, m.Rcpt, m.To, m.Via, m.err = s.from, s.rcpt, strings.Join(s.rcpt, ", "), s.via, err
	s.srv.mails <- m
	return nil
}

// parse reads a multipart message with a text/plain and a text/html part; mime/multipart
// undoes quoted-printable.
func parse(r io.Reader) (Mail, error) {
	var m Mail
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
		m.ToHeader = append(m.ToHeader, a.Address)
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
