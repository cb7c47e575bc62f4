package models

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"
)

func TestJPEGOrientationMalformed(t *testing.T) {
	exif := func(tiff string) []byte {
		seg := "Exif\x00\x00" + tiff
		return append([]byte{0xff, 0xd8, 0xff, 0xe1, byte((len(seg) + 2) >> 8), byte(len(seg) + 2)}, seg...)
	}
	for _, tc := range []struct {
		name string
		data []byte
		want int
	}{
		{"no segments", []byte{0xff, 0xd8}, 1},
		{"orientation 6, big endian", exif("MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00"), 6},
		{"orientation 8, little endian", exif("II\x2a\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x08\x00\x00\x00"), 8},
		{"orientation out of range", exif("MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x09\x00\x00"), 1},
		{"orientation of the wrong type", exif("MM\x00\x2a\x00\x00\x00\x08\x00\x01\x01\x12\x00\x04\x00\x00\x00\x01\x00\x06\x00\x00"), 1},
		{"IFD offset past the end", exif("MM\x00\x2a\xff\xff\xff\xf0"), 1},
		{"entry count past the end", exif("MM\x00\x2a\x00\x00\x00\x08\xff\xff"), 1},
		{"bad byte order", exif("XX\x00\x2a\x00\x00\x00\x08"), 1},
		{"segment length past the end", []byte{0xff, 0xd8, 0xff, 0xe1, 0xff, 0xff, 'E'}, 1},
		{"segment length too small", []byte{0xff, 0xd8, 0xff, 0xe1, 0x00, 0x01}, 1},
		{"garbage", []byte{0xff, 0xd8, 0x00, 0x01, 0x02, 0x03}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := jpegOrientation(tc.data); got != tc.want {
				t.Errorf("orientation = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestOrientTurnsCorners(t *testing.T) {
	// A marked top-left pixel must land where each orientation shows it.
	want := map[int]image.Point{1: {0, 0}, 2: {3, 0}, 3: {3, 3}, 4: {0, 3}, 5: {0, 0}, 6: {3, 0}, 7: {3, 3}, 8: {0, 3}}
	for o, p := range want {
		m := image.NewNRGBA(image.Rect(0, 0, 4, 4))
		m.SetNRGBA(0, 0, color.NRGBA{R: 255, A: 255})
		if got := orient(m, o).NRGBAAt(p.X, p.Y); got.R != 255 {
			t.Errorf("orientation %d: the top-left pixel is not at %v", o, p)
		}
	}
}

// FuzzProcessAvatar: whatever the bytes, an upload is processed or refused with an ImageError,
// never a panic. go test runs the seeds; go test -fuzz=FuzzProcessAvatar explores.
func FuzzProcessAvatar(f *testing.F) {
	var buf bytes.Buffer
	_ = png.Encode(&buf, image.NewGray(image.Rect(0, 0, 3, 2)))
	for _, seed := range [][]byte{buf.Bytes(), buf.Bytes()[:40], []byte("GIF89a\x01\x00\x01\x00"), []byte("RIFF\x00\x00\x00\x00WEBPVP8 "),
		{0xff, 0xd8, 0xff, 0xe1, 0x00, 0x08, 'E', 'x', 'i', 'f', 0, 0}, []byte("<svg>")} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		out, ctype, err := ProcessAvatar(data)
		var ie ImageError
		if err != nil && !errors.As(err, &ie) {
			t.Fatalf("error %v is not an ImageError", err)
		}
		if err == nil && (len(out) == 0 || ctype == "") {
			t.Fatal("accepted without a picture")
		}
	})
}

// pngHeader is a PNG that is only its header: enough for the size check, nothing to decode.
func pngHeader(w, h uint32, bitDepth, colorType byte) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = bitDepth, colorType
	chunk := append([]byte("IHDR"), ihdr...)
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func TestAvatarDecodedSizeBounded(t *testing.T) {
	// 4096×4096 passes the pixel limit, but at 16 bits a channel it decodes to 128 MiB.
	_, _, err := ProcessAvatar(pngHeader(4096, 4096, 16, 6))
	var ie ImageError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "pixels") {
		t.Fatalf("16-bit 4096×4096 PNG: err = %v, want a size refusal", err)
	}
	// 2048×2048 at 8 bits is within the limits (and fails later, having no pixel data).
	if _, _, err := ProcessAvatar(pngHeader(2048, 2048, 8, 6)); errors.As(err, &ie) && strings.Contains(err.Error(), "pixels") {
		t.Errorf("8-bit 2048×2048 refused for its size: %v", err)
	}
}
