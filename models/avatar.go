package models

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"time"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Avatar is a user's picture as Tally re-encoded it. It lives in the database, not on disk,
// so a backup of tally.db is a backup of everything.
type Avatar struct {
	UserID      uint   `gorm:"primaryKey;autoIncrement:false"`
	User        User   `gorm:"constraint:OnDelete:CASCADE" json:"-"`
	ContentType string `gorm:"size:16;not null"`
	Data        []byte `gorm:"not null"`
	// ETag is derived from Data; pages put it in the picture's URL, so a new picture is a new
	// URL and browsers may cache each one for good.
	ETag      string    `gorm:"column:etag;size:32;not null"`
	UpdatedAt time.Time `gorm:"not null"`
}

const (
	// MaxAvatarBytes is the largest upload accepted.
	MaxAvatarBytes = 2 << 20
	// AvatarSize is the side of every stored picture.
	AvatarSize = 256
	// Limits checked on the header, before any pixel is decoded: a small file can declare a
	// huge image (a decompression bomb). The decoded size is bounded too, since a 16-bit PNG
	// takes 8 bytes a pixel.
	maxAvatarSide    = 8192
	maxAvatarPixels  = 16 << 20
	maxDecodedAvatar = 64 << 20
)

// bytesPerPixel is what the decoder allocates per pixel for a colour model.
func bytesPerPixel(m color.Model) int {
	switch m {
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	case color.Gray16Model:
		return 2
	case color.GrayModel, color.AlphaModel:
		return 1
	}
	return 4
}

// ImageError is a reason an upload is refused, written for the user.
type ImageError string

func (e ImageError) Error() string { return string(e) }

// Reasons an upload is refused.
const (
	ErrImageSVG     ImageError = "SVG pictures are not accepted, because they can carry scripts. Upload a PNG, JPEG, GIF or WebP picture instead."
	ErrImageFormat  ImageError = "This file is not a PNG, JPEG, GIF or WebP picture."
	ErrImageCorrupt ImageError = "This picture is damaged or incomplete, so it cannot be read."
	ErrImageEmpty   ImageError = "This file is empty."
)

// decodeSlots bounds how many pictures are decoded at once: each may take up to 64 MiB and
// half a second of CPU.
var decodeSlots = make(chan struct{}, 2)

type imageCodec struct {
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

var codecs = map[string]imageCodec{
	"png":  {png.DecodeConfig, png.Decode},
	"jpeg": {jpeg.DecodeConfig, jpeg.Decode},
	"gif":  {gif.DecodeConfig, gif.Decode}, // the first frame of an animation
	"webp": {webp.DecodeConfig, webp.Decode},
}

// sniffImage names the format of b from its first bytes, whatever the file is called.
func sniffImage(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(b, []byte{0xff, 0xd8, 0xff}):
		return "jpeg"
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return "gif"
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return "webp"
	}
	return ""
}

// looksLikeSVG recognises SVG (XML) so the refusal can say why.
func looksLikeSVG(b []byte) bool {
	head := bytes.ToLower(b[:min(len(b), 4096)])
	head = bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n")
	return bytes.HasPrefix(head, []byte("<")) && bytes.Contains(head, []byte("<svg"))
}

