//go:build linux

package models

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"runtime"
	"syscall"
	"testing"
	"time"

	xdraw "golang.org/x/image/draw"
)

// ---- Measuring one call ----

// rusageThread is RUSAGE_THREAD (Linux): the CPU time of the calling thread only.
const rusageThread = 1

func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type cost struct {
	cpu   time.Duration
	alloc uint64
}

// measure runs f on a locked OS thread and returns that thread's CPU time and the bytes f
// allocated. Decoding runs on the calling goroutine, so its thread does the work (and the
// garbage collector's assists); a collection left over from earlier is done first.
func measure(f func()) cost {
	runtime.GC()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	t0 := threadCPU()
	f()
	t1 := threadCPU()
	runtime.ReadMemStats(&m1)
	return cost{cpu: t1 - t0, alloc: m1.TotalAlloc - m0.TotalAlloc}
}

// ---- Building JPEGs by hand ----

func jpegSeg(marker byte, payload ...byte) []byte {
	return append([]byte{0xff, marker, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}, payload...)
}

type jpegComp struct{ id, hv, tq byte }

func jpegSOF(marker byte, w, h int, comps ...jpegComp) []byte {
	p := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), byte(len(comps))}
	for _, c := range comps {
		p = append(p, c.id, c.hv, c.tq)
	}
	return jpegSeg(marker, p...)
}

// jpegDHT is a table whose codes all have the length n: symbols[i] gets the code i.
func jpegDHT(class, id byte, n int, symbols []byte) []byte {
	p := make([]byte, 17, 17+len(symbols))
	p[0] = class<<4 | id
	p[n] = byte(len(symbols))
	return jpegSeg(0xc4, append(p, symbols...)...)
}

func jpegDQT(q [64]byte) []byte { return jpegSeg(0xdb, append([]byte{0}, q[:]...)...) }

// jpegSOS starts a scan of the components ids (each with DC table 0 and AC table 0).
func jpegSOS(ss, se, ahal byte, ids ...byte) []byte {
	p := []byte{byte(len(ids))}
	for _, id := range ids {
		p = append(p, id, 0x00)
	}
	return jpegSeg(0xda, append(p, ss, se, ahal)...)
}

type bitWriter struct {
	out []byte
	acc uint32
	n   uint
}

func (w *bitWriter) put(code uint32, n uint) {
	for i := n; i > 0; i-- {
		w.acc = w.acc<<1 | code>>(i-1)&1
		if w.n++; w.n == 8 {
			w.out = append(w.out, byte(w.acc))
			if byte(w.acc) == 0xff {
				w.out = append(w.out, 0)
			}
			w.acc, w.n = 0, 0
		}
	}
}

func (w *bitWriter) flush() []byte {
	if w.n > 0 {
		w.put(0xff, 8-w.n)
	}
	return w.out
}

var soi, eoi = []byte{0xff, 0xd8}, []byte{0xff, 0xd9}

func ones() (q [64]byte) {
	for i := range q {
		q[i] = 1
	}
	return q
}

// progressiveScanBomb is the review's CPU bomb: a progressive greyscale w×h JPEG with n AC
// scans, each covering every block with a few end-of-band runs of 32,767 blocks, so each scan
// takes ~17 bytes but makes the decoder visit every block.
func progressiveScanBomb(w, h, n int) []byte {
	b := append([]byte{}, soi...)
	b = append(b, jpegDQT(ones())...)
	b = append(b, jpegSOF(0xc2, w, h, jpegComp{1, 0x11, 0})...)
	b = append(b, jpegDHT(1, 0, 1, []byte{0xe0})...) // one 1-bit code: EOBRUN of 2^14 + 14 bits
	blocks := ((w + 7) / 8) * ((h + 7) / 8)
	var data bitWriter
	for covered := 0; covered < blocks; covered += 32767 {
		data.put(0, 1)
		data.put(0x3fff, 14)
	}
	scan := data.flush()
	for range n {
		b = append(b, jpegSOS(1, 63, 0, 1)...)
		b = append(b, scan...)
	}
	return append(b, eoi...)
}

// progressiveMemoryBomb is the review's memory bomb: a progressive 4:4:4 colour w×h JPEG
// header and one scan with no data. The decoder allocates the picture and a 256-byte
// coefficient block per 8×8 block per component before it notices the data is missing.
func progressiveMemoryBomb(w, h int) []byte {
	b := append([]byte{}, soi...)
	b = append(b, jpegDQT(ones())...)
	b = append(b, jpegSOF(0xc2, w, h, jpegComp{1, 0x11, 0}, jpegComp{2, 0x11, 0}, jpegComp{3, 0x11, 0})...)
	b = append(b, jpegDHT(0, 0, 1, []byte{0})...)
	b = append(b, jpegSOS(0, 0, 0, 1, 2, 3)...)
	return append(b, eoi...)
}

