package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"tally/models/ledger"
)

// ledgerBook is userID's book, straight on the test database.
func ledgerBook(t testing.TB, ta *testApp, userID uint) *ledger.Book {
	t.Helper()
	b, err := ledger.For(ta.db, userID)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func seedAccount(t testing.TB, b *ledger.Book, name, currency string, opening int64) *ledger.Account {
	t.Helper()
	a, err := b.CreateAccount(ledger.AccountInput{Name: name, Kind: ledger.KindChecking, Currency: currency,
		OpeningBalance: opening, OpeningDate: "2024-01-01"})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func seedCategory(t testing.TB, b *ledger.Book, name, group string) *ledger.Category {
	t.Helper()
	c, err := b.CreateCategory(ledger.CategoryInput{Name: name, Group: group})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func seedTx(t testing.TB, b *ledger.Book, in ledger.TxInput) *ledger.Row {
	t.Helper()
	r, err := b.AddTransaction(in)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// decodeIntegerJSON decodes body keeping numbers as written, and fails the test on any number that
// is not a plain integer ("1.5", "1e3"): amounts must never travel as floats.
func decodeIntegerJSON(t testing.TB, body string) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(body))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, trim(body))
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case json.Number:
			if _, err := strconv.ParseInt(v.String(), 10, 64); err != nil {
				t.Errorf("%s = %s: not an integer", path, v)
			}
		case []any:
			for i, e := range v {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		case map[string]any:
			for k, e := range v {
				walk(path+"."+k, e)
			}
		}
	}
	walk("$", v)
	return v
}

// apiGet asks path, wants status and a JSON body of integers only, and decodes it into dst
// (when not nil).
func apiGet(t testing.TB, c *client, path string, status int, dst any) *response {
	t.Helper()
	res := c.get(path)
	wantStatus(t, res, status)
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q", path, ct)
	}
	decodeIntegerJSON(t, res.body)
	if dst != nil {
		if err := json.Unmarshal([]byte(res.body), dst); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	return res
}

// wantKeys checks that every object of the JSON array list has exactly keys.
func wantKeys(t testing.TB, what string, list any, keys ...string) {
	t.Helper()
	items, ok := list.([]any)
	if !ok || len(items) == 0 {
		t.Fatalf("%s: no items to check: %v", what, list)
	}
	slices.Sort(keys)
	for _, item := range items {
		obj, ok := item.(map[string]any)
		if !ok {
			t.Fatalf("%s: %v is not an object", what, item)
		}
		got := make([]string, 0, len(obj))
		for k := range obj {
			got = append(got, k)
		}
		slices.Sort(got)
		if !slices.Equal(got, keys) {
			t.Fatalf("%s: keys %v, want %v", what, got, keys)
		}
	}
}

type apiAccountJSON struct {
	ID           uint   `json:"id"`
	Name         string `json:"name"`
	Kind         string `json:"kind"`
	Currency     string `json:"currency"`
	Balance      string `json:"balance"`
	BalanceMinor int64  `json:"balance_minor"`
	Closed       bool   `json:"closed"`
}

type apiSplitJSON struct {
	CategoryID  uint   `json:"category_id"`
	Amount      string `json:"amount"`
	AmountMinor int64  `json:"amount_minor"`
	Memo        string `json:"memo"`
}

type apiTxJSON struct {
	ID                uint           `json:"id"`
	AccountID         uint           `json:"account_id"`
	Date              string         `json:"date"`
	Payee             string         `json:"payee"`
	Memo              string         `json:"memo"`
	Amount            string         `json:"amount"`
	AmountMinor       int64          `json:"amount_minor"`
	CategoryID        *uint          `json:"category_id"`
	TransferAccountID *uint          `json:"transfer_account_id"`
	Splits            []apiSplitJSON `json:"splits"`
}

type apiPageJSON struct {
	Items      []apiTxJSON `json:"items"`
	NextCursor *string     `json:"next_cursor"`
}

