package handlers

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestReportFiltersInTheList: the list page, its CSV export and the API read uncategorized,
// flow and currency alike; the form shows each as a control set to what filters the list; what
// cannot be read is marked on its field (the page) or named (the API).
func TestReportFiltersInTheList(t *testing.T) {
	ta := newTestApp(t)
	f := newReportFixture(t, ta, "ada")
	query := url.Values{"flow": {"expense"}, "currency": {"eur"}, "min": {"-30.00"}}

	page := f.get("/transactions?" + query.Encode())
	wantStatus(t, page, http.StatusOK)
	for sel, want := range map[string]string{
		"#flow option[selected]":     "expense",
		"#currency option[selected]": "EUR",
	} {
		if got, _ := page.doc.Find(sel).Attr("value"); got != want {
			t.Errorf("%s = %q, want %q", sel, got, want)
		}
	}
	if _, checked := page.doc.Find("#uncategorized").Attr("checked"); checked {
		t.Error("no category is ticked")
	}
	export, _ := page.doc.Find("#export-csv").Attr("href")
	if q, _ := url.ParseQuery(strings.TrimPrefix(export, "/transactions/export.csv?")); q.Get("flow") != "expense" || q.Get("currency") != "EUR" {
		t.Errorf("export link %q loses the filters", export)
	}

	// The page, the export and the API list the same rows: EUR spending of 30.00 or less, a
	// split's spending part counted, never the transfer to the cash account.
	api := f.apiRows(url.Values{"flow": {"expense"}, "currency": {"EUR"}, "min": {"-30.00"}})
	var payees []string
	for _, r := range api {
		payees = append(payees, r.Payee)
	}
	if got := strings.Join(payees, ","); got != "Market,Flea market,Bistro" {
		t.Errorf("API lists %q", got)
	}
	if n := page.doc.Find("#tx-table tbody tr:not(.empty)").Length(); n != len(api) {
		t.Errorf("the page lists %d rows, the API %d", n, len(api))
	}
	res := f.get(export)
	wantStatus(t, res, http.StatusOK)
	lines, err := csv.NewReader(strings.NewReader(res.body)).ReadAll()
	if err != nil || len(lines) != len(api)+1 {
		t.Errorf("the export has %d lines (%v), want a header and %d rows", len(lines), err, len(api))
	}

	checked := f.get("/transactions?uncategorized=1")
	wantStatus(t, checked, http.StatusOK)
	if _, ok := checked.doc.Find("#uncategorized").Attr("checked"); !ok {
		t.Error("uncategorized=1 does not tick the box")
	}

	for _, tc := range []struct{ query, field string }{
		{"flow=profit", "#flow-error"},
		{"currency=XYZ", "#currency-error"},
		{"uncategorized=yes", "#uncategorized-error"},
		{"uncategorized=1&category_id=" + ids(f.cat["Groceries"]), "#uncategorized-error"},
	} {
		res := f.get("/transactions?" + tc.query)
		wantStatus(t, res, http.StatusUnprocessableEntity)
		if text(res, tc.field) == "" {
			t.Errorf("%s: no message at %s", tc.query, tc.field)
		}
		wantStatus(t, f.get("/transactions/export.csv?"+tc.query), http.StatusBadRequest)
		api := f.get("/api/transactions?" + tc.query)
		wantStatus(t, api, http.StatusBadRequest)
		var body struct{ Error string }
		if err := json.Unmarshal([]byte(api.body), &body); err != nil || !strings.HasPrefix(body.Error, strings.TrimSuffix(tc.field[1:], "-error")+": ") {
			t.Errorf("API %s: %s", tc.query, api.body)
		}
	}
}