// baselineScanBomb is a sequential greyscale w×h JPEG with n scans of the same component:
// each block costs 2 bits (a zero DC difference and an end of block) but a full inverse DCT.
func baselineScanBomb(w, h, n int) []byte {
	b := append([]byte{}, soi...)
	b = append(b, jpegDQT(ones())...)
	b = append(b, jpegSOF(0xc0, w, h, jpegComp{1, 0x11, 0})...)
	b = append(b, jpegDHT(0, 0, 1, []byte{0})...)
	b = append(b, jpegDHT(1, 0, 1, []byte{0})...)
	blocks := ((w + 7) / 8) * ((h + 7) / 8)
	scan := make([]byte, (2*blocks+7)/8)
	for range n {
		b = append(b, jpegSOS(0, 63, 0, 1)...)
		b = append(b, scan...)
	}
	return append(b, eoi...)
}

// flatBaseline is a sequential JPEG of w×h in one interleaved scan whose blocks are all flat:
// the cheapest file of that size that is nothing but a normal JPEG.
func flatBaseline(w, h int, hv byte) []byte {
	b := append([]byte{}, soi...)
	b = append(b, jpegDQT(ones())...)
	b = append(b, jpegSOF(0xc0, w, h, jpegComp{1, hv, 0}, jpegComp{2, 0x11, 0}, jpegComp{3, 0x11, 0})...)
	b = append(b, jpegDHT(0, 0, 1, []byte{0})...)
	b = append(b, jpegDHT(1, 0, 1, []byte{0})...)
	hs, vs := int(hv>>4), int(hv&15)
	mcus := ((w + 8*hs - 1) / (8 * hs)) * ((h + 8*vs - 1) / (8 * vs))
	b = append(b, jpegSOS(0, 63, 0, 1, 2, 3)...)
	b = append(b, make([]byte, (2*mcus*(hs*vs+2)+7)/8)...)
	return append(b, eoi...)
}

// ---- A small progressive JPEG encoder (spectral selection only), for legitimate files ----

var zigzag = [64]int{ // natural index of the k-th coefficient in zig-zag order
	0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
}

// acSymbols are the baseline AC symbols: end of block, sixteen zeros, and run/size pairs.
var acSymbols = func() []byte {
	s := []byte{0x00, 0xf0}
	for r := 0; r < 16; r++ {
		for c := 1; c <= 10; c++ {
			s = append(s, byte(r<<4|c))
		}
	}
	return s
}()

func category(v int) (uint, uint32) {
	a, s := v, uint(0)
	if a < 0 {
		a = -a
	}
	for a > 0 {
		a >>= 1
		s++
	}
	if v < 0 {
		return s, uint32(v + (1 << s) - 1)
	}
	return s, uint32(v)
}

var dctCos = func() (c [8][8]float64) {
	for x := range 8 {
		for u := range 8 {
			c[x][u] = math.Cos(float64(2*x+1) * float64(u) * math.Pi / 16)
			if u == 0 {
				c[x][u] *= math.Sqrt2 / 2
			}
		}
	}
	return c
}()

// fdct quantises the 8×8 block at (bx, by) of a plane (edges repeated) into zig-zag order.
func fdct(plane []byte, stride, pw, ph, bx, by int, q *[64]byte) (out [64]int) {
	var s, t [8][8]float64
	for y := range 8 {
		for x := range 8 {
			px, py := min(bx*8+x, pw-1), min(by*8+y, ph-1)
			s[y][x] = float64(plane[py*stride+px]) - 128
		}
	}
	for y := range 8 {
		for u := range 8 {
			var a float64
			for x := range 8 {
				a += s[y][x] * dctCos[x][u]
			}
			t[y][u] = a / 2
		}
	}
	for k, n := range zigzag {
		u, v := n%8, n/8
		var a float64
		for y := range 8 {
			a += t[y][u] * dctCos[y][v]
		}
		out[k] = int(math.Round(a / 2 / float64(q[n])))
	}
	return out
}

