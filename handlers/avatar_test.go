package handlers

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"testing"
	"time"

	"tally/models"
)

// upload posts one file as the "avatar" field of a multipart form, with the CSRF token.
func (c *client) upload(path, filename, contentType string, data []byte, headers ...string) *response {
	c.ta.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("_csrf", c.csrf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="avatar"; filename=%q`, filename))
	h.Set("Content-Type", contentType)
	p, _ := w.CreatePart(h)
	_, _ = p.Write(data)
	_ = w.Close()
	req, _ := http.NewRequest(http.MethodPost, testBase.String()+strings.TrimPrefix(path, "/"), &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	setHeaders(req, headers)
	return c.do(req)
}

// halves is a w×h picture, red on the left half and blue on the right.
func halves(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.NRGBA{R: 220, A: 255}
			if x >= w/2 {
				c = color.NRGBA{B: 220, A: 255}
			}
			m.SetNRGBA(x, y, c)
		}
	}
	return m
}

func encodePNG(t *testing.T, m image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func encodeJPEG(t *testing.T, m image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func encodeGIF(t *testing.T, m image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := gif.Encode(&buf, m, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withExif inserts an EXIF block after the JPEG's start marker: an orientation tag, and a
// secret after the IFD standing for GPS data and the like.
func withExif(jpg []byte, orientation uint16, secret string) []byte {
	var tiff bytes.Buffer
	tiff.WriteString("MM\x00\x2a")
	_ = binary.Write(&tiff, binary.BigEndian, uint32(8))
	_ = binary.Write(&tiff, binary.BigEndian, uint16(1)) // one entry
	_ = binary.Write(&tiff, binary.BigEndian, []uint16{0x0112, 3})
	_ = binary.Write(&tiff, binary.BigEndian, uint32(1))
	_ = binary.Write(&tiff, binary.BigEndian, []uint16{orientation, 0})
	_ = binary.Write(&tiff, binary.BigEndian, uint32(0)) // no next IFD
	tiff.WriteString(secret)
	seg := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	out := append([]byte{}, jpg[:2]...)
	out = append(out, 0xff, 0xe1, byte((len(seg)+2)>>8), byte(len(seg)+2))
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

// pngHeader is a PNG that declares w×h pixels and holds none: what a decompression bomb shows
// before its compressed data.
func pngHeader(w, h uint32) []byte {
	chunk := func(typ string, data []byte) []byte {
		var b bytes.Buffer
		_ = binary.Write(&b, binary.BigEndian, uint32(len(data)))
		b.WriteString(typ)
		b.Write(data)
		_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
		return b.Bytes()
	}
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 6, 0, 0, 0) // 8-bit RGBA
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, chunk("IHDR", ihdr)...)
	return append(out, chunk("IEND", nil)...)
}

// 1×1 WebP pictures, lossless (transparent) and lossy (grey): Go's libraries cannot write WebP.
var (
	webpLossless, _ = base64.StdEncoding.DecodeString("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")
	webpLossy, _    = base64.StdEncoding.DecodeString("UklGRiIAAABXRUJQVlA4IBYAAAAwAQCdASoBAAEADsD+JaQAA3AAAAAA")
)

// storedAvatar returns the stored picture decoded, failing unless it is AvatarSize square.
func storedAvatar(t *testing.T, ta *testApp, userID uint) (*models.Avatar, image.Image) {
	t.Helper()
	a, err := models.FindAvatar(ta.db, userID)
	if err != nil {
		t.Fatalf("no stored picture: %v", err)
	}
	m, format, err := image.Decode(bytes.NewReader(a.Data))
	if err != nil {
		t.Fatalf("stored picture does not decode: %v", err)
	}
	if "image/"+format != a.ContentType {
		t.Errorf("stored %s labelled %s", format, a.ContentType)
	}
	if b := m.Bounds(); b.Dx() != models.AvatarSize || b.Dy() != models.AvatarSize {
		t.Errorf("stored picture is %v", b)
	}
	return a, m
}

func near(c color.Color, r, g, b uint32) bool {
	cr, cg, cb, _ := c.RGBA()
	d := func(x, y uint32) bool { return max(x>>8, y)-min(x>>8, y) < 40 }
	return d(cr, r) && d(cg, g) && d(cb, b)
}

func TestAvatarUpload(t *testing.T) {
	ta := newTestApp(t)
	u, c := ta.signedInAda()
	c.get("/profile")

	png300 := encodePNG(t, halves(300, 200))
	transparent := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	transparent.SetNRGBA(1, 1, color.NRGBA{G: 200, A: 128})
	exact := append(append([]byte{}, png300...), bytes.Repeat([]byte{0}, models.MaxAvatarBytes-len(png300))...)
	cases := []struct {
		name, filename, ctype string
		data                  []byte
		status                int
		wantType              string // stored Content-Type
		wantErr               string // beside the file field
	}{
		{"png", "me.png", "image/png", png300, http.StatusSeeOther, "image/jpeg", ""},
		{"transparent png stays png", "me.png", "image/png", encodePNG(t, transparent), http.StatusSeeOther, "image/png", ""},
		{"jpeg", "me.jpg", "image/jpeg", encodeJPEG(t, halves(400, 300)), http.StatusSeeOther, "image/jpeg", ""},
		{"gif posing as png", "me.png", "image/png", encodeGIF(t, halves(50, 50)), http.StatusSeeOther, "image/jpeg", ""},
		{"webp lossy", "me.webp", "image/webp", webpLossy, http.StatusSeeOther, "image/jpeg", ""},
		{"webp lossless transparent", "me.webp", "image/webp", webpLossless, http.StatusSeeOther, "image/png", ""},
		{"png named .txt", "notes.txt", "text/plain", png300, http.StatusSeeOther, "image/jpeg", ""},
		{"exactly 2 MiB", "big.png", "image/png", exact, http.StatusSeeOther, "image/jpeg", ""},
		{"svg", "me.svg", "image/svg+xml", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="10" height="10"/></svg>`), http.StatusUnprocessableEntity, "", "SVG pictures are not accepted"},
		{"svg posing as png", "me.png", "image/png", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), http.StatusUnprocessableEntity, "", "SVG pictures are not accepted"},
		{"html", "me.png", "image/png", []byte(`<!doctype html><script>alert(1)</script>`), http.StatusUnprocessableEntity, "", "not a PNG, JPEG, GIF or WebP"},
		{"pdf", "me.jpg", "image/jpeg", []byte("%PDF-1.7\n..."), http.StatusUnprocessableEntity, "", "not a PNG, JPEG, GIF or WebP"},
		{"bmp", "me.bmp", "image/bmp", append([]byte("BM"), make([]byte, 100)...), http.StatusUnprocessableEntity, "", "not a PNG, JPEG, GIF or WebP"},
		{"truncated png", "me.png", "image/png", png300[:60], http.StatusUnprocessableEntity, "", "damaged"},
		{"empty file", "me.png", "image/png", nil, http.StatusUnprocessableEntity, "", "empty"},
		{"20000x20000 header", "bomb.png", "image/png", pngHeader(20000, 20000), http.StatusUnprocessableEntity, "", "20000×20000 pixels"},
		{"too many pixels", "wide.png", "image/png", pngHeader(8000, 8000), http.StatusUnprocessableEntity, "", "8000×8000"},
		// A larger body is refused by the server before any handler: TestAvatarBodyLimit.
		{"2 MiB and one byte", "big.png", "image/png", append(exact, 0), http.StatusRequestEntityTooLarge, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_ = models.DeleteAvatar(ta.db, u.ID)
			res := c.upload("/profile/avatar", tc.filename, tc.ctype, tc.data)
			wantStatus(t, res, tc.status)
			if tc.status != http.StatusSeeOther {
				if _, err := models.FindAvatar(ta.db, u.ID); err == nil {
					t.Error("a refused upload was stored")
				}
				if tc.wantErr != "" {
					if got := res.doc.Find("#avatar-file-error").Text(); !strings.Contains(got, tc.wantErr) {
						t.Errorf("error beside the file field = %q, want %q", got, tc.wantErr)
					}
					if res.doc.Find("h1").Length() != 1 {
						t.Error("without JS the error is not on the full page")
					}
				}
				return
			}
			a, _ := storedAvatar(t, ta, u.ID)
			if a.ContentType != tc.wantType {
				t.Errorf("stored as %s, want %s", a.ContentType, tc.wantType)
			}
		})
	}
}

