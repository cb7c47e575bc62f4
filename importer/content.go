package importer

import (
	"strings"

	"tally/money"
)

// Detection by content, for files without a header or with header names nobody wrote down.

// looksLikeData reports a record with a date in one cell and an amount in another: the first
// row of a file without a header.
func looksLikeData(fields []string, cur money.Currency) bool {
	date := -1
	for i, f := range fields {
		if isDateLike(trimCell(f)) {
			date = i
			break
		}
	}
	if date < 0 {
		return false
	}
	for i, f := range fields {
		if i != date && isAmountLike(f, cur) {
			return true
		}
	}
	return false
}

var compiledFormats = func() []*dateFormat {
	fs := make([]*dateFormat, len(dateFormats))
	for i, name := range dateFormats {
		fs[i], _ = compileDateFormat(name)
	}
	return fs
}()

func isDateLike(s string) bool {
	for _, f := range compiledFormats {
		if _, _, _, ok := f.match(s); ok {
			return true
		}
	}
	return false
}

// isAmountLike is a cell that reads as an amount with a sign or decimals, so that account
// numbers and check numbers do not pass for one.
func isAmountLike(s string, cur money.Currency) bool {
	s = trimCell(s)
	if _, problem, empty := parseAmount(s, '.', cur); empty || problem != "" {
		if _, problem, empty := parseAmount(s, ',', cur); empty || problem != "" {
			return false
		}
	}
	return strings.ContainsAny(s, ".,-(\u2212") || strings.HasSuffix(strings.ToUpper(s), "CR") ||
		strings.HasSuffix(strings.ToUpper(s), "DR")
}

// findByContent returns the leftmost free column whose non-empty sample cells all pass, or -1.
func findByContent(data []record, width int, taken map[int]bool, pass func(string) bool) int {
	for i := range width {
		if taken[i] {
			continue
		}
		seen, all := false, true
		for _, rec := range data {
			if len(rec.fields) != width || i >= len(rec.fields) {
				continue
			}
			cell := trimCell(rec.fields[i])
			if cell == "" {
				continue
			}
			seen = true
			if !pass(cell) {
				all = false
				break
			}
		}
		if seen && all {
			return i
		}
	}
	return -1
}

// unsigned reports an amount column without signs, which an indicator column may complete.
func unsigned(data []record, column int) bool {
	for _, rec := range data {
		if column < len(rec.fields) && strings.ContainsAny(rec.fields[column], "-(\u2212") {
			return false
		}
	}
	return true
}

// wordiest returns the free column with the most letters per row, the payee of a file without
// a header, or -1.
func wordiest(data []record, width int, taken map[int]bool) int {
	best, bestLetters := -1, 0
	for i := range width {
		if taken[i] {
			continue
		}
		letters := 0
		for _, rec := range data {
			if i < len(rec.fields) {
				for _, r := range rec.fields[i] {
					if r > '9' && !strings.ContainsRune("*#/", r) {
						letters++
					}
				}
			}
		}
		if letters > bestLetters {
			best, bestLetters = i, letters
		}
	}
	return best
}
