package views

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"

	"github.com/a-h/templ"
)

// Stencil is a component rendered once and written out again for many requests, with holes
// where each request's CSRF token goes: a page that is the same for every session of a user
// but for its forms' tokens (a register page) is rendered once per change of its data, and
// never hands one session's token to another.
type Stencil struct {
	html  []byte
	holes []int // offsets in html where the token goes, ascending
}

// stencilHole stands for the token while a stencil is rendered: random per process, so no
// data on a page can contain it, and made of letters and digits, which every escaping keeps.
var stencilHole = func() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand does not fail on supported platforms
	return "csrfhole" + hex.EncodeToString(b)
}()

// RenderStencil renders c into a stencil. c must take nothing else from ctx that differs
// between the requests the stencil will serve.
func RenderStencil(ctx context.Context, c templ.Component) (*Stencil, error) {
	var buf bytes.Buffer
	if err := c.Render(WithCSRF(ctx, stencilHole), &buf); err != nil {
		return nil, err
	}
	s := &Stencil{html: make([]byte, 0, buf.Len())}
	rest := buf.Bytes()
	for {
		i := bytes.Index(rest, []byte(stencilHole))
		if i < 0 {
			s.html = append(s.html, rest...)
			return s, nil
		}
		s.html = append(s.html, rest[:i]...)
		s.holes = append(s.holes, len(s.html))
		rest = rest[i+len(stencilHole):]
	}
}

// Size is the stencil's size in bytes, for bounding a cache of them.
func (s *Stencil) Size() int { return len(s.html) + 8*len(s.holes) }

// errStencilToken refuses a token that would need escaping: a hole may sit in an attribute or
// in JSON inside one, and the token must read the same in each.
var errStencilToken = errors.New("views: a CSRF token in a stencil must be base64url")

// Render writes the stencil with ctx's CSRF token in its holes.
func (s *Stencil) Render(ctx context.Context, w io.Writer) error {
	token := csrfToken(ctx)
	for _, r := range token {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '_') {
			return errStencilToken
		}
	}
	prev := 0
	for _, at := range s.holes {
		if _, err := w.Write(s.html[prev:at]); err != nil {
			return err
		}
		if _, err := io.WriteString(w, token); err != nil {
			return err
		}
		prev = at
	}
	_, err := w.Write(s.html[prev:])
	return err
}