func TestAvatarDefusesAndStrips(t *testing.T) {
	ta := newTestApp(t)
	u, c := ta.signedInAda()
	c.get("/profile")

	t.Run("polyglot", func(t *testing.T) {
		// A PNG that is also an HTML page and a ZIP archive: only its pixels survive.
		data := append(encodePNG(t, halves(80, 80)), []byte("<html><script>alert(1)</script>PK\x03\x04polyglot")...)
		wantStatus(t, c.upload("/profile/avatar", "x.png", "image/png", data), http.StatusSeeOther)
		a, _ := storedAvatar(t, ta, u.ID)
		if bytes.Contains(a.Data, []byte("script")) || bytes.Contains(a.Data, []byte("polyglot")) {
			t.Error("trailing data survived")
		}
	})
	t.Run("metadata stripped and orientation applied", func(t *testing.T) {
		// Stored red left, blue right, with orientation 6 (turn 90° clockwise to view): upright,
		// red is on top.
		data := withExif(encodeJPEG(t, halves(400, 400)), 6, "SECRET-GPS-51.5N-0.1W")
		wantStatus(t, c.upload("/profile/avatar", "x.jpg", "image/jpeg", data), http.StatusSeeOther)
		a, m := storedAvatar(t, ta, u.ID)
		if bytes.Contains(a.Data, []byte("SECRET")) || bytes.Contains(a.Data, []byte("Exif")) {
			t.Error("metadata survived")
		}
		if !near(m.At(236, 20), 220, 0, 0) || !near(m.At(20, 236), 0, 0, 220) {
			t.Errorf("orientation not applied: top right %v, bottom left %v", m.At(236, 20), m.At(20, 236))
		}
	})
	t.Run("centred square crop", func(t *testing.T) {
		// 600×200: the centred 200×200 square holds the middle of the picture, red then blue.
		wantStatus(t, c.upload("/profile/avatar", "x.png", "image/png", encodePNG(t, halves(600, 200))), http.StatusSeeOther)
		_, m := storedAvatar(t, ta, u.ID)
		if !near(m.At(10, 128), 220, 0, 0) || !near(m.At(245, 128), 0, 0, 220) {
			t.Errorf("not the centre square: left %v, right %v", m.At(10, 128), m.At(245, 128))
		}
	})
}