func TestAPIAccounts(t *testing.T) {
	ta := newTestApp(t)
	ada, c := ta.signedInAda()
	bob := ta.createUser("bob", "bob@example.com", goodPassword)
	b := ledgerBook(t, ta, ada.ID)
	usd := seedAccount(t, b, "Checking", "USD", -1234)
	jpy := seedAccount(t, b, "Yen", "JPY", 1234)
	kwd := seedAccount(t, b, "Dinar", "KWD", -1234567)
	dimes := seedAccount(t, b, "Dimes", "EUR", 0)
	for range 3 {
		seedTx(t, b, ledger.TxInput{AccountID: dimes.ID, Date: "2024-02-01", Amount: 10})
	}
	old := seedAccount(t, b, "Old", "USD", 5)
	if err := b.CloseAccount(old.ID); err != nil {
		t.Fatal(err)
	}
	seedAccount(t, ledgerBook(t, ta, bob.ID), "Bob's", "USD", 999)

	res := apiGet(t, c, "/api/accounts", http.StatusOK, nil)
	wantKeys(t, "accounts", decodeIntegerJSON(t, res.body), "id", "name", "kind", "currency", "balance", "balance_minor", "closed")
	var got []apiAccountJSON
	json.Unmarshal([]byte(res.body), &got)
	// Open accounts by name, then the closed ones; three rows of 0.10 are 0.30.
	want := []apiAccountJSON{
		{usd.ID, "Checking", "checking", "USD", "-12.34", -1234, false},
		{dimes.ID, "Dimes", "checking", "EUR", "0.30", 30, false},
		{kwd.ID, "Dinar", "checking", "KWD", "-1234.567", -1234567, false},
		{jpy.ID, "Yen", "checking", "JPY", "1234", 1234, false},
		{old.ID, "Old", "checking", "USD", "0.05", 5, true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("accounts =\n%+v\nwant\n%+v", got, want)
	}

	// Someone without accounts gets an empty list, not null.
	ta.createUser("cy", "cy@example.com", goodPassword)
	cc := ta.client()
	cc.login("cy", goodPassword)
	if res := apiGet(t, cc, "/api/accounts", http.StatusOK, nil); strings.TrimSpace(res.body) != "[]" {
		t.Errorf("no accounts: %s", res.body)
	}
}

func TestAPICategories(t *testing.T) {
	ta := newTestApp(t)
	ada, c := ta.signedInAda()
	bob := ta.createUser("bob", "bob@example.com", goodPassword)
	b := ledgerBook(t, ta, ada.ID)
	food := seedCategory(t, b, "Groceries", "Food")
	salary, err := b.CreateCategory(ledger.CategoryInput{Name: "Salary", Group: "Income", IsIncome: true})
	if err != nil {
		t.Fatal(err)
	}
	secret, err := b.CreateCategory(ledger.CategoryInput{Name: "Secret", Group: "Food", Hidden: true})
	if err != nil {
		t.Fatal(err)
	}
	seedCategory(t, ledgerBook(t, ta, bob.ID), "Bob's category", "Bob's group")

	res := apiGet(t, c, "/api/categories", http.StatusOK, nil)
	wantKeys(t, "categories", decodeIntegerJSON(t, res.body), "id", "name", "group", "is_income", "hidden")
	type category struct {
		ID       uint   `json:"id"`
		Name     string `json:"name"`
		Group    string `json:"group"`
		IsIncome bool   `json:"is_income"`
		Hidden   bool   `json:"hidden"`
	}
	var got []category
	json.Unmarshal([]byte(res.body), &got)
	want := []category{
		{food.ID, "Groceries", "Food", false, false},
		{secret.ID, "Secret", "Food", false, true},
		{salary.ID, "Salary", "Income", true, false},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("categories = %+v, want %+v", got, want)
	}
}

// sampleLedger is a ledger with every kind of row: plain, categorised, split, a transfer, and
// rows in three currencies.
type sampleLedger struct {
	usd, eur, jpy, kwd         *ledger.Account
	food, rent, fun            *ledger.Category
	groceries, split, leg, yen *ledger.Row
}

func newSampleLedger(t testing.TB, b *ledger.Book) sampleLedger {
	t.Helper()
	var l sampleLedger
	l.usd = seedAccount(t, b, "Checking", "USD", 100000)
	l.eur = seedAccount(t, b, "Euro", "EUR", 0)
	l.jpy = seedAccount(t, b, "Yen", "JPY", 0)
	l.kwd = seedAccount(t, b, "Dinar", "KWD", 0)
	l.food = seedCategory(t, b, "Groceries", "Food")
	l.rent = seedCategory(t, b, "Rent", "Home")
	l.fun = seedCategory(t, b, "Fun", "Other")
	l.groceries = seedTx(t, b, ledger.TxInput{AccountID: l.usd.ID, Date: "2024-03-01", Payee: "Corner Shop", Memo: "milk",
		Amount: -1234, CategoryID: l.food.ID})
	l.split = seedTx(t, b, ledger.TxInput{AccountID: l.usd.ID, Date: "2024-03-02", Payee: "Big Store", Amount: -5000,
		Splits: []ledger.SplitInput{{CategoryID: l.food.ID, Amount: -3000, Memo: "food"}, {CategoryID: l.fun.ID, Amount: -2000, Memo: "games"}}})
	l.leg = seedTx(t, b, ledger.TxInput{AccountID: l.usd.ID, Date: "2024-03-03", Payee: "To euros", Amount: -10000,
		TransferAccountID: l.eur.ID, TransferAmount: 9000})
	l.yen = seedTx(t, b, ledger.TxInput{AccountID: l.jpy.ID, Date: "2024-03-04", Payee: "Ramen", Amount: -1234, CategoryID: l.food.ID})
	seedTx(t, b, ledger.TxInput{AccountID: l.kwd.ID, Date: "2024-03-05", Payee: "Souk", Amount: 1234, CategoryID: l.rent.ID})
	return l
}

func TestAPITransactions(t *testing.T) {
	ta := newTestApp(t)
	ada, c := ta.signedInAda()
	bob := ta.createUser("bob", "bob@example.com", goodPassword)
	l := newSampleLedger(t, ledgerBook(t, ta, ada.ID))
	bb := ledgerBook(t, ta, bob.ID)
	seedTx(t, bb, ledger.TxInput{AccountID: seedAccount(t, bb, "Bob's", "USD", 0).ID, Date: "2024-03-06", Payee: "Bob's shop", Amount: -1})

	res := apiGet(t, c, "/api/transactions", http.StatusOK, nil)
	v := decodeIntegerJSON(t, res.body).(map[string]any)
	if _, ok := v["next_cursor"]; !ok || len(v) != 2 {
		t.Errorf("page keys: %v", v)
	}
	wantKeys(t, "items", v["items"], "id", "account_id", "date", "payee", "memo", "amount", "amount_minor",
		"category_id", "transfer_account_id", "splits")
	var page apiPageJSON
	json.Unmarshal([]byte(res.body), &page)
	if page.NextCursor != nil {
		t.Errorf("next_cursor = %q on the only page", *page.NextCursor)
	}
	byPayee := map[string]apiTxJSON{}
	for _, it := range page.Items {
		byPayee[it.Payee] = it
	}
	// Five rows, the transfer's other leg and the one opening balance that is not zero.
	if _, ok := byPayee["Bob's shop"]; ok || len(page.Items) != 7 {
		t.Fatalf("items: %+v", page.Items)
	}
	ptr := func(id uint) *uint { return &id }
	for _, want := range []apiTxJSON{
		{l.groceries.ID, l.usd.ID, "2024-03-01", "Corner Shop", "milk", "-12.34", -1234, ptr(l.food.ID), nil, []apiSplitJSON{}},
		{l.split.ID, l.usd.ID, "2024-03-02", "Big Store", "", "-50.00", -5000, nil, nil, []apiSplitJSON{
			{l.food.ID, "-30.00", -3000, "food"}, {l.fun.ID, "-20.00", -2000, "games"}}},
		{l.leg.ID, l.usd.ID, "2024-03-03", "To euros", "", "-100.00", -10000, nil, ptr(l.eur.ID), []apiSplitJSON{}},
		{*l.leg.TransferID, l.eur.ID, "2024-03-03", "To euros", "", "90.00", 9000, nil, ptr(l.usd.ID), []apiSplitJSON{}},
		{l.yen.ID, l.jpy.ID, "2024-03-04", "Ramen", "", "-1234", -1234, ptr(l.food.ID), nil, []apiSplitJSON{}},
	} {
		var got *apiTxJSON
		for i := range page.Items {
			if page.Items[i].ID == want.ID {
				got = &page.Items[i]
			}
		}
		if got == nil || !reflect.DeepEqual(*got, want) {
			t.Errorf("item %d = %+v, want %+v", want.ID, got, want)
		}
	}
	souk := byPayee["Souk"]
	if souk.Amount != "1.234" || souk.AmountMinor != 1234 {
		t.Errorf("KWD row = %+v, want 1.234", souk)
	}
	// Newest first.
	for i := 1; i < len(page.Items); i++ {
		if page.Items[i-1].Date < page.Items[i].Date {
			t.Errorf("not newest first: %s before %s", page.Items[i-1].Date, page.Items[i].Date)
		}
	}
}

func TestAPITransactionsPaging(t *testing.T) {
	ta := newTestApp(t)
	ada, c := ta.signedInAda()
	b := ledgerBook(t, ta, ada.ID)
	a := seedAccount(t, b, "Checking", "USD", 0)
	// Three rows a day: pages must cut between rows of one date without losing or repeating any.
	for i := range 120 {
		seedTx(t, b, ledger.TxInput{AccountID: a.ID, Date: time.Date(2024, 1, 1+i/3, 0, 0, 0, 0, time.UTC).Format(time.DateOnly), Payee: fmt.Sprintf("row %d", i), Amount: int64(-i - 1)})
	}
	seen := map[uint]bool{}
	var sizes []int
	cursor := ""
	var last apiTxJSON
	for page := 0; ; page++ {
		if page > 5 {
			t.Fatal("paging does not end")
		}
		path := "/api/transactions?limit=50"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		var p apiPageJSON
		apiGet(t, c, path, http.StatusOK, &p)
		sizes = append(sizes, len(p.Items))
		for _, it := range p.Items {
			if seen[it.ID] {
				t.Fatalf("row %d on two pages", it.ID)
			}
			seen[it.ID] = true
			if last.ID != 0 && (it.Date > last.Date || it.Date == last.Date && it.ID > last.ID) {
				t.Errorf("row %d (%s) after row %d (%s)", it.ID, it.Date, last.ID, last.Date)
			}
			last = it
		}
		if p.NextCursor == nil {
			break
		}
		cursor = *p.NextCursor
	}
	if !slices.Equal(sizes, []int{50, 50, 20}) || len(seen) != 120 {
		t.Errorf("pages of %v, %d rows; want 50, 50, 20 and 120", sizes, len(seen))
	}
	// Without limit, a page is ledger.DefaultLimit rows.
	var p apiPageJSON
	apiGet(t, c, "/api/transactions", http.StatusOK, &p)
	if len(p.Items) != ledger.DefaultLimit || p.NextCursor == nil {
		t.Errorf("default page: %d rows", len(p.Items))
	}
}

func TestAPITransactionFilters(t *testing.T) {
	ta := newTestApp(t)
	ada, c := ta.signedInAda()
	b := ledgerBook(t, ta, ada.ID)
	l := newSampleLedger(t, b)
	payees := func(t *testing.T, query string) []string {
		t.Helper()
		var p apiPageJSON
		apiGet(t, c, "/api/transactions?"+query, http.StatusOK, &p)
		out := []string{}
		for _, it := range p.Items {
			out = append(out, it.Payee)
		}
		return out
	}
	id := func(n uint) string { return strconv.FormatUint(uint64(n), 10) }
	for _, tc := range []struct {
		name, query string
		want        []string
	}{
		{"account", "account_id=" + id(l.jpy.ID), []string{"Ramen"}},
		{"category takes split parts", "category_id=" + id(l.food.ID), []string{"Ramen", "Big Store", "Corner Shop"}},
		{"account and category", "account_id=" + id(l.usd.ID) + "&category_id=" + id(l.food.ID), []string{"Big Store", "Corner Shop"}},
		{"dates inclusive", "from=2024-03-02&to=2024-03-03", []string{"To euros", "To euros", "Big Store"}},
		{"dates and account", "from=2024-03-02&to=2024-03-03&account_id=" + id(l.eur.ID), []string{"To euros"}},
		{"text in payee or memo", "q=MILK", []string{"Corner Shop"}},
		{"text and category", "q=store&category_id=" + id(l.fun.ID), []string{"Big Store"}},
		{"min and max in the account's decimals", "account_id=" + id(l.usd.ID) + "&min=-60&max=-12.34", []string{"Big Store", "Corner Shop"}},
		{"max in yen", "account_id=" + id(l.jpy.ID) + "&max=-1234", []string{"Ramen"}},
		{"min in yen excludes", "account_id=" + id(l.jpy.ID) + "&min=-1233", []string{}},
		{"min in dinars", "account_id=" + id(l.kwd.ID) + "&min=1.234&max=1.234", []string{"Souk"}},
		{"everything at once", "account_id=" + id(l.usd.ID) + "&category_id=" + id(l.food.ID) + "&from=2024-03-01&to=2024-03-01&q=corner&min=-12.34&max=0",
			[]string{"Corner Shop"}},
		{"nothing matches", "q=nowhere", []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := payees(t, tc.query); !slices.Equal(got, tc.want) {
				t.Errorf("%s: %v, want %v", tc.query, got, tc.want)
			}
		})
	}
}

