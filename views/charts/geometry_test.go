package charts

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestNiceTicks(t *testing.T) {
	const e15 = 1_000_000_000_000_000
	tests := []struct {
		name   string
		lo, hi int64
		want   int
		ticks  []int64
	}{
		{"all zero", 0, 0, 5, []int64{0}},
		{"a single positive value is shown against zero", 500, 500, 5, []int64{0, 100, 200, 300, 400, 500}},
		{"a single negative value is shown against zero", -500, -500, 5, []int64{-500, -400, -300, -200, -100, 0}},
		{"one minor unit", 0, 1, 5, []int64{0, 1}},
		{"a few minor units", 1, 3, 5, []int64{1, 2, 3}},
		{"rounds outwards to a step of 5", 0, 1234, 5, []int64{0, 500, 1000, 1500}},
		{"step of 2", 0, 9000, 5, []int64{0, 2000, 4000, 6000, 8000, 10000}},
		{"step of 1", 0, 4200, 5, []int64{0, 1000, 2000, 3000, 4000, 5000}},
		{"crossing zero includes it", -300, 1200, 5, []int64{-500, 0, 500, 1000, 1500}},
		{"crossing zero off the step", -1, 7, 4, []int64{-2, 0, 2, 4, 6, 8}},
		{"negative range", -98765, -1234, 5, []int64{-100000, -80000, -60000, -40000, -20000, 0}},
		{"negative range away from zero", -1050, -1010, 4, []int64{-1050, -1040, -1030, -1020, -1010}},
		{"arguments reversed", 1200, -300, 5, []int64{-500, 0, 500, 1000, 1500}},
		{"want below one counts as one", 0, 100, 0, []int64{0, 100}},
		{"near 10^15", 0, e15 - 1, 5, []int64{0, 2e14, 4e14, 6e14, 8e14, e15}},
		{"±10^15", -e15, e15, 4, []int64{-e15, -5e14, 0, 5e14, e15}},
		{"int64 extremes are clamped to ±TickLimit", math.MinInt64, math.MaxInt64, 4,
			[]int64{-TickLimit, -5e17, 0, 5e17, TickLimit}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := NiceTicks(tc.lo, tc.hi, tc.want); !slices.Equal(got, tc.ticks) {
				t.Errorf("NiceTicks(%d, %d, %d) = %v, want %v", tc.lo, tc.hi, tc.want, got, tc.ticks)
			}
		})
	}
}

// TestNiceTicksProperties checks what every chart relies on over many ranges: the ticks cover
// the range, are evenly spaced by a 1, 2 or 5 × 10^k step, hold 0 when the range crosses it,
// and are about as many as asked.
func TestNiceTicksProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		mag := int64(1) << r.IntN(51) // ranges from 1 to 2^50 (~10^15) minor units
		lo, hi := r.Int64N(2*mag)-mag, r.Int64N(2*mag)-mag
		want := 1 + r.IntN(10)
		ticks := NiceTicks(lo, hi, want)
		lo, hi = min(lo, hi), max(lo, hi)
		if lo == 0 && hi == 0 {
			continue
		}
		if len(ticks) < 2 || ticks[0] > min(lo, 0) && lo == hi || ticks[0] > lo || ticks[len(ticks)-1] < hi {
			t.Fatalf("NiceTicks(%d, %d, %d) = %v does not cover the range", lo, hi, want, ticks)
		}
		step := ticks[1] - ticks[0]
		if !nice(step) {
			t.Fatalf("NiceTicks(%d, %d, %d): step %d is not 1, 2 or 5 × 10^k", lo, hi, want, step)
		}
		for i := 1; i < len(ticks); i++ {
			if ticks[i]-ticks[i-1] != step || ticks[i]%step != 0 {
				t.Fatalf("NiceTicks(%d, %d, %d) = %v: uneven or off the step", lo, hi, want, ticks)
			}
		}
		if lo < 0 && hi > 0 && !slices.Contains(ticks, 0) {
			t.Fatalf("NiceTicks(%d, %d, %d) = %v: crosses zero without a 0 tick", lo, hi, want, ticks)
		}
		if len(ticks)-1 > want+2 {
			t.Fatalf("NiceTicks(%d, %d, %d) = %v: %d intervals for %d wanted", lo, hi, want, ticks, len(ticks)-1, want)
		}
	}
}