func TestAvatarHTMX(t *testing.T) {
	ta := newTestApp(t)
	_, c := ta.signedInAda()
	page := c.get("/profile")
	before, _ := page.doc.Find("#avatar-img").Attr("src")
	if page.doc.Find("#avatar-remove").Length() != 0 {
		t.Error("remove button without a picture")
	}
	form := page.doc.Find("form#avatar-form")
	if enc, _ := form.Attr("enctype"); enc != "multipart/form-data" {
		t.Errorf("form enctype = %q", enc)
	}
	if enc, _ := form.Attr("hx-encoding"); enc != "multipart/form-data" {
		t.Errorf("form hx-encoding = %q", enc)
	}

	res := c.upload("/profile/avatar", "x.png", "image/png", encodePNG(t, halves(40, 40)), htmx...)
	wantStatus(t, res, http.StatusOK)
	if res.doc.Find("h1").Length() != 0 || res.doc.Find("section#avatar").Length() != 1 {
		t.Fatalf("not the avatar fragment: %s", trim(res.body))
	}
	after, _ := res.doc.Find("#avatar-img").Attr("src")
	if after == before || !strings.HasPrefix(after, "/avatars/") {
		t.Errorf("picture URL %q -> %q: browsers would keep the old one", before, after)
	}
	if res.doc.Find("#avatar-remove").Length() != 1 {
		t.Error("no remove button")
	}

	res = c.upload("/profile/avatar", "x.svg", "image/svg+xml", []byte("<svg/>"), htmx...)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if res.doc.Find("section#avatar #avatar-file-error").Length() != 1 {
		t.Errorf("no inline error: %s", trim(res.body))
	}
	if inv, _ := res.doc.Find("#avatar-file").Attr("aria-invalid"); inv != "true" {
		t.Error("file field not marked invalid")
	}

	res = c.upload("/profile/avatar", "x.png", "image/png", make([]byte, models.MaxAvatarBytes+10), htmx...)
	wantStatus(t, res, http.StatusRequestEntityTooLarge)
	if got := res.doc.Find(".alert-error").Text(); !strings.Contains(got, "larger than 2 MiB") {
		t.Errorf("413 message = %q", got)
	}

	res = c.post("/profile/avatar/delete", nil, htmx...)
	wantStatus(t, res, http.StatusOK)
	if src, _ := res.doc.Find("#avatar-img").Attr("src"); src != before || res.doc.Find("#avatar-remove").Length() != 0 {
		t.Errorf("after removal: src %q (want the default %q)", src, before)
	}
}