// encodeProgressive writes img as a progressive YCbCr JPEG (4:2:0 when sub, else 4:4:4) in
// seven scans: the DC of all components, then bands 1-5 and 6-63 of each component.
func encodeProgressive(img image.Image, sub bool) []byte {
	bnd := img.Bounds()
	w, h := bnd.Dx(), bnd.Dy()
	var q [64]byte
	for i := range q {
		q[i] = byte(4 + i/4) // a fine table: ~quality 90
	}
	planes := [3][]byte{make([]byte, w*h), make([]byte, w*h), make([]byte, w*h)}
	for y := range h {
		for x := range w {
			r, g, b, _ := img.At(bnd.Min.X+x, bnd.Min.Y+y).RGBA()
			yy, cb, cr := color.RGBToYCbCr(uint8(r>>8), uint8(g>>8), uint8(b>>8))
			planes[0][y*w+x], planes[1][y*w+x], planes[2][y*w+x] = yy, cb, cr
		}
	}
	hv0, cw, ch := byte(0x11), w, h
	if sub {
		hv0, cw, ch = 0x22, (w+1)/2, (h+1)/2
		for c := 1; c < 3; c++ {
			p := make([]byte, cw*ch)
			for y := range ch {
				for x := range cw {
					x1, y1 := min(2*x+1, w-1), min(2*y+1, h-1)
					s := int(planes[c][2*y*w+2*x]) + int(planes[c][2*y*w+x1]) + int(planes[c][y1*w+2*x]) + int(planes[c][y1*w+x1])
					p[y*cw+x] = byte((s + 2) / 4)
				}
			}
			planes[c] = p
		}
	}
	hs := int(hv0 >> 4)
	mxx, myy := (w+8*hs-1)/(8*hs), (h+8*hs-1)/(8*hs)
	type compInfo struct {
		plane          []byte
		pw, ph, hv     int
		coef           [][64]int
		bw, bh, stride int // blocks inside the component, and the padded row of blocks
	}
	comps := [3]*compInfo{{plane: planes[0], pw: w, ph: h, hv: hs}, {plane: planes[1], pw: cw, ph: ch, hv: 1}, {plane: planes[2], pw: cw, ph: ch, hv: 1}}
	for _, c := range comps {
		c.stride = mxx * c.hv
		c.coef = make([][64]int, c.stride*myy*c.hv)
		c.bw, c.bh = (c.pw+7)/8, (c.ph+7)/8
		for by := range myy * c.hv {
			for bx := range c.stride {
				c.coef[by*c.stride+bx] = fdct(c.plane, c.pw, c.pw, c.ph, bx, by, &q)
			}
		}
	}
	out := append([]byte{}, soi...)
	out = append(out, jpegDQT(q)...)
	out = append(out, jpegSOF(0xc2, w, h, jpegComp{1, hv0, 0}, jpegComp{2, 0x11, 0}, jpegComp{3, 0x11, 0})...)
	out = append(out, jpegDHT(0, 0, 4, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})...)
	out = append(out, jpegDHT(1, 0, 8, acSymbols)...)
	acCode := map[byte]uint32{}
	for i, s := range acSymbols {
		acCode[s] = uint32(i)
	}
	// The DC scan, interleaved in MCUs.
	var bw bitWriter
	var pred [3]int
	for my := range myy {
		for mx := range mxx {
			for ci, c := range comps {
				for j := range c.hv * c.hv {
					bx, by := mx*c.hv+j%c.hv, my*c.hv+j/c.hv
					v := c.coef[by*c.stride+bx][0]
					s, bits := category(v - pred[ci])
					pred[ci] = v
					bw.put(uint32(s), 4)
					bw.put(bits, s)
				}
			}
		}
	}
	out = append(out, jpegSOS(0, 0, 0, 1, 2, 3)...)
	out = append(out, bw.flush()...)
	for _, band := range [][2]int{{1, 5}, {6, 63}} {
		for ci, c := range comps {
			var bw bitWriter
			for by := range c.bh {
				for bx := range c.bw {
					z := c.coef[by*c.stride+bx]
					run := 0
					for k := band[0]; k <= band[1]; k++ {
						if z[k] == 0 {
							run++
							continue
						}
						for ; run > 15; run -= 16 {
							bw.put(acCode[0xf0], 8)
						}
						s, bits := category(z[k])
						bw.put(acCode[byte(run<<4)|byte(s)], 8)
						bw.put(bits, s)
						run = 0
					}
					if run > 0 {
						bw.put(acCode[0], 8)
					}
				}
			}
			out = append(out, jpegSOS(byte(band[0]), byte(band[1]), 0, byte(ci+1))...)
			out = append(out, bw.flush()...)
		}
	}
	return append(out, eoi...)
}

