package e2e

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"tally/models"
	"tally/testkit"
)

// adminWatcher runs in every document before the page's own scripts. It counts the swaps
// htmx has settled (content swapped in is wired up only then, some 20 ms after the swap) and
// the requests the search field starts, so a test can tell one debounced request from one per
// keystroke.
const adminWatcher = `window.__settled = 0;
window.__searchRequests = 0;
document.addEventListener('htmx:afterSettle', () => { window.__settled++; });
document.addEventListener('htmx:beforeRequest', e => {
	if (e.detail.elt && e.detail.elt.id === 'admin-search') window.__searchRequests++;
});`

// adminWait bounds one wait for the page to change after an action.
const adminWait = 5 * time.Second

// adminSuperuser stores an active, verified superuser (staff too) directly in the database.
func adminSuperuser(e *env, username, firstName string) *models.User {
	e.t.Helper()
	hash, err := models.HashPassword(goodPassword, testkit.Hash)
	if err != nil {
		e.t.Fatal(err)
	}
	u, err := models.CreateSuperuser(e.db, models.NewUser{
		Username: username, Email: username + "@example.com", FirstName: firstName, LastName: "Admin",
		PasswordHash: hash,
	}, time.Now().UTC())
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// adminDo is do with the wait bounded by adminWait instead of the whole test's time.
func adminDo(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	waitCtx, cancel := context.WithTimeout(ctx, adminWait)
	defer cancel()
	do(t, waitCtx, what, steps...)
}

// adminRows is the usernames the admin list shows, in page order.
func adminRows(t *testing.T, ctx context.Context) []string {
	t.Helper()
	return eval[[]string](t, ctx, `[...document.querySelectorAll('#admin-users > tr > td.username')].map(td => td.textContent.trim())`)
}

// waitAdminRows waits until the list shows exactly the users want, in any order. Results for
// a partial query show other users, so they do not satisfy it. The wait is a DOM query, which
// goes on in a new document, so a search that reloads the page is caught by the marker
// check that follows, not by a timeout here.
func waitAdminRows(t *testing.T, ctx context.Context, what string, want ...string) {
	t.Helper()
	xpath := `//tbody[@id="admin-users"][count(tr)=` + strconv.Itoa(len(want)) + `]`
	for _, u := range want {
		xpath += `[tr/td[@class="username"][normalize-space()=` + strconv.Quote(u) + `]]`
	}
	waitCtx, cancel := context.WithTimeout(ctx, adminWait)
	defer cancel()
	if err := chromedp.Do(waitCtx, chromedp.WaitReady(chromedp.Search(xpath))); err != nil {
		t.Fatalf("%s: the list never showed exactly %q (rows now %q): %v\n%s",
			what, want, adminRows(t, ctx), err, pageState(ctx))
	}
}

// waitSettled waits until htmx has settled a swap since the count was before: htmx wires up
// swapped content (hx-* attributes, [autofocus]) only then, some 20 ms after the swap.
func waitSettled(t *testing.T, ctx context.Context, what string, before int) {
	t.Helper()
	waitCtx, cancel := context.WithTimeout(ctx, adminWait)
	defer cancel()
	if _, err := chromedp.Run(waitCtx, chromedp.PollFunction[bool](`n => window.__settled > n`,
		chromedp.WithPollingArgs(before))); err != nil {
		t.Fatalf("%s: no htmx swap settled: %v\n%s", what, err, pageState(ctx))
	}
}

// adminQuery is the q parameter of the address the browser shows, and whether it is on the
// admin user list at all.
func adminQuery(t *testing.T, e *env, ctx context.Context) (q string, onList bool) {
	t.Helper()
	loc := location(t, ctx)
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("location %q: %v", loc, err)
	}
	return u.Query().Get("q"), u.Scheme+"://"+u.Host == e.base && u.Path == "/admin/users"
}

