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
	"math"
	"slices"
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
	// huge image (a decompression bomb). 12 MiP is 4096×3072, a 12-megapixel phone photo.
	maxAvatarSide   = 8192
	maxAvatarPixels = 12 << 20
	// maxDecodedAvatar bounds what the decoder allocates, as decodeCost estimates it: the
	// picture (a 16-bit PNG takes 8 bytes a pixel), an interlaced PNG's passes, a progressive
	// JPEG's coefficients. The thumbnail takes at most 14 MiB more, so an upload costs under
	// 64 MiB.
	maxDecodedAvatar = 48 << 20
	// maxDecodeNanos bounds the CPU time decodeCost estimates for decoding, scaling and
	// encoding one upload, so that every upload is read or refused in under 200 ms of a core
	// (avatar_bounds_test.go measures the dearest of each kind). A 2 MiB 12-megapixel baseline
	// JPEG photo is estimated at ~146 ms.
	maxDecodeNanos = 150e6
	// maxJPEGScans: image/jpeg visits every block of a component in every scan of it, however
	// few bytes the scan has, and has no limit of its own: 400 empty scans of a 16-megapixel
	// picture take 14 KB and seconds of CPU. A baseline JPEG has one scan per component, a
	// progressive one ~10 (libjpeg writes 10 for colour, 18 for CMYK).
	maxJPEGScans = 32
)

// Decoding costs, in nanoseconds of the core they were measured on (a 2020s x86 server core;
// avatar_bounds_test.go builds the dearest file of each kind and checks the bound).
const (
	nsFixed         = 5e6  // bookkeeping, page faults, encoding an opaque thumbnail as JPEG
	nsPNGOut        = 20e6 // encoding a thumbnail with transparency as PNG
	nsPerFiltered   = 15   // the thumbnail filter, per pixel of its (at most 1023²) input
	nsPerCropped    = 3.5  // averaging the centred square down, per pixel (YCbCr and grey: 2.5)
	nsPerJPEGByte   = 25   // Huffman decoding: at worst ~3 ns a bit
	nsPerJPEGBlock  = 200  // decoding an 8×8 block of a baseline scan, and its inverse DCT
	nsPerJPEGVisit  = 20   // visiting a block in a progressive scan, even with no data for it
	nsPerPNGByte    = 10   // inflating, per byte of the file
	nsPerPNGRawByte = 2.5  // inflating and unfiltering (Paeth), per byte of the decoded rows
	nsPerGIFPixel   = 5    // LZW decoding, palette checks, de-interlacing
	nsPerWebPPixel  = 50   // VP8L with every transform: 40-45 ns; VP8 coefficients cost alike
)

// ImageError is a reason an upload is refused, written for the user.
type ImageError string

func (e ImageError) Error() string { return string(e) }

// Reasons an upload is refused.
const (
	ErrImageSVG     ImageError = "SVG pictures are not accepted, because they can carry scripts. Upload a PNG, JPEG, GIF or WebP picture instead."
	ErrImageFormat  ImageError = "This file is not a PNG, JPEG, GIF or WebP picture."
	ErrImageCorrupt ImageError = "This picture is damaged or incomplete, so it cannot be read."
	ErrImageEmpty   ImageError = "This file is empty."
	ErrImageScans   ImageError = "This JPEG is saved in too many passes (progressive scans) to be read. Save it again as a standard JPEG and upload that."
)

// decodeSlots bounds how many pictures are decoded at once: each may take up to 64 MiB and
// 200 ms of CPU.
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
	if err := checkAvatar(codec, format, data); err != nil {
		return nil, "", err
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
		// Not BestCompression: on some pictures it takes 60 ms for 3% less.
		err, contentType = png.Encode(&buf, dst), "image/png"
	}
	return buf.Bytes(), contentType, err
}