// photo is a photograph-like picture: smooth shapes with some grain, so that it compresses
// like a photo does.
func photo(w, h int, grain int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	seed := uint32(1)
	for y := range h {
		for x := range w {
			seed = seed*1664525 + 1013904223
			n := int(seed>>24)%(2*grain+1) - grain
			fx, fy := float64(x)/float64(w), float64(y)/float64(h)
			r := 128 + 90*math.Sin(7*fx+3*fy) + float64(n)
			g := 128 + 80*math.Sin(5*fy-2*fx+1) + float64(n)
			b := 128 + 70*math.Cos(9*fx*fy+fx) + float64(n)
			m.SetRGBA(x, y, color.RGBA{clamp8(r), clamp8(g), clamp8(b), 255})
		}
	}
	return m
}

func clamp8(v float64) uint8 { return uint8(max(0, min(255, v))) }

func baselineJPEG(t testing.TB, m image.Image, quality int) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: quality}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func pngOf(t testing.TB, m image.Image) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rawPNG is a w×h PNG of the given bit depth and colour type, Adam7-interlaced or not, whose
// rows are all zeros behind the given filter byte: it compresses ~1000:1 and costs the decoder
// a full inflate and unfilter.
func rawPNG(w, h int, depth, ctype byte, interlaced bool, filter byte) []byte {
	return rawPNGRows(w, h, depth, ctype, interlaced, filter, true)
}

// rawPNGRows is rawPNG, or without rows just its header, which is all the checks read.
func rawPNGRows(w, h int, depth, ctype byte, interlaced bool, filter byte, rows bool) []byte {
	channels := map[byte]int{0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]
	var raw bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&raw, zlib.BestSpeed)
	passes := []struct{ x0, y0, dx, dy int }{{0, 0, 1, 1}}
	if interlaced {
		passes = []struct{ x0, y0, dx, dy int }{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}}
	}
	for _, p := range passes {
		if !rows {
			break
		}
		pw, ph := (w-p.x0+p.dx-1)/p.dx, (h-p.y0+p.dy-1)/p.dy
		if pw <= 0 || ph <= 0 {
			continue
		}
		row := make([]byte, 1+(pw*channels*int(depth)+7)/8)
		row[0] = filter
		for range ph {
			zw.Write(row)
		}
	}
	zw.Close()
	chunk := func(b *bytes.Buffer, typ string, data []byte) {
		binary.Write(b, binary.BigEndian, uint32(len(data)))
		c := append([]byte(typ), data...)
		b.Write(c)
		binary.Write(b, binary.BigEndian, crc32.ChecksumIEEE(c))
	}
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(h))
	ihdr[8], ihdr[9] = depth, ctype
	if interlaced {
		ihdr[12] = 1
	}
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	chunk(&b, "IHDR", ihdr)
	if ctype == 3 {
		chunk(&b, "PLTE", make([]byte, 3<<depth))
	}
	chunk(&b, "IDAT", raw.Bytes())
	chunk(&b, "IEND", nil)
	return b.Bytes()
}

func gifOf(t testing.TB, w, h int) []byte {
	m := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{color.Black, color.White})
	var buf bytes.Buffer
	if err := gif.Encode(&buf, m, nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// vp8lBits writes a lossless WebP bitstream, least significant bit first.
type vp8lBits struct {
	out  []byte
	acc  uint64
	nacc uint
}

func (w *vp8lBits) put(v uint64, n uint) {
	w.acc |= v << w.nacc
	w.nacc += n
	for w.nacc >= 8 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
		w.nacc -= 8
	}
}