// TestBrowserAdminActiveSearch is issue 7's active search: typing in the search field
// replaces the results in place after a pause, pushes the query into the address bar and never
// reloads the page.
func TestBrowserAdminActiveSearch(t *testing.T) {
	e := startApp(t)
	adminSuperuser(e, "root", "Rhea")
	// "mar" matches marta and marcus only; "m" and "ma" also match mateo or mila, so a
	// result for a partial query is told apart from the final one.
	for _, name := range []string{"marta", "marcus", "mateo", "mila", "oliver"} {
		e.createUser(name, name+"@example.com", strings.ToUpper(name[:1])+name[1:], goodPassword)
	}
	everyone := []string{"root", "marta", "marcus", "mateo", "mila", "oliver"}
	ctx := newBrowser(t)
	addPageScript(t, ctx, adminWatcher)
	logIn(t, e, ctx, "root", "Rhea")

	do(t, ctx, "open the user list",
		chromedp.Navigate(e.url("/admin/users")),
		chromedp.WaitVisible(chromedp.ID("admin-users-table")),
		chromedp.WaitVisible(chromedp.CSS(`#admin-filter #admin-search`)),
		chromedp.Evaluate[chromedp.Void](`window.__marker = 1`),
	)
	if got := adminRows(t, ctx); !adminSameUsers(got, everyone) {
		t.Fatalf("the unfiltered list shows %q, want %q", got, everyone)
	}
	if eval[int](t, ctx, `typeof window.__settled === 'number' ? 0 : -1`) < 0 {
		t.Fatal("adminWatcher is not installed in this document")
	}

	// Type like a user, one key at a time, and no Enter: only the input events may search.
	settled := eval[int](t, ctx, `window.__settled`)
	do(t, ctx, "type mar into the search field", chromedp.SendKeys(chromedp.ID("admin-search"), "mar"))
	// Exactly marta and marcus: root, mateo, mila and oliver must be gone.
	waitAdminRows(t, ctx, "search for mar", "marta", "marcus")
	if m := eval[int](t, ctx, `window.__marker || 0`); m != 1 {
		t.Error("window marker lost: the search reloaded the page instead of swapping the results")
	}
	waitSettled(t, ctx, "search for mar", settled)
	if q, onList := adminQuery(t, e, ctx); !onList || q != "mar" {
		t.Errorf("address bar shows %s, want /admin/users with q=mar (hx-push-url)", location(t, ctx))
	}
	if n := eval[int](t, ctx, `window.__searchRequests`); n != 1 {
		t.Errorf("typing three letters sent %d search requests, want 1 (delay:300ms debounces the keystrokes)", n)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#admin-results').length`); n != 1 {
		t.Errorf("%d elements #admin-results, want 1 (outerHTML swap, not nested)", n)
	}
	if c := eval[string](t, ctx, `document.getElementById('admin-count').textContent.trim()`); c != "2 users" {
		t.Errorf("count %q, want \"2 users\"", c)
	}
	// The field is outside the swapped results: the user can go on typing.
	if a := eval[string](t, ctx, `document.activeElement ? document.activeElement.id : ''`); a != "admin-search" {
		t.Errorf("focus on #%s after the swap, want it to stay in #admin-search", a)
	}

	// Clear the field the way a user does: backspace over each letter.
	settled = eval[int](t, ctx, `window.__settled`)
	do(t, ctx, "clear the search field", chromedp.SendKeys(chromedp.ID("admin-search"), strings.Repeat(kb.Backspace, 3)))
	waitAdminRows(t, ctx, "empty search", everyone...)
	if m := eval[int](t, ctx, `window.__marker || 0`); m != 1 {
		t.Error("window marker lost: clearing the search reloaded the page")
	}
	waitSettled(t, ctx, "empty search", settled)
	if q, onList := adminQuery(t, e, ctx); !onList || q != "" {
		t.Errorf("address bar shows %s after clearing, want /admin/users without a query", location(t, ctx))
	}
	if n := eval[int](t, ctx, `window.__searchRequests`); n != 2 {
		t.Errorf("%d search requests after typing and clearing, want 2", n)
	}
	if c := eval[string](t, ctx, `document.getElementById('admin-count').textContent.trim()`); c != "6 users" {
		t.Errorf("count %q after clearing, want \"6 users\"", c)
	}
}

// adminSameUsers says whether got and want hold the same usernames, in any order.
func adminSameUsers(got, want []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want)))
}

// adminMe is what /api/me answers, as far as impersonation goes.
type adminMe struct {
	Status int `json:"status"`
	Body   struct {
		Username     string `json:"username"`
		Impersonator *struct {
			ID       uint   `json:"id"`
			Username string `json:"username"`
		} `json:"impersonator"`
	} `json:"body"`
}