func TestAvatarServing(t *testing.T) {
	ta := newTestApp(t)
	ada := ta.createUser("ada", "ada@example.com", goodPassword)
	bob := ta.createUser("bob", "bob@example.com", goodPassword)
	staff := ta.createUser("root", "root@example.com", goodPassword)
	ta.db.Model(staff).Update("is_staff", true)
	c := ta.client()
	c.login("ada", goodPassword)
	adaURL := "/avatars/" + strconv.Itoa(int(ada.ID))

	t.Run("default picture", func(t *testing.T) {
		src, _ := c.get("/profile").doc.Find("#avatar-img").Attr("src")
		res := c.get(src)
		wantStatus(t, res, http.StatusOK)
		if ct := res.Header.Get("Content-Type"); ct != "image/svg+xml" {
			t.Errorf("Content-Type = %q", ct)
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'none'") || strings.Contains(csp, "script") {
			t.Errorf("CSP = %q", csp)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Error("no nosniff")
		}
		if !strings.Contains(res.body, ">AL</text>") {
			t.Errorf("no initials: %s", res.body)
		}
	})
	t.Run("initials are escaped", func(t *testing.T) {
		ta.db.Model(bob).Updates(map[string]any{"first_name": "<b", "last_name": "&x"})
		bc := ta.client()
		bc.login("bob", goodPassword)
		res := bc.get("/avatars/" + strconv.Itoa(int(bob.ID)))
		wantStatus(t, res, http.StatusOK)
		if !strings.Contains(res.body, "&lt;&amp;") {
			t.Errorf("initials not escaped: %s", res.body)
		}
		d := xml.NewDecoder(strings.NewReader(res.body))
		for {
			if _, err := d.Token(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("not well-formed SVG: %v", err)
			}
		}
	})

	wantStatus(t, c.upload("/profile/avatar", "x.jpg", "image/jpeg", encodeJPEG(t, halves(300, 300))), http.StatusSeeOther)
	src, _ := c.get("/profile").doc.Find("#avatar-img").Attr("src")
	a, _ := storedAvatar(t, ta, ada.ID)
	t.Run("uploaded picture", func(t *testing.T) {
		res := c.get(src)
		wantStatus(t, res, http.StatusOK)
		for h, want := range map[string]string{
			"Content-Type": "image/jpeg", "X-Content-Type-Options": "nosniff", "ETag": `"` + a.ETag + `"`,
			"Cache-Control": "private, max-age=31536000, immutable",
		} {
			if got := res.Header.Get(h); got != want {
				t.Errorf("%s = %q, want %q", h, got, want)
			}
		}
		if res.body != string(a.Data) {
			t.Error("served bytes differ from the stored picture")
		}
		if src != adaURL+"?v="+a.ETag {
			t.Errorf("page URL %q is not versioned by the ETag", src)
		}
		stale := c.get(adaURL + "?v=old")
		if cc := stale.Header.Get("Cache-Control"); cc != "private, no-cache" {
			t.Errorf("unversioned Cache-Control = %q", cc)
		}
		again := c.get(src, "If-None-Match", res.Header.Get("ETag"))
		wantStatus(t, again, http.StatusNotModified)
		if len(again.body) != 0 {
			t.Error("304 with a body")
		}
	})
	t.Run("only the owner and staff", func(t *testing.T) {
		bc := ta.client()
		bc.login("bob", goodPassword)
		for _, p := range []string{adaURL, adaURL + "?v=" + a.ETag, "/avatars/999", "/avatars/x", "/avatars/-1"} {
			wantStatus(t, bc.get(p), http.StatusNotFound)
		}
		// Bob's upload and removal are his own.
		bc.get("/profile")
		wantStatus(t, bc.upload("/profile/avatar", "x.png", "image/png", encodePNG(t, halves(30, 30))), http.StatusSeeOther)
		wantStatus(t, bc.post("/profile/avatar/delete", nil), http.StatusSeeOther)
		if after, _ := storedAvatar(t, ta, ada.ID); !bytes.Equal(after.Data, a.Data) {
			t.Error("bob changed ada's picture")
		}
		sc := ta.client()
		sc.login("root", goodPassword)
		wantStatus(t, sc.get(adaURL), http.StatusOK)
	})
	t.Run("remove", func(t *testing.T) {
		c.get("/profile")
		res := c.post("/profile/avatar/delete", nil)
		wantStatus(t, res, http.StatusSeeOther)
		if _, err := models.FindAvatar(ta.db, ada.ID); err == nil {
			t.Fatal("picture still stored")
		}
		if ct := c.get(adaURL).Header.Get("Content-Type"); ct != "image/svg+xml" {
			t.Errorf("after removal Content-Type = %q", ct)
		}
		if !strings.Contains(c.get("/profile").doc.Find("#alerts").Text(), "removed") {
			t.Error("no confirmation")
		}
	})
}

