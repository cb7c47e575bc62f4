package importer

import (
	"strings"
)

// The roles a column can play, by the JSON name of their Mapping field.
const (
	roleDate      = "date_column"
	rolePayee     = "payee_column"
	roleMemo      = "memo_column"
	roleCategory  = "category_column"
	roleAmount    = "amount_column"
	roleDebit     = "debit_column"
	roleCredit    = "credit_column"
	roleIndicator = "indicator_column"
	roleID        = "id_column"
)

// headerNames lists, per role, the header names banks use in English, German, Dutch, French and
// Spanish, normalized by normalizeHeader, best first: when a file has a booking date and a value
// date, the booking date is the transaction's. "Description" is both a payee (when nothing
// names the payee) and a memo (when something does).
var headerNames = map[string][]string{
	roleDate: {
		"date", "transaction date", "trans date", "booking date", "posting date", "posted date",
		"datum", "buchungstag", "buchungsdatum", "transactiedatum", "boekdatum", "boekingsdatum",
		"fecha", "fecha operacion", "fecha de operacion", "fecha contable",
		"date operation", "date de l operation", "date de operation", "date comptable",
		"started date", "completed date", "post date",
		"value date", "valutadatum", "wertstellung", "valuta", "rentedatum", "fecha valor", "date de valeur",
	},
	rolePayee: {
		"payee", "payee name", "name", "merchant", "merchant name", "counterparty", "counterparty name",
		"beneficiary", "recipient", "naam", "naam omschrijving", "tegenpartij", "naam tegenpartij",
		"beguenstigter zahlungspflichtiger", "begunstigter zahlungspflichtiger",
		"auftraggeber begunstigter", "auftraggeber beguenstigter", "empfanger zahlungspflichtiger",
		"empfaenger zahlungspflichtiger", "zahlungsempfanger in",
		"zahlungsempfanger", "zahlungsempfaenger", "empfanger", "empfaenger", "auftraggeber",
		"auftraggeber zahlungsempfanger", "beneficiaire", "tiers", "beneficiario",
		"description", "transaction description", "omschrijving", "beschreibung", "libelle",
		"libelle operation", "libelle de l operation", "concepto", "descripcion", "narrative", "details",
	},
	roleMemo: {
		"memo", "notes", "note", "mededelingen", "verwendungszweck", "vorgang verwendungszweck",
		"purpose", "reference",
		"remarks", "comment", "comments", "informations complementaires", "observaciones",
		"description", "transaction description", "omschrijving", "beschreibung", "details",
		"buchungstext", "libelle", "concepto",
	},
	roleCategory: {"category", "kategorie", "categorie", "categoria"},
	roleAmount: {
		"amount", "transaction amount", "betrag", "bedrag", "montant", "importe", "umsatz",
		"transactiebedrag", "amt",
	},
	roleDebit: {
		"debit", "debit amount", "debits", "withdrawal", "withdrawals", "withdrawal amount", "money out",
		"paid out", "out", "soll", "ausgang", "belastung", "debet", "uitgaven", "cargo", "cargos",
		"debito", "montant debit",
	},
	roleCredit: {
		"credit", "credit amount", "credits", "deposit", "deposits", "deposit amount", "money in",
		"paid in", "in", "haben", "eingang", "gutschrift", "bij", "inkomsten", "abono", "abonos",
		"ingreso", "ingresos", "credito", "montant credit",
	},
	roleIndicator: {
		"af bij", "debit credit", "credit debit", "d c", "c d", "dr cr", "cr dr", "soll haben",
		"s h", "debet credit", "credit debit indicator", "debit credit indicator", "direction",
	},
	roleID: {"transaction id", "transactionid", "id", "fitid", "unique id", "transaction reference id"},
}

// tallyHeader is the header of Tally's own export, as normalizeHeader leaves it.
var tallyHeader = []string{"date", "payee", "memo", "category", "amount", "account"}

// accentFold spells accented letters plainly, so "Libellé" and "Libelle" are one name.
var accentFold = strings.NewReplacer(
	"á", "a", "à", "a", "â", "a", "ä", "a", "é", "e", "è", "e", "ê", "e", "ë", "e",
	"í", "i", "î", "i", "ï", "i", "ó", "o", "ô", "o", "ö", "o", "ú", "u", "û", "u", "ü", "u",
	"ñ", "n", "ç", "c", "ß", "ss",
)

// currencyWords are dropped from the end of a header: "Amount EUR", "Betrag in EUR".
var currencyWords = map[string]bool{"eur": true, "usd": true, "gbp": true, "chf": true, "cad": true,
	"aud": true, "€": true, "$": true, "£": true}

// normalizeHeader lower-cases a header name, folds accents, drops what is in parentheses or
// brackets and a trailing currency, and turns punctuation into single spaces: "Betrag (EUR)" is
// "betrag", "Af/Bij" is "af bij", "Trans. Date" is "trans date".
func normalizeHeader(s string) string {
	s = accentFold.Replace(strings.ToLower(trimCell(strings.TrimPrefix(s, "\ufeff"))))
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '(' || r == '[':
			depth++
		case r == ')' || r == ']':
			depth = max(0, depth-1)
		case depth > 0:
		case r == '/' || r == '-' || r == '_' || r == '.' || r == ':' || r == '\'' || r == '*' || r == '#':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	words := strings.Fields(b.String())
	if n := len(words); n > 1 && currencyWords[words[n-1]] {
		words = words[:n-1]
		if n := len(words); n > 1 && words[n-1] == "in" {
			words = words[:n-1]
		}
	}
	return strings.Join(words, " ")
}

// rank is how well a header fits a role: the index of its name in headerNames, or -1.
func rank(role, normalized string) int {
	for i, name := range headerNames[role] {
		if name == normalized {
			return i
		}
	}
	return -1
}

// findByName returns the column whose header fits role best, leaving out taken columns, or -1.
func findByName(role string, normalized []string, taken map[int]bool) int {
	best, bestRank := -1, 0
	for i, h := range normalized {
		if taken[i] {
			continue
		}
		if r := rank(role, h); r >= 0 && (best < 0 || r < bestRank) {
			best, bestRank = i, r
		}
	}
	return best
}

// looksLikeHeader reports a record that names a date column and an amount (or debit or credit)
// column.
func looksLikeHeader(fields []string) bool {
	date, amount := false, false
	for _, f := range fields {
		h := normalizeHeader(f)
		date = date || rank(roleDate, h) >= 0
		amount = amount || rank(roleAmount, h) >= 0 || rank(roleDebit, h) >= 0 || rank(roleCredit, h) >= 0
	}
	return date && amount
}

// Default words of an indicator column, lower case.
var (
	debitWords  = []string{"d", "dr", "db", "debit", "debet", "af", "s", "soll", "débit", "debito", "débito", "cargo", "-"}
	creditWords = []string{"c", "cr", "credit", "bij", "h", "haben", "crédit", "credito", "crédito", "abono", "+"}
)

func hasWord(words []string, s string) bool {
	s = strings.ToLower(trimCell(s))
	for _, w := range words {
		if strings.ToLower(w) == s {
			return true
		}
	}
	return false
}