// adminFetchMe asks /api/me from inside the page, with the page's cookies.
func adminFetchMe(t *testing.T, ctx context.Context) adminMe {
	t.Helper()
	me, err := chromedp.Run(ctx, chromedp.Evaluate[adminMe](
		`fetch('/api/me').then(async r => ({status: r.status, body: await r.json()}))`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("fetch /api/me: %v\n%s", err, pageState(ctx))
	}
	if me.Status != 200 {
		t.Fatalf("/api/me answered %d, want 200", me.Status)
	}
	return me
}

// adminText is the trimmed text of the first element matching css, or "" when there is none.
func adminText(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	return eval[string](t, ctx, `(el => el ? el.textContent.replace(/\s+/g, ' ').trim() : '')(document.querySelector(`+strconv.Quote(css)+`))`)
}

// adminHas says whether an element matches css.
func adminHas(t *testing.T, ctx context.Context, css string) bool {
	t.Helper()
	return eval[bool](t, ctx, `document.querySelector(`+strconv.Quote(css)+`) !== null`)
}

// TestBrowserImpersonation is issue 7's "log in as": a superuser views Tally as a normal user
// from the admin, sees their pages under a banner, is refused the pages that would take over
// the account, and comes back to the user's admin page as themselves.
func TestBrowserImpersonation(t *testing.T) {
	e := startApp(t)
	root := adminSuperuser(e, "root", "Rhea")
	marta := e.createUser("marta", "marta@example.com", "Marta", goodPassword)
	ctx := newBrowser(t)
	logIn(t, e, ctx, "root", "Rhea")
	detail := "/admin/users/" + strconv.FormatUint(uint64(marta.ID), 10)

	adminDo(t, ctx, "open marta's admin page",
		chromedp.Navigate(e.url(detail)),
		chromedp.WaitVisible(chromedp.ID("impersonate-button")),
	)
	if b := adminText(t, ctx, "#impersonate-button"); b != "Log in as marta" {
		t.Errorf("impersonate button says %q, want \"Log in as marta\"", b)
	}

	adminDo(t, ctx, "log in as marta",
		chromedp.Click(chromedp.ID("impersonate-button")),
		chromedp.WaitVisible(chromedp.ID("impersonation-banner")),
		chromedp.WaitVisible(chromedp.Search(`//h1[normalize-space()="Hello, Marta"]`)),
	)
	if loc := location(t, ctx); loc != e.url("/dashboard") {
		t.Errorf("after Log in as, at %s, want /dashboard", loc)
	}
	if b := adminText(t, ctx, "#impersonation-banner"); !strings.Contains(b, "Viewing as marta (you are root)") {
		t.Errorf("banner %q, want it to name marta and root", b)
	}
	if f := adminText(t, ctx, "#alerts"); f != "You are now viewing Tally as marta." {
		t.Errorf("flash %q, want the start of viewing as marta", f)
	}
	if who := adminText(t, ctx, "nav .who"); who != "marta" {
		t.Errorf("nav shows %q, want marta", who)
	}
	if adminHas(t, ctx, `nav a[href="/admin/users"]`) {
		t.Error("the Admin link is shown while viewing as marta")
	}

	me := adminFetchMe(t, ctx)
	if me.Body.Username != "marta" {
		t.Errorf("/api/me username %q, want marta", me.Body.Username)
	}
	if imp := me.Body.Impersonator; imp == nil || imp.Username != "root" || imp.ID != root.ID {
		t.Errorf("/api/me impersonator %+v, want root (id %d)", imp, root.ID)
	}

	adminDo(t, ctx, "open marta's profile",
		chromedp.Navigate(e.url("/profile")),
		chromedp.WaitVisible(chromedp.ID("profile-view")),
	)
	if u := adminText(t, ctx, "#profile-username"); u != "marta" {
		t.Errorf("profile shows username %q, want marta", u)
	}
	if !adminHas(t, ctx, "#impersonation-banner") {
		t.Error("no banner on the profile page: every page must say whose it is")
	}

	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(e.url("/account/password")))
	if err != nil {
		t.Fatalf("open /account/password: %v", err)
	}
	if resp.Status != 403 {
		t.Errorf("/account/password answered %d while viewing as marta, want 403", resp.Status)
	}
	adminDo(t, ctx, "the refusal is shown", chromedp.WaitVisible(chromedp.ID("impersonation-banner")))
	if m := adminText(t, ctx, "main"); !strings.Contains(m, "You are viewing Tally as another user: support access cannot change their password") {
		t.Errorf("/account/password shows %q, want the refusal for support access", m)
	}
	if adminHas(t, ctx, "#password-form") {
		t.Error("the password form is shown while viewing as marta")
	}

	// Stop from the refusal page: its banner must carry a working form too.
	adminDo(t, ctx, "stop viewing as marta",
		chromedp.Click(chromedp.ID("impersonation-stop")),
		chromedp.WaitVisible(chromedp.Search(`//*[@id="alerts"]//*[normalize-space()="You are yourself again."]`)),
	)
	if loc := location(t, ctx); loc != e.url(detail) {
		t.Errorf("after Stop at %s, want %s", loc, detail)
	}
	if adminHas(t, ctx, "#impersonation-banner") {
		t.Error("the banner is still shown after Stop")
	}
	if h := adminText(t, ctx, "main h1"); h != "marta" {
		t.Errorf("page heading %q, want marta's admin page", h)
	}
	if who := adminText(t, ctx, "nav .who"); who != "root" {
		t.Errorf("nav shows %q after Stop, want root", who)
	}
	if !adminHas(t, ctx, "#impersonate-button") || !adminHas(t, ctx, `nav a[href="/admin/users"]`) {
		t.Error("the admin's own page (Log in as button, Admin link) is not back after Stop")
	}
	me = adminFetchMe(t, ctx)
	if me.Body.Username != "root" || me.Body.Impersonator != nil {
		t.Errorf("/api/me after Stop: username %q, impersonator %+v; want root and none", me.Body.Username, me.Body.Impersonator)
	}
}