// TestAvatarBodyLimit shows a 3 MiB upload refused by the server on its announced size, before
// the body is read, and a 3 MiB body without a length refused once the limit is passed.
func TestAvatarBodyLimit(t *testing.T) {
	ta := newTestApp(t)
	host := strings.TrimPrefix(ta.listen(), "http://")
	body := bytes.Repeat([]byte("x"), appBodyLimit+64<<10)
	for _, tc := range []struct {
		name    string
		headers string
		send    []byte
	}{
		{"announced", fmt.Sprintf("Content-Length: %d\r\n", len(body)), nil},
		{"chunked", "Transfer-Encoding: chunked\r\n", body},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", host)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "POST /profile/avatar HTTP/1.1\r\nHost: %s\r\nContent-Type: multipart/form-data; boundary=b\r\n%s\r\n", host, tc.headers)
			go func() {
				// The server stops reading at the limit; writes after that fail, which is the point.
				for rest := tc.send; len(rest) > 0; rest = rest[min(len(rest), 64<<10):] {
					if _, err := fmt.Fprintf(conn, "%x\r\n%s\r\n", min(len(rest), 64<<10), rest[:min(len(rest), 64<<10)]); err != nil {
						return
					}
				}
			}()
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusRequestEntityTooLarge {
				t.Errorf("status %d, want 413", res.StatusCode)
			}
		})
	}
}