// checkAvatar reads the header of data, and for a JPEG its segments, and refuses what would
// take more than the limits to decode: every upload is read or refused in under 200 ms of CPU
// and 64 MiB.
func checkAvatar(codec imageCodec, format string, data []byte) error {
	cfg, err := codec.config(bytes.NewReader(data))
	if err != nil {
		return ErrImageCorrupt
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > maxAvatarSide || cfg.Height > maxAvatarSide || cfg.Width*cfg.Height > maxAvatarPixels {
		return ImageError(fmt.Sprintf("This picture is %d×%d pixels; pictures may have at most %d pixels a side and %d megapixels in all.",
			cfg.Width, cfg.Height, maxAvatarSide, maxAvatarPixels>>20))
	}
	mem, nanos, err := decodeCost(format, cfg, data)
	if err != nil {
		return err
	}
	if mem > maxDecodedAvatar || nanos > maxDecodeNanos {
		return ImageError(fmt.Sprintf("This picture is %d×%d pixels, more than Tally can read in this format. A profile picture needs no more than 1000 pixels a side: save a smaller copy and upload that.",
			cfg.Width, cfg.Height))
	}
	return nil
}

// decodeCost estimates, from the header alone, the bytes the decoder of format allocates
// and the CPU time decoding and scaling data takes. Each part is an upper bound measured
// for Go's decoders: the test builds the dearest file of each kind.
func decodeCost(format string, cfg image.Config, data []byte) (mem, nanos float64, err error) {
	pixels := float64(cfg.Width) * float64(cfg.Height)
	side := float64(min(cfg.Width, cfg.Height))
	crop := side * side // what squareThumbnail averages down, then at most 1023² of it filtered
	thumb := nsFixed + nsPNGOut + nsPerCropped*crop + nsPerFiltered*min(crop, 1<<20)
	switch format {
	case "jpeg":
		mem, nanos, err = jpegCost(data)
		thumb = nsFixed + nsPerCropped*crop + nsPerFiltered*min(crop, 1<<20)
		if cfg.ColorModel == color.YCbCrModel || cfg.ColorModel == color.GrayModel {
			thumb = nsFixed + 2.5*crop + 8*min(crop, 1<<20)
		}
		return mem, nanos + thumb, err
	case "png":
		// The header (DecodeConfig has checked it): width, height, bit depth, colour type,
		// compression, filter, interlace.
		depth, ctype, interlaced := float64(data[24]), data[25], data[28] == 1
		channels := map[byte]float64{0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]
		raw := float64(cfg.Height) * (1 + math.Ceil(float64(cfg.Width)*depth*channels/8))
		mem = pixels * bytesPerPixel(cfg.ColorModel)
		nanos = thumb + nsPerPNGByte*float64(len(data)) + nsPerPNGRawByte*raw + 1.5*pixels
		if ctype == 4 { // grey with alpha becomes NRGBA pixel by pixel
			nanos += 7 * pixels
		}
		if interlaced { // each pass is decoded into an image of its own, then merged
			mem *= 2
			nanos += nsPerPNGRawByte*raw + 1.5*pixels
		}
		return mem, nanos, nil
	case "gif":
		// image/gif decodes the first frame only (gif.Decode stops there), which is at most the
		// screen's size, plus a copy if it is interlaced.
		return 2 * pixels, thumb + nsPerPNGByte*float64(len(data)) + nsPerGIFPixel*pixels, nil
	case "webp":
		mem = 4.5 * pixels                        // VP8L: NRGBA, and its transforms' tile images
		if cfg.ColorModel == color.NYCbCrAModel { // VP8X with alpha: VP8L-coded, kept beside the YCbCr
			mem = 7 * pixels
		} else if string(data[12:16]) == "VP8 " {
			mem = 1.5 * pixels // YCbCr 4:2:0
		}
		return mem, thumb + nsPerWebPPixel*pixels, nil
	}
	return math.Inf(1), math.Inf(1), nil
}

// bytesPerPixel is what the decoder allocates per pixel for a colour model.
func bytesPerPixel(m color.Model) float64 {
	switch m {
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	case color.Gray16Model:
		return 2
	case color.GrayModel, color.AlphaModel:
		return 1
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 4
}

// jpegCost walks the segments of a JPEG as image/jpeg reads them, without decoding, and
// estimates what decoding takes: Go's decoder visits every block of the components in a scan
// for each scan, whatever its size, and a progressive picture keeps 64 int32 coefficients
// (256 bytes) for every 8×8 block of every component until the last scan. It refuses more than
// maxJPEGScans scans. Where the decoder would stop at an error, the walk stops too.
func jpegCost(b []byte) (mem, nanos float64, err error) {
	type comp struct {
		id   byte
		h, v int
		used bool
	}
	var (
		comps                 []comp
		progressive, jfif     bool
		adobe                 bool
		adobeTransform        byte
		w, h, mxx, myy, scans int
	)
	nanos = nsPerJPEGByte * float64(len(b))
walk:
	for i := 2; i+1 < len(b); {
		// Between segments the decoder skips anything up to a 0xff, and "\xff\x00" (stuffed
		// data), fill bytes and restart markers have no length: this is also how it finds the
		// end of a scan's entropy-coded data.
		if b[i] != 0xff {
			j := bytes.IndexByte(b[i:], 0xff)
			if j < 0 {
				break
			}
			i += j
			continue
		}
		marker := b[i+1]
		switch {
		case marker == 0x00 || marker >= 0xd0 && marker <= 0xd7:
			i += 2
			continue
		case marker == 0xff:
			i++
			continue
		case marker == 0xd9: // end of image
			break walk
		}
		if i+4 > len(b) {
			break
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			break
		}
		seg := b[i+4 : i+2+n]
		i += 2 + n
		switch {
		case marker == 0xe0 && len(seg) >= 5:
			jfif = string(seg[:5]) == "JFIF\x00"
		case marker == 0xee && len(seg) >= 12 && string(seg[:5]) == "Adobe":
			adobe, adobeTransform = true, seg[11]
		case marker == 0xc0 || marker == 0xc1 || marker == 0xc2:
			nc := 0
			if len(seg) >= 6 {
				nc = int(seg[5])
			}
			if comps != nil || (nc != 1 && nc != 3 && nc != 4) || len(seg) != 6+3*nc {
				break walk
			}
			progressive = marker == 0xc2
			h, w = int(binary.BigEndian.Uint16(seg[1:])), int(binary.BigEndian.Uint16(seg[3:]))
			for c := range nc {
				hv := seg[7+3*c]
				comps = append(comps, comp{id: seg[6+3*c], h: max(1, int(hv>>4)), v: max(1, int(hv&15))})
			}
			if nc == 1 { // a single component is never subsampled
				comps[0].h, comps[0].v = 1, 1
			}
			mxx, myy = (w+8*comps[0].h-1)/(8*comps[0].h), (h+8*comps[0].v-1)/(8*comps[0].v)
		case marker == 0xda:
			if comps == nil || len(seg) < 1 || len(seg) != 4+2*int(seg[0]) {
				break walk
			}
			if scans++; scans > maxJPEGScans {
				return 0, 0, ErrImageScans
			}
			blocks := 0
			for c := range int(seg[0]) {
				k := slices.IndexFunc(comps, func(x comp) bool { return x.id == seg[1+2*c] })
				if k < 0 {
					break walk
				}
				comps[k].used = true
				blocks += mxx * myy * comps[k].h * comps[k].v
			}
			ss, se, ah := int(seg[len(seg)-3]), int(seg[len(seg)-2]), seg[len(seg)-1]>>4
			switch {
			case !progressive:
				nanos += nsPerJPEGBlock * float64(blocks)
			case ah != 0 && ss != 0: // refining AC coefficients goes over the whole band
				nanos += (nsPerJPEGVisit + 0.6*float64(se-ss+1)) * float64(blocks)
			default:
				nanos += nsPerJPEGVisit * float64(blocks)
			}
		case marker < 0xc0, marker >= 0xc3 && marker <= 0xcf && marker != 0xc4 && marker != 0xcc:
			break walk // arithmetic coding, lossless and the like: image/jpeg refuses them
		}
	}
	if comps == nil {
		return 0, nanos, nil
	}
	// The picture, padded to whole MCUs: grey, or YCbCr with subsampled chroma, or CMYK with
	// its fourth plane; CMYK and RGB JPEGs are then converted at 4 bytes a pixel.
	full := float64(8*comps[0].h*mxx) * float64(8*comps[0].v*myy)
	mem = full
	if len(comps) >= 3 {
		mem += 2 * full * float64(comps[1].h*comps[1].v) / float64(comps[0].h*comps[0].v)
		rgb := !jfif && (adobe && adobeTransform == 0 || comps[0].id == 'R' && comps[1].id == 'G' && comps[2].id == 'B')
		if len(comps) == 4 {
			mem += full + 4*float64(w)*float64(h)
		} else if rgb {
			mem += 4 * float64(w) * float64(h)
		}
	}
	if progressive {
		for _, c := range comps {
			if c.used {
				blocks := float64(mxx * myy * c.h * c.v)
				mem += 256 * blocks
				nanos += nsPerJPEGBlock * blocks // the inverse DCT, once all scans are in
			}
		}
	}
	return mem, nanos, nil
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

// squareThumbnail crops the centred square of src and scales it to size×size. A square more
// than four times size a side is first averaged down by a whole factor, in the source's own
// pixel layout, to between two and four times size: the filter then costs the same whatever
// the source (straight from a 12-megapixel photo it takes 180 ms of CPU and a 24 MiB buffer).
func squareThumbnail(src image.Image, size int) *image.NRGBA {
	b := src.Bounds()
	side := min(b.Dx(), b.Dy())
	k := side / (2 * size)
	if k >= 2 {
		side -= side % k
	}
	x0, y0 := b.Min.X+(b.Dx()-side)/2, b.Min.Y+(b.Dy()-side)/2
	sr := image.Rect(x0, y0, x0+side, y0+side)
	if k >= 2 {
		src = boxShrink(src, sr, k)
		sr = src.Bounds()
	}
	dst := image.NewNRGBA(image.Rect(0, 0, size, size))
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, sr, draw.Src, nil)
	return dst
}

// boxShrink averages each k×k square of r, a square in src, into one pixel. YCbCr stays YCbCr
// (the conversion to RGB is affine, so averaging first changes nothing), grey stays grey and
// anything else becomes premultiplied RGBA. k is at most maxAvatarSide/512, so the sums fit.
func boxShrink(src image.Image, r image.Rectangle, k int) image.Image {
	n, w := r.Dx()/k, r.Dx()
	area := uint32(k * k)
	switch s := src.(type) {
	case *image.Gray:
		out := image.NewGray(image.Rect(0, 0, n, n))
		acc := make([]uint32, n)
		for oy := range n {
			clear(acc)
			for y := r.Min.Y + oy*k; y < r.Min.Y+(oy+1)*k; y++ {
				sumRow1(acc, s.Pix[s.PixOffset(r.Min.X, y):][:w], k)
			}
			divRow(out.Pix[oy*out.Stride:][:n], acc, area)
		}
		return out
	case *image.YCbCr:
		out := image.NewYCbCr(image.Rect(0, 0, n, n), image.YCbCrSubsampleRatio444)
		// cx[i] is where the chroma of column r.Min.X+i is, from that of column r.Min.X.
		cx := make([]int, w)
		for i := range cx {
			cx[i] = s.COffset(r.Min.X+i, r.Min.Y) - s.COffset(r.Min.X, r.Min.Y)
		}
		ay, ab, ar := make([]uint32, n), make([]uint32, n), make([]uint32, n)
		for oy := range n {
			clear(ay)
			clear(ab)
			clear(ar)
			for y := r.Min.Y + oy*k; y < r.Min.Y+(oy+1)*k; y++ {
				sumRow1(ay, s.Y[s.YOffset(r.Min.X, y):][:w], k)
				c := s.COffset(r.Min.X, y)
				cb, cr := s.Cb[c:], s.Cr[c:]
				for o := range n {
					var sb, sr uint32
					for _, j := range cx[o*k : o*k+k] {
						sb += uint32(cb[j])
						sr += uint32(cr[j])
					}
					ab[o] += sb
					ar[o] += sr
				}
			}
			divRow(out.Y[oy*out.YStride:][:n], ay, area)
			divRow(out.Cb[oy*out.CStride:][:n], ab, area)
			divRow(out.Cr[oy*out.CStride:][:n], ar, area)
		}
		return out
	}
	out := image.NewRGBA(image.Rect(0, 0, n, n))
	readRow := rgbaRows(src)
	row, acc := make([]uint8, 4*w), make([]uint32, 4*n)
	for oy := range n {
		clear(acc)
		for y := r.Min.Y + oy*k; y < r.Min.Y+(oy+1)*k; y++ {
			readRow(row, r.Min.X, y)
			for o := range n {
				var sr, sg, sb, sa uint32
				for i := 4 * o * k; i < 4*(o+1)*k; i += 4 {
					sr += uint32(row[i])
					sg += uint32(row[i+1])
					sb += uint32(row[i+2])
					sa += uint32(row[i+3])
				}
				acc[4*o] += sr
				acc[4*o+1] += sg
				acc[4*o+2] += sb
				acc[4*o+3] += sa
			}
		}
		divRow(out.Pix[oy*out.Stride:][:4*n], acc, area)
	}
	return out
}

// sumRow1 adds each run of k bytes of row to one entry of acc.
func sumRow1(acc []uint32, row []uint8, k int) {
	for o := range acc {
		var t uint32
		for _, v := range row[o*k : o*k+k] {
			t += uint32(v)
		}
		acc[o] += t
	}
}

func divRow(dst []uint8, acc []uint32, area uint32) {
	for i, v := range acc {
		dst[i] = uint8((v + area/2) / area)
	}
}

// rgbaRows returns a function that reads len(row)/4 pixels of src from (x, y) into row as
// premultiplied 8-bit RGBA, directly for the layouts the decoders return.
func rgbaRows(src image.Image) func(row []uint8, x, y int) {
	switch s := src.(type) {
	case *image.RGBA:
		return func(row []uint8, x, y int) { copy(row, s.Pix[s.PixOffset(x, y):]) }
	case *image.NRGBA:
		return func(row []uint8, x, y int) {
			p := s.Pix[s.PixOffset(x, y):][:len(row)]
			for i := 0; i < len(row); i += 4 {
				if a := uint32(p[i+3]); a == 0xff {
					copy(row[i:i+4], p[i:i+4])
				} else {
					row[i], row[i+1], row[i+2], row[i+3] = premul(p[i], a), premul(p[i+1], a), premul(p[i+2], a), p[i+3]
				}
			}
		}
	case *image.Paletted:
		var pal [256][4]uint8
		for i, c := range s.Palette[:min(len(s.Palette), 256)] {
			r, g, b, a := c.RGBA()
			pal[i] = [4]uint8{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), uint8(a >> 8)}
		}
		return func(row []uint8, x, y int) {
			for i, v := range s.Pix[s.PixOffset(x, y):][:len(row)/4] {
				copy(row[4*i:4*i+4], pal[v][:])
			}
		}
	case *image.CMYK:
		return func(row []uint8, x, y int) {
			p := s.Pix[s.PixOffset(x, y):][:len(row)]
			for i := 0; i < len(row); i += 4 {
				row[i], row[i+1], row[i+2] = color.CMYKToRGB(p[i], p[i+1], p[i+2], p[i+3])
				row[i+3] = 0xff
			}
		}
	case *image.NYCbCrA:
		return func(row []uint8, x, y int) {
			for i := 0; i < len(row); i += 4 {
				yi, ci, ai := s.YOffset(x+i/4, y), s.COffset(x+i/4, y), s.AOffset(x+i/4, y)
				r, g, b := color.YCbCrToRGB(s.Y[yi], s.Cb[ci], s.Cr[ci])
				a := uint32(s.A[ai])
				row[i], row[i+1], row[i+2], row[i+3] = premul(r, a), premul(g, a), premul(b, a), s.A[ai]
			}
		}
	case *image.Gray16:
		return func(row []uint8, x, y int) {
			p := s.Pix[s.PixOffset(x, y):][:len(row)/2]
			for i := 0; i < len(row); i += 4 {
				v := p[i/2]
				row[i], row[i+1], row[i+2], row[i+3] = v, v, v, 0xff
			}
		}
	case *image.RGBA64:
		return func(row []uint8, x, y int) {
			p := s.Pix[s.PixOffset(x, y):][:2*len(row)]
			for i := 0; i < len(row); i++ {
				row[i] = p[2*i]
			}
		}
	case *image.NRGBA64:
		return func(row []uint8, x, y int) {
			p := s.Pix[s.PixOffset(x, y):][:2*len(row)]
			for i := 0; i < len(row); i += 4 {
				a := uint32(p[2*i+6])
				row[i], row[i+1], row[i+2], row[i+3] = premul(p[2*i], a), premul(p[2*i+2], a), premul(p[2*i+4], a), p[2*i+6]
			}
		}
	case image.RGBA64Image: // without At's allocation per pixel
		return func(row []uint8, x, y int) {
			for i := 0; i < len(row); i += 4 {
				c := s.RGBA64At(x+i/4, y)
				row[i], row[i+1], row[i+2], row[i+3] = uint8(c.R>>8), uint8(c.G>>8), uint8(c.B>>8), uint8(c.A>>8)
			}
		}
	}
	return func(row []uint8, x, y int) {
		for i := 0; i < len(row); i += 4 {
			r, g, b, a := src.At(x+i/4, y).RGBA()
			row[i], row[i+1], row[i+2], row[i+3] = uint8(r>>8), uint8(g>>8), uint8(b>>8), uint8(a>>8)
		}
	}
}

func premul(v uint8, a uint32) uint8 { return uint8((uint32(v)*a + 127) / 255) }

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
