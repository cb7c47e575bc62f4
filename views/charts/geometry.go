package charts

import (
	"math"
	"strconv"
	"strings"
)

// TickLimit bounds the values NiceTicks accepts (10^18 minor units, far beyond any ledger):
// larger ones are clamped so a step and the ticks around it always fit in an int64.
const TickLimit int64 = 1_000_000_000_000_000_000

// NiceTicks returns round tick values (1, 2 or 5 × 10^k minor units apart) from a tick at or
// below lo to one at or above hi, about want intervals; 0 is one of them when the range crosses
// it (want is kept within 1..100). A single value v is shown against zero (ticks from 0 to v); lo = hi = 0 gives just {0}.
func NiceTicks(lo, hi int64, want int) []int64 {
	if lo > hi {
		lo, hi = hi, lo
	}
	lo, hi = clamp(lo, -TickLimit, TickLimit), clamp(hi, -TickLimit, TickLimit)
	if lo == hi {
		if lo == 0 {
			return []int64{0}
		}
		lo, hi = min(lo, 0), max(hi, 0)
	}
	want = min(max(want, 1), 100)
	raw := (hi - lo + int64(want) - 1) / int64(want) // at most 2×10^18: no overflow
	step := niceStep(raw)
	first := floorDiv(lo, step) * step
	last := -floorDiv(-hi, step) * step
	ticks := make([]int64, 0, (last-first)/step+1)
	for t := first; t <= last; t += step {
		ticks = append(ticks, t)
	}
	return ticks
}

// niceStep is the smallest of 1, 2, 5 × 10^k that is at least raw (raw ≤ 2×10^18).
func niceStep(raw int64) int64 {
	for p := int64(1); ; p *= 10 {
		for _, m := range [3]int64{1, 2, 5} {
			if m*p >= raw {
				return m * p
			}
		}
	}
}

// floorDiv divides rounding towards minus infinity (Go's / truncates towards zero).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func clamp(v, lo, hi int64) int64 { return min(max(v, lo), hi) }

// Scale maps minor units onto pixels linearly. The range may run backwards (an SVG's y grows
// downwards, so a y scale maps the domain's minimum to the plot's bottom).
type Scale struct {
	domainMin, domainMax int64
	rangeMin, rangeMax   float64
}

// NewScale maps domainMin to rangeMin and domainMax to rangeMax.
func NewScale(domainMin, domainMax int64, rangeMin, rangeMax float64) Scale {
	return Scale{domainMin, domainMax, rangeMin, rangeMax}
}

// At is v's position. Values outside the domain extrapolate; an empty domain (a flat series)
// maps everything to the middle of the range.
func (s Scale) At(v int64) float64 {
	if s.domainMin == s.domainMax {
		return (s.rangeMin + s.rangeMax) / 2
	}
	// Converted one by one: v - domainMin could overflow an int64, and float64 is exact to
	// 2^53, a thousand times beyond the largest real balance.
	t := (float64(v) - float64(s.domainMin)) / (float64(s.domainMax) - float64(s.domainMin))
	return s.rangeMin + t*(s.rangeMax-s.rangeMin)
}

// LinePath is an SVG path through the points (xs[i], ys[i]): "M x y L x y ...", each number
// with at most two decimals. Unpaired trailing coordinates are ignored; no points give "".
func LinePath(xs []float64, ys []float64) string {
	n := min(len(xs), len(ys))
	var b strings.Builder
	for i := range n {
		if i == 0 {
			b.WriteString("M ")
		} else {
			b.WriteString(" L ")
		}
		b.WriteString(num(xs[i]))
		b.WriteByte(' ')
		b.WriteString(num(ys[i]))
	}
	return b.String()
}

// num writes a coordinate rounded to two decimals, without trailing zeros: "12", "12.5", "0.25".
func num(f float64) string {
	r := math.Round(f*100) / 100
	if r == 0 {
		r = 0 // no "-0"
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// labelEvery is how many slots one x label takes so that labels labelWidth wide, with a gap
// between them, do not overlap when slots are slot wide: 1 shows every label.
func labelEvery(n int, slot, labelWidth float64) int {
	const gap = 8
	if n <= 1 || slot <= 0 {
		return 1
	}
	k := int(math.Ceil((labelWidth + gap) / slot))
	return min(max(k, 1), n)
}