// flatWebP is a lossless WebP of w×h, all one opaque colour: every prefix code has a single
// symbol, so the pixels take no bits at all. With heavy, it also applies the predictor (mode
// 13, the dearest), cross-colour and subtract-green transforms and uses a colour cache: the
// most work per pixel the format asks of the decoder.
func flatWebP(w, h int, heavy bool) []byte {
	var bw vp8lBits
	codes := func(green uint64) {
		for i := range 5 {
			bw.put(1, 1) // simple code
			bw.put(0, 1) // one symbol
			bw.put(1, 1) // of 8 bits
			bw.put([]uint64{green, 0x40, 0x40, 0xff, 0}[i], 8)
		}
	}
	bw.put(0x2f, 8)
	bw.put(uint64(w-1), 14)
	bw.put(uint64(h-1), 14)
	bw.put(0, 1) // alpha hint
	bw.put(0, 3) // version
	if heavy {
		for _, typ := range []uint64{0, 1} { // predictor, cross colour
			bw.put(1, 1)
			bw.put(typ, 2)
			bw.put(0, 3) // 4×4 tiles
			bw.put(0, 1) // the tile image: no colour cache
			codes(13)
		}
		bw.put(1, 1)
		bw.put(2, 2) // subtract green
	}
	bw.put(0, 1) // no more transforms
	if heavy {
		bw.put(1, 1)
		bw.put(10, 4) // a colour cache of 2^10
	} else {
		bw.put(0, 1)
	}
	bw.put(0, 1) // no meta prefix codes
	codes(0x40)
	bw.put(0, 7)
	data := bw.out
	if len(data)%2 == 1 {
		data = append(data, 0)
	}
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(4+8+len(data)))
	b.WriteString("WEBPVP8L")
	binary.Write(&b, binary.LittleEndian, uint32(len(bw.out)))
	b.Write(data)
	return b.Bytes()
}

// denseBaseline is a sequential greyscale JPEG whose every coefficient is ±1, coded in 2
// bits: the most Huffman decoding per byte.
func denseBaseline(w, h int) []byte {
	b := append([]byte{}, soi...)
	b = append(b, jpegDQT(ones())...)
	b = append(b, jpegSOF(0xc0, w, h, jpegComp{1, 0x11, 0})...)
	b = append(b, jpegDHT(0, 0, 1, []byte{0})...)
	b = append(b, jpegDHT(1, 0, 1, []byte{0x01})...)
	blocks := ((w + 7) / 8) * ((h + 7) / 8)
	var bw bitWriter
	for range blocks {
		bw.put(0, 1)
		for range 63 {
			bw.put(0, 1)
			bw.put(1, 1)
		}
	}
	b = append(b, jpegSOS(0, 63, 0, 1)...)
	b = append(b, bw.flush()...)
	return append(b, eoi...)
}

// refineBomb is progressiveScanBomb with refinement scans, which go over every coefficient
// of the band in each block.
func refineBomb(w, h, n int) []byte {
	b := append([]byte{}, soi...)
	b = append(b, jpegDQT(ones())...)
	b = append(b, jpegSOF(0xc2, w, h, jpegComp{1, 0x11, 0})...)
	b = append(b, jpegDHT(1, 0, 1, []byte{0xe0})...)
	blocks := ((w + 7) / 8) * ((h + 7) / 8)
	var data bitWriter
	for covered := 0; covered < blocks; covered += 32767 {
		data.put(0, 1)
		data.put(0x3fff, 14)
	}
	scan := data.flush()
	for range n {
		b = append(b, jpegSOS(1, 63, 0x10, 1)...)
		b = append(b, scan...)
	}
	return append(b, eoi...)
}

// lossyWebP is the 1×1 lossy WebP of the handler tests, claiming w×h instead.
func lossyWebP(w, h int) []byte {
	b := []byte("RIFF\x22\x00\x00\x00WEBPVP8 \x16\x00\x00\x00\x30\x01\x00\x9d\x01\x2a\x01\x00\x01\x00\x0e\xc0\xfe\x25\xa4\x00\x03\x70\x00\x00\x00\x00")
	binary.LittleEndian.PutUint16(b[26:], uint16(w))
	binary.LittleEndian.PutUint16(b[28:], uint16(h))
	return b
}

// ---- The bounds ----

// Every upload of at most MaxAvatarBytes is read or refused within these. Timing asserts are
// flaky as a rule; this one is on CPU time, not wall time (other processes on the machine
// slow a test's clock, much less its CPU time), a refusal costs under 1 ms, 200× less, and
// the limits aim the dearest accepted file at 150 ms; a run over the bound is repeated twice
// and the least of the three taken, since contention only ever adds.
const (
	cpuBound   = 200 * time.Millisecond
	allocBound = 64 << 20
)

// processBounded runs ProcessAvatar on data, fails the test if that takes more than the
// bounds, and returns its error.
func processBounded(t *testing.T, name string, data []byte) error {
	t.Helper()
	var err error
	c := measure(func() { _, _, err = ProcessAvatar(data) })
	for i := 0; i < 2 && c.cpu >= cpuBound; i++ {
		c.cpu = min(c.cpu, measure(func() { _, _, err = ProcessAvatar(data) }).cpu)
	}
	verdict := "accepted"
	if err != nil {
		verdict = "refused: " + err.Error()
	}
	t.Logf("%-48s %8d B  %6.1f ms CPU  %5.1f MiB  %s", name, len(data), float64(c.cpu)/1e6, float64(c.alloc)/(1<<20), verdict)
	if c.cpu >= cpuBound {
		t.Errorf("%s: %v of CPU, want under %v", name, c.cpu, cpuBound)
	}
	if c.alloc >= allocBound {
		t.Errorf("%s: allocated %.1f MiB, want under %d MiB", name, float64(c.alloc)/(1<<20), allocBound>>20)
	}
	return err
}