// ProcessAvatar turns an upload into the stored picture: the format is recognised by content,
// the dimensions are checked before decoding, and the picture is cropped to a centred square,
// scaled to AvatarSize and encoded anew. Only pixels survive: metadata, trailing data and
// anything else a polyglot file hides are left behind. Opaque pictures become JPEG, pictures
// with transparency PNG.
func ProcessAvatar(data []byte) (out []byte, contentType string, err error) {
	if len(data) == 0 {
		return nil, "", ErrImageEmpty
	}
	format := sniffImage(data)
	if format == "" {
		if looksLikeSVG(data) {
			return nil, "", ErrImageSVG
		}
		return nil, "", ErrImageFormat
	}
	codec := codecs[format]
	cfg, err := codec.config(bytes.NewReader(data))
	if err != nil {
		return nil, "", ErrImageCorrupt
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > maxAvatarSide || cfg.Height > maxAvatarSide ||
		cfg.Width*cfg.Height > maxAvatarPixels || cfg.Width*cfg.Height*bytesPerPixel(cfg.ColorModel) > maxDecodedAvatar {
		return nil, "", ImageError(fmt.Sprintf("This picture is %d×%d pixels; pictures may have at most %d pixels a side and %d megapixels in all.",
			cfg.Width, cfg.Height, maxAvatarSide, maxAvatarPixels>>20))
	}
	dst, err := decodeThumbnail(codec, data)
	if err != nil {
		return nil, "", ErrImageCorrupt
	}
	if format == "jpeg" {
		dst = orient(dst, jpegOrientation(data))
	}
	var buf bytes.Buffer
	if dst.Opaque() {
		err, contentType = jpeg.Encode(&buf, dst, &jpeg.Options{Quality: 88}), "image/jpeg"
	} else {
		err, contentType = (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, dst), "image/png"
	}
	return buf.Bytes(), contentType, err
}

// decodeThumbnail decodes and scales while holding one of decodeSlots: at most that many
// full-size pictures are in use at once.
func decodeThumbnail(codec imageCodec, data []byte) (*image.NRGBA, error) {
	decodeSlots <- struct{}{}
	defer func() { <-decodeSlots }()
	src, err := codec.decode(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return squareThumbnail(src, AvatarSize), nil
}

// squareThumbnail crops the centred square of src and scales it to size×size.
func squareThumbnail(src image.Image, size int) *image.NRGBA {
	b := src.Bounds()
	side := min(b.Dx(), b.Dy())
	x0, y0 := b.Min.X+(b.Dx()-side)/2, b.Min.Y+(b.Dy()-side)/2
	dst := image.NewNRGBA(image.Rect(0, 0, size, size))
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, image.Rect(x0, y0, x0+side, y0+side), draw.Src, nil)
	return dst
}

// orient applies an EXIF orientation (1-8) to a square picture, so a phone photo taken on its
// side is shown upright once its metadata is gone.
func orient(m *image.NRGBA, o int) *image.NRGBA {
	if o < 2 || o > 8 {
		return m
	}
	n := m.Bounds().Dx()
	out := image.NewNRGBA(m.Bounds())
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			// (sx, sy) is the stored pixel shown at (x, y).
			sx, sy := x, y
			switch o {
			case 2:
				sx = n - 1 - x
			case 3:
				sx, sy = n-1-x, n-1-y
			case 4:
				sy = n - 1 - y
			case 5:
				sx, sy = y, x
			case 6:
				sx, sy = y, n-1-x
			case 7:
				sx, sy = n-1-y, n-1-x
			case 8:
				sx, sy = n-1-y, x
			}
			out.SetNRGBA(x, y, m.NRGBAAt(sx, sy))
		}
	}
	return out
}

// jpegOrientation reads the EXIF orientation tag of a JPEG, or 1 when there is none.
func jpegOrientation(b []byte) int {
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xff {
			return 1
		}
		marker := b[i+1]
		switch {
		case marker == 0xff: // fill byte
			i++
			continue
		case marker == 0x01 || marker >= 0xd0 && marker <= 0xd8:
			i += 2
			continue
		case marker == 0xda || marker == 0xd9: // image data starts: no more metadata
			return 1
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return 1
		}
		if seg := b[i+4 : i+2+n]; marker == 0xe1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return tiffOrientation(seg[6:])
		}
		i += 2 + n
	}
	return 1
}

// tiffOrientation finds tag 0x0112 in the first IFD of a TIFF block.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	off := int64(bo.Uint32(t[4:]))
	if bo.Uint16(t[2:]) != 42 || off < 8 || off+2 > int64(len(t)) {
		return 1
	}
	count := int(bo.Uint16(t[off:]))
	for k := 0; k < count; k++ {
		e := int(off) + 2 + 12*k
		if e+12 > len(t) {
			return 1
		}
		if bo.Uint16(t[e:]) == 0x0112 && bo.Uint16(t[e+2:]) == 3 {
			if v := int(bo.Uint16(t[e+8:])); v >= 1 && v <= 8 {
				return v
			}
			return 1
		}
	}
	return 1
}

// SaveAvatar stores (or replaces) a processed picture.
func SaveAvatar(db *gorm.DB, userID uint, contentType string, data []byte, now time.Time) (*Avatar, error) {
	sum := sha256.Sum256(data)
	a := &Avatar{UserID: userID, ContentType: contentType, Data: data, ETag: hex.EncodeToString(sum[:12]), UpdatedAt: now}
	err := db.Omit("User").Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "user_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"content_type", "data", "etag", "updated_at"}),
	}).Create(a).Error
	return a, err
}

// FindAvatar returns the user's picture, or ErrNotFound.
func FindAvatar(db *gorm.DB, userID uint) (*Avatar, error) {
	var as []Avatar
	if err := db.Where("user_id = ?", userID).Limit(1).Find(&as).Error; err != nil {
		return nil, err
	}
	if len(as) == 0 {
		return nil, ErrNotFound
	}
	return &as[0], nil
}

// AvatarVersion is the ETag of the user's picture without loading it, or "" when there is none.
func AvatarVersion(db *gorm.DB, userID uint) (string, error) {
	var tags []string
	err := db.Model(&Avatar{}).Where("user_id = ?", userID).Limit(1).Pluck("etag", &tags).Error
	if err != nil || len(tags) == 0 {
		return "", err
	}
	return tags[0], nil
}

// DeleteAvatar removes the user's picture; removing none is not an error.
func DeleteAvatar(db *gorm.DB, userID uint) error {
	return db.Where("user_id = ?", userID).Delete(&Avatar{}).Error
}