// TestAPIAmountFilterWithoutAccount: min and max without account_id are read in the decimals
// all the accounts share, and refused when they differ.
func TestAPIAmountFilterWithoutAccount(t *testing.T) {
	ta := newTestApp(t)
	ada, c := ta.signedInAda()
	b := ledgerBook(t, ta, ada.ID)
	usd := seedAccount(t, b, "Checking", "USD", 0)
	eur := seedAccount(t, b, "Euro", "EUR", 0)
	seedTx(t, b, ledger.TxInput{AccountID: usd.ID, Date: "2024-03-01", Payee: "dollars", Amount: -1000})
	seedTx(t, b, ledger.TxInput{AccountID: eur.ID, Date: "2024-03-02", Payee: "euros", Amount: -1001})
	var p apiPageJSON
	apiGet(t, c, "/api/transactions?min=-10&max=-10", http.StatusOK, &p)
	if len(p.Items) != 1 || p.Items[0].Payee != "dollars" {
		t.Errorf("min=max=-10 across USD and EUR: %+v", p.Items)
	}
	res := apiGet(t, c, "/api/transactions?min=-10.001", http.StatusBadRequest, nil)
	if msg := apiErrorOf(t, res); !strings.HasPrefix(msg, "min: ") || !strings.Contains(msg, "EUR/USD amounts have at most 2 decimals") {
		t.Errorf("error = %q", msg)
	}

	jpy := seedAccount(t, b, "Yen", "JPY", 0)
	res = apiGet(t, c, "/api/transactions?max=-10", http.StatusBadRequest, nil)
	if msg := apiErrorOf(t, res); !strings.HasPrefix(msg, "max: ") || !strings.Contains(msg, "account_id") {
		t.Errorf("error = %q", msg)
	}
	apiGet(t, c, "/api/transactions?max=-10&account_id="+strconv.FormatUint(uint64(jpy.ID), 10), http.StatusOK, nil)
}