func nice(step int64) bool {
	for step >= 10 && step%10 == 0 {
		step /= 10
	}
	return step == 1 || step == 2 || step == 5
}

func TestScale(t *testing.T) {
	const e15 = 1_000_000_000_000_000
	tests := []struct {
		name  string
		scale Scale
		v     int64
		want  float64
	}{
		{"domain minimum", NewScale(0, 1000, 10, 110), 0, 10},
		{"domain maximum", NewScale(0, 1000, 10, 110), 1000, 110},
		{"middle", NewScale(0, 1000, 10, 110), 250, 35},
		{"y grows downwards", NewScale(0, 1000, 270, 10), 1000, 10},
		{"y zero at the bottom", NewScale(0, 1000, 270, 10), 0, 270},
		{"negative domain", NewScale(-500, 500, 200, 0), 0, 100},
		{"all negative", NewScale(-2000, -1000, 0, 100), -1500, 50},
		{"extrapolates below", NewScale(0, 100, 0, 100), -50, -50},
		{"extrapolates above", NewScale(0, 100, 0, 100), 150, 150},
		{"empty domain maps to the middle", NewScale(0, 0, 270, 10), 0, 140},
		{"empty domain, any value", NewScale(42, 42, 0, 100), 7, 50},
		{"near 10^15 keeps one minor unit", NewScale(e15-1000, e15, 0, 1000), e15 - 1, 999},
		{"±10^15", NewScale(-e15, e15, 0, 600), e15 / 2, 450},
		{"int64 extremes do not overflow", NewScale(math.MinInt64, math.MaxInt64, 0, 100), 0, 50},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.scale.At(tc.v); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("At(%d) = %v, want %v", tc.v, got, tc.want)
			}
		})
	}
}

func TestLinePath(t *testing.T) {
	tests := []struct {
		name   string
		xs, ys []float64
		want   string
	}{
		{"no points", nil, nil, ""},
		{"a single point", []float64{10, 99}, []float64{20}, "M 10 20"},
		{"several points", []float64{0, 50, 100}, []float64{300, 150.5, 10.25}, "M 0 300 L 50 150.5 L 100 10.25"},
		{"rounded to two decimals", []float64{1.0 / 3, 2.004}, []float64{2.0 / 3, 0.004}, "M 0.33 0.67 L 2 0"},
		{"negative coordinates and no -0", []float64{-1.5, -0.001}, []float64{-2, 0}, "M -1.5 -2 L 0 0"},
		{"large coordinates stay plain decimals", []float64{1e7}, []float64{123456.789}, "M 10000000 123456.79"},
		{"unpaired coordinates are ignored", []float64{1, 2, 3}, []float64{4, 5}, "M 1 4 L 2 5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := LinePath(tc.xs, tc.ys); got != tc.want {
				t.Errorf("LinePath(%v, %v) = %q, want %q", tc.xs, tc.ys, got, tc.want)
			}
		})
	}
}

func TestLabelEvery(t *testing.T) {
	tests := []struct {
		name        string
		n           int
		slot, width float64
		want        int
	}{
		{"room for every label", 6, 80, 60, 1},
		{"every other label", 12, 45, 60, 2},
		{"every third", 24, 22, 50, 3},
		{"a single label", 1, 10, 500, 1},
		{"never more than the labels", 3, 1, 500, 3},
		{"no labels", 0, 0, 50, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := labelEvery(tc.n, tc.slot, tc.width); got != tc.want {
				t.Errorf("labelEvery(%d, %v, %v) = %d, want %d", tc.n, tc.slot, tc.width, got, tc.want)
			}
		})
	}
}

func TestAddSat(t *testing.T) {
	tests := []struct {
		name       string
		a, b, want int64
	}{
		{"plain", 2, 3, 5},
		{"negative", -2, -3, -5},
		{"stops at the top", math.MaxInt64 - 1, 5, math.MaxInt64},
		{"stops at the bottom", math.MinInt64 + 1, -5, math.MinInt64},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := addSat(tc.a, tc.b); got != tc.want {
				t.Errorf("addSat(%d, %d) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
		})
	}
}