// TestAvatarUploadBounds: the review's files, others like them within the header limits, and
// large legitimate pictures are each read or refused within the bounds.
func TestAvatarUploadBounds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds large pictures")
	}
	const (
		either = iota
		accept
		refuse
	)
	for _, tc := range []struct {
		name string
		data func() []byte
		want int
	}{
		// The review's: a few KB that cost seconds of CPU, 241 bytes that allocate 240 MiB.
		{"progressive 8192×2048, 400 empty scans", func() []byte { return progressiveScanBomb(8192, 2048, 400) }, refuse},
		{"progressive 8192×2048, 1000 empty scans", func() []byte { return progressiveScanBomb(8192, 2048, 1000) }, refuse},
		{"progressive colour 4096×4096, empty", func() []byte { return progressiveMemoryBomb(4096, 4096) }, refuse},
		// The same within the header limits.
		{"progressive 8192×1536, 400 empty scans", func() []byte { return progressiveScanBomb(8192, 1536, 400) }, refuse},
		{"progressive 8192×1536, 32 empty scans", func() []byte { return progressiveScanBomb(8192, 1536, 32) }, refuse},
		{"progressive 8192×1536, 32 refinement scans", func() []byte { return refineBomb(8192, 1536, 32) }, refuse},
		{"progressive colour 4096×3072, empty", func() []byte { return progressiveMemoryBomb(4096, 3072) }, refuse},
		{"progressive colour 2048×2048, empty", func() []byte { return progressiveMemoryBomb(2048, 2048) }, refuse},
		{"baseline 4096×3072, 31 scans of one component", func() []byte { return baselineScanBomb(4096, 3072, 31) }, refuse},
		{"baseline 4096×3072 4:4:4, flat", func() []byte { return flatBaseline(4096, 3072, 0x11) }, refuse},
		{"baseline 4096×3072 4:2:0, flat", func() []byte { return flatBaseline(4096, 3072, 0x22) }, accept},
		{"baseline 4096×2048, 2 MiB of ±1 coefficients", func() []byte { return denseBaseline(4096, 2048) }, accept},
		{"PNG 4096×4096 RGBA, Paeth", func() []byte { return rawPNG(4096, 4096, 8, 6, false, 4) }, refuse},
		{"PNG 4096×3072 RGBA, Paeth", func() []byte { return rawPNG(4096, 3072, 8, 6, false, 4) }, refuse},
		{"PNG 4096×3072 RGBA, interlaced", func() []byte { return rawPNG(4096, 3072, 8, 6, true, 4) }, refuse},
		{"PNG 4096×2048 16-bit RGBA, Paeth", func() []byte { return rawPNG(4096, 2048, 16, 6, false, 4) }, refuse},
		{"GIF 4096×3072", func() []byte { return gifOf(t, 4096, 3072) }, accept},
		{"lossless WebP 4096×4096, 34 bytes", func() []byte { return flatWebP(4096, 4096, false) }, refuse},
		{"lossless WebP 4096×3072, every transform", func() []byte { return flatWebP(4096, 3072, true) }, refuse},
		{"lossy WebP 4096×3072, 42 bytes", func() []byte { return lossyWebP(4096, 3072) }, refuse},
		// Legitimate pictures.
		{"photo 4032×3024, baseline JPEG of 1.96 MiB", func() []byte { return baselineJPEG(t, photo(4032, 3024, 12), 79) }, accept},
		{"photo 2000×2000, progressive JPEG 4:2:0", func() []byte { return encodeProgressive(photo(2000, 2000, 8), true) }, accept},
		{"photo 1000×800, PNG", func() []byte { return pngOf(t, photo(1000, 800, 6)) }, accept},
	} {
		data := tc.data()
		if len(data) > MaxAvatarBytes {
			t.Fatalf("%s: %d bytes, more than an upload may have", tc.name, len(data))
		}
		err := processBounded(t, tc.name, data)
		if tc.want == accept && err != nil {
			t.Errorf("%s: refused: %v", tc.name, err)
		}
		var ie ImageError
		if tc.want == refuse && !errors.As(err, &ie) {
			t.Errorf("%s: err = %v, want a refusal", tc.name, err)
		}
	}
}