func apiErrorOf(t testing.TB, res *response) string {
	t.Helper()
	var e map[string]string
	if err := json.Unmarshal([]byte(res.body), &e); err != nil || len(e) != 1 || e["error"] == "" {
		t.Fatalf("error body %q: want {\"error\": message}", res.body)
	}
	return e["error"]
}

// TestAPIForeignIDs: another user's account or category answers exactly what an id that does
// not exist answers, and shows none of their data.
func TestAPIForeignIDs(t *testing.T) {
	ta := newTestApp(t)
	ada, c := ta.signedInAda()
	bob := ta.createUser("bob", "bob@example.com", goodPassword)
	newSampleLedger(t, ledgerBook(t, ta, ada.ID))
	bb := ledgerBook(t, ta, bob.ID)
	bobAccount := seedAccount(t, bb, "Bob's", "USD", 4200)
	bobCategory := seedCategory(t, bb, "Bob's category", "Bob's group")
	seedTx(t, bb, ledger.TxInput{AccountID: bobAccount.ID, Date: "2024-03-06", Payee: "Bob's shop", Amount: -1, CategoryID: bobCategory.ID})
	const missing = 999999
	for _, param := range []struct {
		name    string
		foreign uint
	}{{"account_id", bobAccount.ID}, {"category_id", bobCategory.ID}} {
		t.Run(param.name, func(t *testing.T) {
			for _, extra := range []string{"", "&min=-1", "&limit=10&from=2024-01-01"} {
				foreign := apiGet(t, c, fmt.Sprintf("/api/transactions?%s=%d%s", param.name, param.foreign, extra), http.StatusNotFound, nil)
				absent := apiGet(t, c, fmt.Sprintf("/api/transactions?%s=%d%s", param.name, missing, extra), http.StatusNotFound, nil)
				if foreign.body != absent.body {
					t.Errorf("another user's id answers %s, a missing one %s", foreign.body, absent.body)
				}
				if msg := apiErrorOf(t, foreign); !strings.HasPrefix(msg, param.name+": ") {
					t.Errorf("error = %q, want it to name %s", msg, param.name)
				}
				if strings.Contains(foreign.body, "Bob") {
					t.Errorf("the answer shows bob's data: %s", foreign.body)
				}
			}
		})
	}
	for _, path := range []string{"/api/accounts", "/api/categories", "/api/transactions"} {
		if res := apiGet(t, c, path, http.StatusOK, nil); strings.Contains(res.body, "Bob") {
			t.Errorf("%s shows bob's data: %s", path, res.body)
		}
	}
}

