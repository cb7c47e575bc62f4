package handlers

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"tally/models"
	"tally/testkit"
	"tally/testkit/testdb"
)

func TestExport(t *testing.T) {
	ta := newTestApp(t)
	u := ta.createUser("ada", "ada@example.com", goodPassword)
	ta.createUser("bob", "bob@example.com", goodPassword)
	other := ta.client()
	other.login("bob", goodPassword)
	elsewhere := ta.client()
	elsewhere.login("ada", goodPassword)
	c := ta.client()
	c.login("ada", goodPassword)
	c.get("/profile/edit")
	c.post("/profile", profileValues("phone_number", "+44 20 7946 0958", "github_link", "ada", "birth_date", "1990-05-17"))
	c.upload("/profile/avatar", "x.png", "image/png", encodePNG(t, halves(20, 20)))
	c.requestEmailChange("new@example.com", goodPassword) // events and mails to export

	page := c.get("/account/export")
	wantStatus(t, page, http.StatusOK)
	if page.doc.Find("form#export-form #password").Length() != 1 {
		t.Fatal("no password form")
	}
	if _, ok := page.doc.Find("form#export-form").Attr("hx-post"); ok {
		t.Error("the download form must be a plain form, not htmx")
	}
	res := c.post("/account/export", url.Values{"password": {"wrong-" + goodPassword}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if !strings.Contains(res.doc.Find("#password-error").Text(), "not correct") {
		t.Error("no error beside the password")
	}
	if res.Header.Get("Content-Disposition") != "" {
		t.Error("wrong password got a download")
	}

	res = c.post("/account/export", url.Values{"password": {goodPassword}})
	wantStatus(t, res, http.StatusOK)
	for h, want := range map[string]string{
		"Content-Type":        "application/json; charset=utf-8",
		"Content-Disposition": `attachment; filename="tally-ada-2026-11-23.json"`,
		"Cache-Control":       "no-store",
	} {
		if got := res.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	stored, _ := models.FindUser(ta.db, u.ID)
	if strings.Contains(res.body, stored.PasswordHash) || strings.Contains(res.body, "argon2") || strings.Contains(strings.ToLower(res.body), "password_hash") {
		t.Error("the export holds the password hash")
	}
	if strings.Contains(res.body, "bob") {
		t.Error("the export holds another user's data")
	}
	var x struct {
		User struct {
			ID       uint   `json:"id"`
			Username string `json:"username"`
			Email    string `json:"email"`
		} `json:"user"`
		Profile struct {
			PhoneNumber string `json:"phone_number"`
			GitHubLink  string `json:"github_link"`
			BirthDate   string `json:"birth_date"`
			Avatar      *struct {
				ContentType string `json:"content_type"`
				DataBase64  string `json:"data_base64"`
			} `json:"avatar"`
		} `json:"profile"`
		Sessions []struct {
			ID      string `json:"id"`
			Device  string `json:"device"`
			IP      string `json:"ip"`
			Current bool   `json:"current"`
		} `json:"sessions"`
		SecurityEvents []struct {
			Kind        string `json:"kind"`
			Description string `json:"description"`
		} `json:"security_events"`
		Emails []struct {
			To      string `json:"to"`
			Subject string `json:"subject"`
		} `json:"emails"`
		Finance *map[string]any `json:"finance"`
	}
	if err := json.Unmarshal([]byte(res.body), &x); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if x.User.ID != u.ID || x.User.Username != "ada" || x.User.Email != "ada@example.com" {
		t.Errorf("user = %+v", x.User)
	}
	if x.Profile.PhoneNumber != "+442079460958" || x.Profile.GitHubLink != "https://github.com/ada" || x.Profile.BirthDate != "1990-05-17" {
		t.Errorf("profile = %+v", x.Profile)
	}
	a, _ := models.FindAvatar(ta.db, u.ID)
	if x.Profile.Avatar == nil || x.Profile.Avatar.ContentType != a.ContentType || x.Profile.Avatar.DataBase64 != base64.StdEncoding.EncodeToString(a.Data) {
		t.Error("picture missing from the export")
	}
	if len(x.Sessions) != 2 {
		t.Errorf("sessions = %+v, want this one and the other", x.Sessions)
	}
	current := 0
	for _, s := range x.Sessions {
		if s.Current {
			current++
		}
		if s.ID == "" || s.IP == "" || s.Device == "" {
			t.Errorf("session lacks details: %+v", s)
		}
	}
	if current != 1 {
		t.Errorf("%d sessions marked current", current)
	}
	kinds := ""
	for _, e := range x.SecurityEvents {
		kinds += e.Kind + " "
		if e.Description == "" || e.Description == e.Kind {
			t.Errorf("event %s has no description", e.Kind)
		}
	}
	if !strings.Contains(kinds, models.EventEmailChangeRequested) || !strings.Contains(kinds, models.EventDataExported) {
		t.Errorf("events = %s", kinds)
	}
	if len(x.Emails) != 2 || x.Emails[1].To != "new@example.com" {
		t.Errorf("emails = %+v", x.Emails)
	}
	if strings.Contains(res.body, "/account/email/confirm") {
		t.Error("the export holds a live link")
	}
	if x.Finance == nil || len(*x.Finance) != 1 || (*x.Finance)["ledger"] == nil {
		t.Errorf("finance = %v, want the ledger (export_ledger_test.go checks its content)", x.Finance)
	}
}

// userRows counts, in every table with a user_id column, the rows of a user: whatever tables
// later features add, deletion must leave none.
func userRows(t *testing.T, ta *testApp, userID uint) map[string]int64 {
	t.Helper()
	counts := map[string]int64{}
	for _, table := range tablesWithUserID(t, ta) {
		var n int64
		ta.db.Table(table).Where("user_id = ?", userID).Count(&n)
		counts[table] = n
	}
	var n int64
	ta.db.Model(&models.User{}).Where("id = ?", userID).Count(&n)
	counts["users"] = n
	return counts
}

// tablesWithUserID names the tables that have a user_id column.
func tablesWithUserID(t *testing.T, ta *testApp) []string {
	t.Helper()
	query := `SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) c ON c.name = 'user_id' WHERE m.type = 'table'`
	if testdb.Postgres() {
		query = `SELECT c.table_name FROM information_schema.columns c
			JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
			WHERE c.table_schema = current_schema() AND c.column_name = 'user_id' AND t.table_type = 'BASE TABLE'`
	}
	var tables []string
	if err := ta.db.Raw(query).Scan(&tables).Error; err != nil {
		t.Fatal(err)
	}
	return tables
}

func TestEveryUserTableCascades(t *testing.T) {
	ta := newTestApp(t)
	tables := tablesWithUserID(t, ta)
	if len(tables) < 5 {
		t.Fatalf("tables with user_id: %v", tables)
	}
	for _, table := range tables {
		var fks []struct {
			Table    string
			From     string
			OnDelete string `gorm:"column:on_delete"`
		}
		query := `SELECT "table", "from", on_delete FROM pragma_foreign_key_list(?)`
		if testdb.Postgres() {
			query = `SELECT ccu.table_name AS "table", kcu.column_name AS "from", rc.delete_rule AS on_delete
				FROM information_schema.referential_constraints rc
				JOIN information_schema.key_column_usage kcu ON kcu.constraint_name = rc.constraint_name AND kcu.constraint_schema = rc.constraint_schema
				JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = rc.unique_constraint_name AND ccu.constraint_schema = rc.unique_constraint_schema
				WHERE kcu.table_schema = current_schema() AND kcu.table_name = ?`
		}
		ta.db.Raw(query, table).Scan(&fks)
		ok := false
		for _, fk := range fks {
			ok = ok || fk.Table == "users" && fk.From == "user_id" && fk.OnDelete == "CASCADE"
		}
		if !ok {
			t.Errorf("%s.user_id does not cascade on user delete: %+v", table, fks)
		}
	}
}

func TestDeleteAccount(t *testing.T) {
	ta := newTestApp(t)
	u := ta.createUser("ada", "ada@example.com", goodPassword)
	bob := ta.createUser("bob", "bob@example.com", goodPassword)
	bc := ta.client()
	bc.login("bob", goodPassword)
	bc.get("/profile")
	bc.upload("/profile/avatar", "x.png", "image/png", encodePNG(t, halves(20, 20)))
	bobBefore := userRows(t, ta, bob.ID)

	elsewhere := ta.client()
	elsewhere.login("ada", goodPassword)
	c := ta.client()
	c.login("ada", goodPassword)
	c.get("/profile/edit")
	c.post("/profile", profileValues("phone_number", "+44 20 7946 0958"))
	c.upload("/profile/avatar", "x.png", "image/png", encodePNG(t, halves(20, 20)))
	ta.stopOutbox() // leave a mail pending
	c.requestEmailChange("new@example.com", goodPassword)
	// A ledger: an account (with the default categories), a row, and a deleted row awaiting undo.
	c.get("/accounts")
	wantStatus(t, c.post("/accounts", url.Values{"name": {"Checking"}, "kind": {"checking"}, "currency": {"USD"},
		"opening_balance": {"100.00"}, "opening_date": {"2026-11-01"}}), http.StatusSeeOther)
	var accountID uint
	ta.db.Raw(`SELECT id FROM accounts WHERE user_id = ?`, u.ID).Scan(&accountID)
	for _, payee := range []string{"Corner Shop", "Bakery"} {
		wantStatus(t, c.post("/transactions", url.Values{"account_id": {strconv.FormatUint(uint64(accountID), 10)},
			"date": {"2026-11-20"}, "payee": {payee}, "amount": {"-3.50"}}), http.StatusSeeOther)
	}
	var last uint
	ta.db.Raw(`SELECT MAX(id) FROM transactions WHERE user_id = ?`, u.ID).Scan(&last)
	wantStatus(t, c.post("/transactions/"+strconv.FormatUint(uint64(last), 10)+"/delete", nil), http.StatusSeeOther)
	// A budget amount, and a bank file imported (staged rows, the mapping kept for the account).
	var category uint
	ta.db.Raw(`SELECT MIN(id) FROM categories WHERE user_id = ?`, u.ID).Scan(&category)
	wantStatus(t, c.post("/budget", url.Values{"month": {"2026-11"}, "category_id": {strconv.FormatUint(uint64(category), 10)},
		"amount": {"10.00"}}), http.StatusSeeOther)
	(&ledgerClient{client: c, t: t, ta: ta, user: u}).importCSV(accountID, "bank.csv", []byte("Date,Payee,Amount\n2026-11-25,Market,-4.20\n"))
	// Two-factor sign-in: its secret and recovery codes go too (and deleting asks for a code).
	secret, _ := c.enrolTwoFactor()
	// A passkey: its row goes too.
	ta.addPasskey(u, "Laptop")
	for table, n := range userRows(t, ta, u.ID) {
		// A verified account has no pending registration; TestEveryUserTableCascades covers that table.
		if n == 0 && table != "registrations" {
			t.Fatalf("nothing in %s to delete: the test would prove nothing", table)
		}
	}
	guesser := ta.client()
	guesser.get("/login")
	guesser.post("/login", url.Values{"login": {"ada"}, "password": {"wrong-" + goodPassword}})
	failures := func() (n int64) {
		ta.db.Model(&models.LoginFailure{}).Where("key = ?", models.UserKey(u)).Count(&n)
		return n
	}
	if failures() == 0 {
		t.Fatal("no login failure counted under the account")
	}

	page := c.get("/account/delete")
	wantStatus(t, page, http.StatusOK)
	if page.doc.Find(`#export-first a[href="/account/export"]`).Length() != 1 {
		t.Error("the export is not offered first")
	}
	res := c.post("/account/delete", url.Values{"password": {"wrong-" + goodPassword}}, htmx...)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if res.doc.Find("form#delete-form #password-error").Length() != 1 {
		t.Error("no error beside the password")
	}
	if userRows(t, ta, u.ID)["users"] != 1 {
		t.Fatal("deleted with a wrong password")
	}

	res = c.post("/account/delete", url.Values{"password": {goodPassword}, "code": {totpCode(t, secret, ta.clock.Now().Add(30*time.Second))}})
	wantStatus(t, res, http.StatusSeeOther)
	if loc := res.Header.Get("Location"); loc != "/?deleted=1" {
		t.Errorf("Location = %q", loc)
	}
	if c.cookie("tally_session") != "" {
		t.Error("the session cookie was not expired")
	}
	for table, n := range userRows(t, ta, u.ID) {
		if n != 0 {
			t.Errorf("%d rows of the deleted user left in %s", n, table)
		}
	}
	if n := failures(); n != 0 {
		t.Errorf("%d login failures of the deleted account left", n)
	}
	for table, n := range userRows(t, ta, bob.ID) {
		if n != bobBefore[table] {
			t.Errorf("bob's rows in %s: %d, were %d", table, n, bobBefore[table])
		}
	}
	landing := c.get(res.Header.Get("Location"))
	wantStatus(t, landing, http.StatusOK)
	if got := landing.doc.Find("#deleted-notice").Text(); got != "Your account has been deleted." {
		t.Errorf("landing notice = %q", got)
	}
	if ta.client().get("/").doc.Find("#deleted-notice").Length() != 0 {
		t.Error("the notice shows without the query")
	}
	for name, cl := range map[string]*client{"this browser": c, "another browser": elsewhere} {
		if cl.get("/dashboard").StatusCode != http.StatusSeeOther {
			t.Errorf("%s is still signed in", name)
		}
	}
	c.get("/login")
	if res := c.post("/login", url.Values{"login": {"ada"}, "password": {goodPassword}}); res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("login after deletion: %d", res.StatusCode)
	}
}

func TestDeleteAccountHTMX(t *testing.T) {
	ta := newTestApp(t)
	_, c := ta.signedInAda()
	c.get("/account/delete")
	res := c.post("/account/delete", url.Values{"password": {goodPassword}}, htmx...)
	wantStatus(t, res, http.StatusNoContent)
	if got := res.Header.Get("HX-Redirect"); got != "/?deleted=1" {
		t.Errorf("HX-Redirect = %q", got)
	}
}

func TestDeleteLastSuperuserRefused(t *testing.T) {
	ta := newTestApp(t)
	root := ta.createUser("root", "root@example.com", goodPassword)
	ta.db.Model(root).Updates(map[string]any{"is_superuser": true, "is_staff": true})
	c := ta.client()
	c.login("root", goodPassword)
	c.get("/account/delete")
	res := c.post("/account/delete", url.Values{"password": {goodPassword}}, htmx...)
	wantStatus(t, res, http.StatusUnprocessableEntity)
	if !strings.Contains(res.doc.Find("#form-error").Text(), "only administrator") {
		t.Errorf("form error = %q", res.doc.Find("#form-error").Text())
	}
	other := ta.createUser("root2", "root2@example.com", goodPassword)
	ta.db.Model(other).Updates(map[string]any{"is_superuser": true, "is_staff": true})
	wantStatus(t, c.post("/account/delete", url.Values{"password": {goodPassword}}), http.StatusSeeOther)
}

// TestDeleteAccountLeavesNoTrace uses an account in every way that stores its names (sign-ins,
// failed logins before and after it existed, a profile, an email change, admin actions on it
// and by it, queued mail) and deletes it through the page. Once the answer is back, no file of
// the data dir holds its username, addresses or names, in any case, while the audit rows of
// other accounts keep its id.
func TestDeleteAccountLeavesNoTrace(t *testing.T) {
	testdb.SkipOnPostgres(t, "it searches the data dir's database files for the deleted data")
	ta := newTestApp(t)
	ta.stopOutbox() // mail stays queued, in the database
	const username, email = "ZqxJkw", "ZqxJkw@Example.org"
	secrets := []string{"zqxjkw", "qwfpgjx", "vbnmzxq"} // username and addresses, first name, last name

	// A failed login for the address before the account exists counts under the typed name.
	early := ta.client()
	early.get("/login")
	early.post("/login", url.Values{"login": {email}, "password": {"wrong-" + goodPassword}})

	root := ta.createAdmin("root", true)
	bob := ta.createUser("bob", "bob@example.com", goodPassword)
	u := testkit.CreateUser(t, ta.db, models.NewUser{Username: username, Email: email, FirstName: "Qwfpgjx", LastName: "Vbnmzxq"}, goodPassword, ta.clock.Now())
	c := ta.signedIn(username)
	c.get("/profile/edit")
	wantStatus(t, c.post("/profile", profileValues("first_name", "Qwfpgjx", "last_name", "Vbnmzxq", "github_link", "zqxjkw")), http.StatusSeeOther)
	c.requestEmailChange("zqxjkw.new@example.org", goodPassword)
	guesser := ta.client()
	guesser.get("/login")
	for _, login := range []string{username, strings.ToUpper(email)} {
		guesser.post("/login", url.Values{"login": {login}, "password": {"wrong-" + goodPassword}})
	}

	// A superuser acts on the account; it is staff for a while and acts on bob.
	admin := ta.signedIn("root")
	for _, action := range []string{"/deactivate", "/activate", "/send-reset", "/impersonate"} {
		admin.get(userPath(u, ""))
		wantStatus(t, admin.post(userPath(u, action), nil), http.StatusSeeOther)
	}
	admin.get("/dashboard")
	wantStatus(t, admin.post("/admin/impersonate/stop", nil), http.StatusSeeOther)
	admin.get(userPath(u, ""))
	wantStatus(t, admin.post(userPath(u, "/staff"), url.Values{"grant": {"1"}}), http.StatusSeeOther)
	admin.get(userPath(u, ""))
	c = ta.signedIn(username)
	c.get(userPath(bob, ""))
	wantStatus(t, c.post(userPath(bob, "/deactivate"), nil), http.StatusSeeOther)
	c.get(userPath(bob, ""))
	// Rows as earlier versions wrote them, naming the admin and the user viewed as.
	for _, e := range []models.SecurityEvent{
		{UserID: bob.ID, ActorID: &u.ID, Kind: models.EventAdminChange, Detail: "Account activated by " + username},
		{UserID: bob.ID, ActorID: &u.ID, Kind: models.EventImpersonation, Detail: "Support access ended by logout by " + username},
		{UserID: root.ID, Kind: models.EventImpersonation, Detail: "Viewing as " + username + " ended by logout"},
	} {
		e.CreatedAt = ta.clock.Now()
		if err := models.RecordEvent(ta.db, &e); err != nil {
			t.Fatal(err)
		}
	}
	// A mail to the address that is not linked to the account.
	if err := models.QueueEmail(ta.db, &models.Email{To: strings.ToLower(email), Purpose: models.MailNotice,
		Subject: "Your account", Text: "Hello " + username}, ta.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if found := filesHolding(t, ta.dir, secrets); len(found) == 0 {
		t.Fatal("no file holds the account's data before the deletion: the test would prove nothing")
	}

	c.get("/account/delete")
	wantStatus(t, c.post("/account/delete", url.Values{"password": {goodPassword}}), http.StatusSeeOther)
	for _, f := range filesHolding(t, ta.dir, secrets) {
		t.Error(f)
	}

	// The audit rows of other accounts stay, with the deleted account's id.
	var bobsByU, rootsAboutU int64
	ta.db.Model(&models.SecurityEvent{}).Where("user_id = ? AND actor_id = ?", bob.ID, u.ID).Count(&bobsByU)
	ta.db.Model(&models.SecurityEvent{}).Where("user_id = ? AND detail LIKE ?", root.ID, fmt.Sprintf("%%user #%d%%", u.ID)).Count(&rootsAboutU)
	if bobsByU != 3 || rootsAboutU < 3 {
		t.Errorf("audit rows: %d of bob's name the deleted account as actor (want 3), %d of root's name its id (want 3 or more)", bobsByU, rootsAboutU)
	}
}

// filesHolding lists where any of secrets (lower-case) occurs, in any case, in the files under
// dir, read as raw bytes.
func filesHolding(t *testing.T, dir string, secrets []string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		b = bytes.ToLower(b)
		for _, s := range secrets {
			if i := bytes.Index(b, []byte(s)); i >= 0 {
				lo, hi := max(0, i-40), min(len(b), i+len(s)+40)
				found = append(found, fmt.Sprintf("%s (%d bytes) holds %q at %d: %q", filepath.Base(path), len(b), s, i, b[lo:hi]))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}