// largestAccepted is the largest side s, a multiple of 8 up to maxAvatarSide, for which
// checkAvatar accepts gen(s), or 0 if it accepts none; the checks only grow with s.
func largestAccepted(gen func(s int) []byte) int {
	ok := func(s int) bool {
		data := gen(s)
		f := sniffImage(data)
		return checkAvatar(codecs[f], f, data) == nil
	}
	lo, hi := 0, maxAvatarSide/8+1 // ok(8·lo) or lo == 0; !ok(8·hi)
	for hi-lo > 1 {
		if mid := (lo + hi) / 2; ok(8 * mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return 8 * lo
}

// TestAvatarDearestAcceptedBounded: for each kind of dear file, the largest the checks accept
// is read within the bounds. This is what holds the cost estimates to the truth.
func TestAvatarDearestAcceptedBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds large pictures")
	}
	for _, tc := range []struct {
		name   string
		header func(s int) []byte // enough for the checks
		full   func(s int) []byte
	}{
		{"baseline 4:4:4, flat", nil, func(s int) []byte { return flatBaseline(s, s, 0x11) }},
		{"baseline 4:2:0, flat", nil, func(s int) []byte { return flatBaseline(s, s, 0x22) }},
		{"baseline grey, 31 scans", nil, func(s int) []byte { return baselineScanBomb(s, s, 31) }},
		{"progressive grey, 32 empty scans", nil, func(s int) []byte { return progressiveScanBomb(s, s, 32) }},
		{"progressive grey, 32 refinement scans", nil, func(s int) []byte { return refineBomb(s, s, 32) }},
		{"progressive colour 4:4:4, empty", nil, func(s int) []byte { return progressiveMemoryBomb(s, s) }},
		{"PNG RGBA, Paeth", func(s int) []byte { return rawPNGRows(s, s, 8, 6, false, 4, false) }, func(s int) []byte { return rawPNG(s, s, 8, 6, false, 4) }},
		{"PNG grey+alpha, Paeth", func(s int) []byte { return rawPNGRows(s, s, 8, 4, false, 4, false) }, func(s int) []byte { return rawPNG(s, s, 8, 4, false, 4) }},
		{"PNG 16-bit RGBA, Paeth", func(s int) []byte { return rawPNGRows(s, s, 16, 6, false, 4, false) }, func(s int) []byte { return rawPNG(s, s, 16, 6, false, 4) }},
		{"PNG RGBA, interlaced", func(s int) []byte { return rawPNGRows(s, s, 8, 6, true, 4, false) }, func(s int) []byte { return rawPNG(s, s, 8, 6, true, 4) }},
		{"PNG palette, 1 bit", func(s int) []byte { return rawPNGRows(s, s, 1, 3, false, 4, false) }, func(s int) []byte { return rawPNG(s, s, 1, 3, false, 4) }},
		{"GIF", gifHeader, func(s int) []byte { return gifOf(t, s, s) }},
		{"lossless WebP, every transform", nil, func(s int) []byte { return flatWebP(s, s, true) }},
	} {
		header := tc.header
		if header == nil {
			header = tc.full
		}
		s := largestAccepted(header)
		if s == 0 {
			t.Errorf("%s: no size accepted", tc.name)
			continue
		}
		data := tc.full(s)
		for f := sniffImage(data); checkAvatar(codecs[f], f, data) != nil && s > 8; f = sniffImage(data) {
			s -= 8 // the full file is a little dearer than its header
			data = tc.full(s)
		}
		processBounded(t, fmt.Sprintf("%s, %d×%d", tc.name, s, s), data)
	}
}

// gifHeader is a GIF's header and screen descriptor: all that DecodeConfig reads.
func gifHeader(s int) []byte {
	return []byte{'G', 'I', 'F', '8', '9', 'a', byte(s), byte(s >> 8), byte(s), byte(s >> 8), 0x80, 0, 0, 0, 0, 0, 255, 255, 255}
}