func TestAPIBadParams(t *testing.T) {
	ta := newTestApp(t)
	ada, c := ta.signedInAda()
	l := newSampleLedger(t, ledgerBook(t, ta, ada.ID))
	usd := "account_id=" + strconv.FormatUint(uint64(l.usd.ID), 10) + "&"
	jpy := "account_id=" + strconv.FormatUint(uint64(l.jpy.ID), 10) + "&"
	for _, tc := range []struct{ query, param string }{
		{"account_id=abc", "account_id"},
		{"account_id=-1", "account_id"},
		{"account_id=0", "account_id"},
		{"account_id=1.5", "account_id"},
		{"account_id=99999999999999999999", "account_id"},
		{"category_id=x", "category_id"},
		{"from=2024-13-01", "from"},
		{"from=2024-02-30", "from"},
		{"to=yesterday", "to"},
		{"to=2024-3-1", "to"},
		{"cursor=garbage", "cursor"},
		{"cursor=2024-01-01.0", "cursor"},
		{"limit=0", "limit"},
		{"limit=-5", "limit"},
		{"limit=" + strconv.Itoa(ledger.MaxLimit+1), "limit"},
		{"limit=ten", "limit"},
		{"limit=1e2", "limit"},
		{usd + "min=12.345", "min"},
		{jpy + "max=12.5", "max"},
		{usd + "min=abc", "min"},
		{usd + "max=1e3", "max"},
		{usd + "min=1,000.00", "min"},
		{"q=" + strings.Repeat("x", 201), "q"},
	} {
		t.Run(tc.query[:min(len(tc.query), 40)], func(t *testing.T) {
			res := apiGet(t, c, "/api/transactions?"+tc.query, http.StatusBadRequest, nil)
			if msg := apiErrorOf(t, res); !strings.HasPrefix(msg, tc.param+": ") {
				t.Errorf("error = %q, want it to name %s", msg, tc.param)
			}
		})
	}
	// The edges of what is allowed.
	for _, query := range []string{"limit=1", "limit=" + strconv.Itoa(ledger.MaxLimit), "account_id=&category_id=&from=&to=&q=&cursor=&limit=&min=&max="} {
		apiGet(t, c, "/api/transactions?"+query, http.StatusOK, nil)
	}
}

func TestAPILedgerAnonymous(t *testing.T) {
	ta := newTestApp(t)
	ada, _ := ta.signedInAda()
	newSampleLedger(t, ledgerBook(t, ta, ada.ID))
	anon := ta.client()
	for _, path := range []string{"/api/accounts", "/api/categories", "/api/transactions", "/api/transactions?account_id=1"} {
		res := apiGet(t, anon, path, http.StatusUnauthorized, nil)
		apiErrorOf(t, res)
		if strings.Contains(res.body, "Checking") {
			t.Errorf("%s shows data to a stranger", path)
		}
	}
}