// TestJPEGScansCounted: scans are counted as image/jpeg finds them, past stuffed bytes,
// restart markers and fill bytes between them, and a 33rd is refused before decoding.
func TestJPEGScansCounted(t *testing.T) {
	withJunk := func(n int) []byte {
		b := progressiveScanBomb(64, 64, n)
		// After each scan's data: a stuffed 0xff, a restart marker, a stray byte and a fill
		// byte, all of which the decoder skips on its way to the next marker.
		return bytes.ReplaceAll(b, []byte{0xff, 0xda}, []byte{0xff, 0x00, 0xff, 0xd3, 0x12, 0xff, 0xff, 0xda})
	}
	if _, _, err := ProcessAvatar(withJunk(maxJPEGScans)); err != nil {
		t.Errorf("%d scans: %v", maxJPEGScans, err)
	}
	if _, _, err := ProcessAvatar(withJunk(maxJPEGScans + 1)); err != ErrImageScans {
		t.Errorf("%d scans: err = %v, want ErrImageScans", maxJPEGScans+1, err)
	}
	// A legitimate progressive file: seven scans, read.
	if _, _, err := ProcessAvatar(encodeProgressive(photo(100, 60, 8), true)); err != nil {
		t.Errorf("progressive photo: %v", err)
	}
}

// TestAvatarShrinkMatchesDirect: averaging a large picture down before the filter gives the
// picture the filter alone gives, for every pixel layout the decoders return.
func TestAvatarShrinkMatchesDirect(t *testing.T) {
	const n = 1100 // shrunk by 2 before the filter
	src := photo(n, n, 0)
	nrgba := image.NewNRGBA(src.Bounds())
	for y := range n {
		for x := range n {
			c := src.RGBAAt(x, y)
			nrgba.SetNRGBA(x, y, color.NRGBA{c.R, c.G, c.B, uint8(55 + 200*x/n)})
		}
	}
	ycc := func(r image.YCbCrSubsampleRatio) *image.YCbCr {
		m := image.NewYCbCr(src.Bounds(), r)
		for y := range n {
			for x := range n {
				c := src.RGBAAt(x, y)
				m.Y[m.YOffset(x, y)], m.Cb[m.COffset(x, y)], m.Cr[m.COffset(x, y)] = color.RGBToYCbCr(c.R, c.G, c.B)
			}
		}
		return m
	}
	convert := func(m draw.Image) draw.Image {
		draw.Draw(m, m.Bounds(), nrgba, image.Point{}, draw.Src)
		return m
	}
	pal := make(color.Palette, 256)
	for i := range pal {
		pal[i] = color.NRGBA{uint8(i), uint8(255 - i), uint8(i * 7), uint8(128 + i/2)}
	}
	nycc := &image.NYCbCrA{YCbCr: *ycc(image.YCbCrSubsampleRatio420), A: make([]byte, n*n), AStride: n}
	for i := range nycc.A {
		nycc.A[i] = uint8(55 + 200*(i%n)/n)
	}
	for name, m := range map[string]image.Image{
		"YCbCr 4:2:0": ycc(image.YCbCrSubsampleRatio420), "YCbCr 4:4:4": ycc(image.YCbCrSubsampleRatio444),
		"YCbCr 4:2:2": ycc(image.YCbCrSubsampleRatio422), "YCbCr 4:1:1": ycc(image.YCbCrSubsampleRatio411),
		"YCbCr 4:4:0": ycc(image.YCbCrSubsampleRatio440), "YCbCr 4:1:0": ycc(image.YCbCrSubsampleRatio410),
		"NYCbCrA": nycc, "Gray": convert(image.NewGray(src.Bounds())), "Gray16": convert(image.NewGray16(src.Bounds())),
		"RGBA": convert(image.NewRGBA(src.Bounds())), "NRGBA": nrgba, "RGBA64": convert(image.NewRGBA64(src.Bounds())),
		"NRGBA64": convert(image.NewNRGBA64(src.Bounds())), "CMYK": convert(image.NewCMYK(src.Bounds())),
		"Paletted": convert(image.NewPaletted(src.Bounds(), pal)), "Alpha": convert(image.NewAlpha(src.Bounds())),
	} {
		got := squareThumbnail(m, AvatarSize)
		want := image.NewNRGBA(got.Bounds())
		xdraw.CatmullRom.Scale(want, want.Bounds(), m, m.Bounds(), xdraw.Src, nil)
		var sum, worst int
		for i, v := range got.Pix {
			d := int(v) - int(want.Pix[i])
			if want.Pix[i|3] == 0 { // colour under full transparency is immaterial
				d = 0
			}
			sum, worst = sum+max(d, -d), max(worst, d, -d)
		}
		if mean := float64(sum) / float64(len(got.Pix)); mean > 1.5 || worst > 40 {
			t.Errorf("%s: differs from the filter alone by %.2f on average, %d at worst", name, mean, worst)
		}
	}
}
