package e2e

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"tally/models"
)

// openProfile starts the page scripts (CSP listener, htmx watcher), signs ada in, loads
// /profile and leaves a marker on window, which only a full page load would lose.
func openProfile(t *testing.T, e *env, ctx context.Context) {
	t.Helper()
	addPageScript(t, ctx, cspListener)
	addPageScript(t, ctx, htmxWatcher)
	logIn(t, e, ctx, "ada", "Ada")
	do(t, ctx, "open /profile",
		chromedp.Navigate(e.url("/profile")),
		chromedp.WaitVisible(chromedp.ID("profile-view")),
		chromedp.WaitVisible(chromedp.ID("avatar")),
		chromedp.Evaluate[chromedp.Void](`window.__marker = 1`),
	)
}

// assertOnProfile checks that the browser is still on the /profile it loaded (every change
// was swapped in place) and that the profile panel is one element with the given id.
func assertOnProfile(t *testing.T, e *env, ctx context.Context, panel string) {
	t.Helper()
	if loc := location(t, ctx); loc != e.url("/profile") {
		t.Errorf("browser at %s, want it still at /profile (swaps in place)", loc)
	}
	if m := eval[int](t, ctx, `window.__marker || 0`); m != 1 {
		t.Error("window marker lost: the page was loaded again instead of swapped")
	}
	got := eval[[]int](t, ctx, `["#profile-view", "#profile-form", "#avatar"].map(s => document.querySelectorAll(s).length)`)
	want := []int{1, 0, 1}
	if panel == "profile-form" {
		want = []int{0, 1, 1}
	}
	if !slices.Equal(got, want) {
		t.Errorf("#profile-view, #profile-form, #avatar counted %v, want %v (the %s alone, swapped outerHTML)", got, want, panel)
	}
}

// assertNoCSPViolations checks that the document, which runs cspListener, has caused no
// Content-Security-Policy violation so far.
func assertNoCSPViolations(t *testing.T, ctx context.Context, where string) {
	t.Helper()
	// Violation events are dispatched as tasks: let those already queued run first.
	do(t, ctx, where, chromedp.Evaluate[chromedp.Void](`new Promise(resolve => setTimeout(resolve))`, chromedp.EvalAwaitPromise))
	if !eval[bool](t, ctx, `window.__cspListening === true`) {
		t.Fatalf("%s: the violation listener is not installed in this document", where)
	}
	if v := eval[[]string](t, ctx, `window.__csp || []`); len(v) > 0 {
		t.Errorf("%s: CSP violations: %q", where, v)
	}
}

func text(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.ID(id)))
	if err != nil {
		t.Fatalf("text of #%s: %v\n%s", id, err, pageState(ctx))
	}
	return strings.Join(strings.Fields(s), " ")
}

func value(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID(id)))
	if err != nil {
		t.Fatalf("value of #%s: %v\n%s", id, err, pageState(ctx))
	}
	return s
}

var profileSubmit = chromedp.CSS(`#profile-form button[type="submit"]`)

// TestBrowserProfileEditInPlace is issue 5's edit in place: Edit, a refused save, a save and
// Cancel each swap one panel of /profile, and what is saved is stored normalised.
func TestBrowserProfileEditInPlace(t *testing.T) {
	e := startApp(t)
	u := e.createUser("ada", "ada@example.com", "Ada", goodPassword)
	ctx := newBrowser(t)
	openProfile(t, e, ctx)
	if got := text(t, ctx, "profile-phone"); got != "Not set" {
		t.Errorf("phone %q before any save, want Not set", got)
	}

	if status := swap(t, ctx, "click Edit", chromedp.Click(chromedp.ID("profile-edit"))); status != 200 {
		t.Errorf("Edit answered %d, want 200", status)
	}
	assertOnProfile(t, e, ctx, "profile-form")
	if first, last := value(t, ctx, "first_name"), value(t, ctx, "last_name"); first != "Ada" || last != "Tester" {
		t.Errorf("the form shows the name %q %q, want Ada Tester", first, last)
	}

	// The GitHub field is typed last, so the focus htmx keeps across a swap (the element that
	// had it, by id) would be there, not on the phone: only [autofocus] can put it on the phone.
	const badPhone = "020 7946 0958"
	if status := swap(t, ctx, "save a phone number without country code",
		fill("phone_number", badPhone, "github_link", "octo-cat"),
		chromedp.Click(profileSubmit)); status != 422 {
		t.Errorf("the refused save answered %d, want 422", status)
	}
	assertOnProfile(t, e, ctx, "profile-form")
	if invalid := eval[[]string](t, ctx, `[...document.querySelectorAll('[aria-invalid="true"]')].map(el => el.id)`); !slices.Equal(invalid, []string{"phone_number"}) {
		t.Errorf("invalid fields %q, want only phone_number", invalid)
	}
	if msg := text(t, ctx, "phone_number-error"); !strings.Contains(msg, "international format") {
		t.Errorf("phone error %q, want it to ask for the international format", msg)
	}
	described, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("phone_number"), "aria-describedby"))
	if err != nil || !slices.Contains(strings.Fields(described.Value), "phone_number-error") {
		t.Errorf("#phone_number aria-describedby = %q, want it to name phone_number-error (%v)", described.Value, err)
	}
	if active := eval[string](t, ctx, `document.activeElement ? document.activeElement.id : ""`); active != "phone_number" {
		t.Errorf("focus on #%s after the refused save, want it on #phone_number", active)
	}
	if got := value(t, ctx, "phone_number"); got != badPhone {
		t.Errorf("phone field %q after the refused save, want what was typed, %q", got, badPhone)
	}
	if got := value(t, ctx, "github_link"); got != "octo-cat" {
		t.Errorf("GitHub field %q after the refused save, want what was typed, octo-cat", got)
	}
	if p, err := models.FindProfile(e.db, u.ID); err != nil || p.PhoneNumber != "" || p.GitHubLink != "" {
		t.Errorf("a refused save stored %+v (%v)", p, err)
	}

	if status := swap(t, ctx, "save a valid phone number",
		chromedp.Clear(chromedp.ID("phone_number")),
		fill("phone_number", "+44 20 7946 0958"),
		chromedp.Click(profileSubmit)); status != 200 {
		t.Errorf("the save answered %d, want 200", status)
	}
	assertOnProfile(t, e, ctx, "profile-view")
	if msg := text(t, ctx, "profile-saved"); msg != "Your profile has been saved." {
		t.Errorf("confirmation %q after the save", msg)
	}
	if got := text(t, ctx, "profile-phone"); got != "+442079460958" {
		t.Errorf("view shows phone %q, want the normalised +442079460958", got)
	}
	link := eval[[]string](t, ctx, `[...document.querySelectorAll('#profile-github a')].flatMap(a => [a.getAttribute('href'), a.textContent.trim()])`)
	if !slices.Equal(link, []string{"https://github.com/octo-cat", "github.com/octo-cat"}) {
		t.Errorf("GitHub link (href, text) %q, want https://github.com/octo-cat shown as github.com/octo-cat", link)
	}
	if got := text(t, ctx, "profile-name"); got != "Ada Tester" {
		t.Errorf("view shows name %q, want Ada Tester", got)
	}
	saved := eval[string](t, ctx, `document.querySelector('#profile-view dl').outerHTML`)
	assertStored := func(when string) {
		t.Helper()
		p, err := models.FindProfile(e.db, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if p.PhoneNumber != "+442079460958" || p.GitHubLink != "https://github.com/octo-cat" || p.BirthDate != "" {
			t.Errorf("%s: stored profile %+v, want phone +442079460958, GitHub https://github.com/octo-cat, no birth date", when, p)
		}
		stored, err := models.FindUser(e.db, u.ID)
		if err != nil || stored.FirstName != "Ada" || stored.LastName != "Tester" {
			t.Errorf("%s: stored user %+v (%v), want the name unchanged", when, stored, err)
		}
	}
	assertStored("after the save")

	// Edit again shows the stored values; Cancel drops an unsaved change.
	swap(t, ctx, "click Edit again", chromedp.Click(chromedp.ID("profile-edit")))
	assertOnProfile(t, e, ctx, "profile-form")
	if phone, gh := value(t, ctx, "phone_number"), value(t, ctx, "github_link"); phone != "+442079460958" || gh != "https://github.com/octo-cat" {
		t.Errorf("the form shows phone %q and GitHub %q, want the stored values", phone, gh)
	}
	if status := swap(t, ctx, "change the phone, then Cancel",
		chromedp.Clear(chromedp.ID("phone_number")),
		fill("phone_number", "+1 202 555 0100"),
		chromedp.Click(chromedp.ID("profile-cancel"))); status != 200 {
		t.Errorf("Cancel answered %d, want 200", status)
	}
	assertOnProfile(t, e, ctx, "profile-view")
	if got := eval[string](t, ctx, `document.querySelector('#profile-view dl').outerHTML`); got != saved {
		t.Errorf("the view after Cancel differs from the saved one:\n got %s\nwant %s", got, saved)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#profile-saved').length`); n != 0 {
		t.Error("the view after Cancel says the profile has been saved")
	}
	assertStored("after Cancel")
	assertNoCSPViolations(t, ctx, "/profile after edit, save and cancel")
}

// avatarImage is the state of #avatar-img once it has finished loading.
type avatarImage struct {
	Src      string `json:"src"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
	Complete bool   `json:"complete"`
}

// waitAvatar waits until #avatar-img names src and is done loading (or failing), and returns
// its state: a broken picture ends the wait too, with a width of 0.
func waitAvatar(t *testing.T, ctx context.Context, what, src string) avatarImage {
	t.Helper()
	const state = `(img => img && {src: img.getAttribute('src'), width: img.naturalWidth, height: img.naturalHeight, complete: img.complete})(document.querySelector('#avatar-img'))`
	if _, err := chromedp.Run(ctx, chromedp.PollFunction[bool](
		`src => { const img = document.querySelector('#avatar-img'); return img !== null && img.getAttribute('src') === src && img.complete; }`,
		chromedp.WithPollingArgs(src), chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("%s: #avatar-img never finished loading %s (%v); it is %+v", what, src, err, eval[avatarImage](t, ctx, state))
	}
	return eval[avatarImage](t, ctx, state)
}

// avatarPixel is the colour of the centre pixel of #avatar-img as the browser decoded it.
func avatarPixel(t *testing.T, ctx context.Context) []int {
	t.Helper()
	return eval[[]int](t, ctx, `(() => {
		const img = document.querySelector('#avatar-img');
		const c = document.createElement('canvas');
		c.width = img.naturalWidth; c.height = img.naturalHeight;
		const g = c.getContext('2d');
		g.drawImage(img, 0, 0);
		return [...g.getImageData(c.width / 2, c.height / 2, 1, 1).data];
	})()`)
}

func near(got []int, want color.NRGBA) bool {
	if len(got) != 4 {
		return false
	}
	for i, w := range []uint8{want.R, want.G, want.B, want.A} {
		if d := got[i] - int(w); d < -6 || d > 6 {
			return false
		}
	}
	return true
}

// TestBrowserAvatarUpload is issue 5's picture: an upload through the file field replaces the
// picture in place with the 256-pixel square the server made of it, an SVG is refused beside
// the field, and Remove brings the initials back.
func TestBrowserAvatarUpload(t *testing.T) {
	e := startApp(t)
	u := e.createUser("ada", "ada@example.com", "Ada", goodPassword)
	dir := t.TempDir()
	orange := color.NRGBA{R: 240, G: 120, B: 20, A: 255}
	pic := image.NewNRGBA(image.Rect(0, 0, 40, 30))
	for y := range 30 {
		for x := range 40 {
			pic.SetNRGBA(x, y, orange)
		}
	}
	pngPath := filepath.Join(dir, "orange.png")
	f, err := os.Create(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(png.Encode(f, pic), f.Close()); err != nil {
		t.Fatal(err)
	}
	svgPath := filepath.Join(dir, "picture.svg")
	if err := os.WriteFile(svgPath, []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30"><rect width="40" height="30" fill="orange"/></svg>`), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx := newBrowser(t)
	openProfile(t, e, ctx)
	defaultSrc := eval[string](t, ctx, `document.querySelector('#avatar-img').getAttribute('src')`)
	if !strings.HasPrefix(defaultSrc, fmt.Sprintf("/avatars/%d?v=", u.ID)) {
		t.Fatalf("#avatar-img src %q, want /avatars/%d?v=<version>", defaultSrc, u.ID)
	}
	if img := waitAvatar(t, ctx, "the initials picture", defaultSrc); img.Width != 256 {
		t.Errorf("the initials picture is %+v, want it loaded, 256 wide", img)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#avatar-remove').length`); n != 0 {
		t.Error("Remove picture is offered without an uploaded picture")
	}
	if initials := avatarPixel(t, ctx); near(initials, orange) {
		t.Fatalf("the initials picture is already the upload's colour %v: the colour check below would prove nothing", initials)
	}

	uploadSubmit := chromedp.CSS(`#avatar-form button[type="submit"]`)
	if status := swap(t, ctx, "upload a PNG",
		chromedp.SetUploadFiles(chromedp.ID("avatar-file"), []string{pngPath}),
		chromedp.Click(uploadSubmit)); status != 200 {
		t.Errorf("the upload answered %d, want 200", status)
	}
	assertOnProfile(t, e, ctx, "profile-view")
	a, err := models.FindAvatar(e.db, u.ID)
	if err != nil {
		t.Fatalf("no picture stored after the upload: %v", err)
	}
	uploadedSrc := fmt.Sprintf("/avatars/%d?v=%s", u.ID, a.ETag)
	if uploadedSrc == defaultSrc {
		t.Fatalf("the uploaded picture has the initials picture's URL %s", uploadedSrc)
	}
	img := waitAvatar(t, ctx, "the uploaded picture", uploadedSrc)
	if img.Width != 256 || img.Height != 256 {
		t.Errorf("the uploaded picture shows as %dx%d, want the server's 256x256 square", img.Width, img.Height)
	}
	if px := avatarPixel(t, ctx); !near(px, orange) {
		t.Errorf("the picture shown has the colour %v at its centre, want the upload's %v", px, orange)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#avatar-remove button').length`); n != 1 {
		t.Error("no Remove picture button after the upload")
	}

	if status := swap(t, ctx, "upload an SVG",
		chromedp.SetUploadFiles(chromedp.ID("avatar-file"), []string{svgPath}),
		chromedp.Click(uploadSubmit)); status != 422 {
		t.Errorf("the SVG upload answered %d, want 422", status)
	}
	assertOnProfile(t, e, ctx, "profile-view")
	if msg := text(t, ctx, "avatar-file-error"); msg != string(models.ErrImageSVG) {
		t.Errorf("error beside the file field %q, want %q", msg, models.ErrImageSVG)
	}
	if inv, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("avatar-file"), "aria-invalid")); err != nil || inv.Value != "true" {
		t.Errorf("#avatar-file aria-invalid = %q, want true (%v)", inv.Value, err)
	}
	if active := eval[string](t, ctx, `document.activeElement ? document.activeElement.id : ""`); active != "avatar-file" {
		t.Errorf("focus on #%s after the refused SVG, want it on #avatar-file", active)
	}
	if img := waitAvatar(t, ctx, "the picture after the refused SVG", uploadedSrc); img.Width != 256 {
		t.Errorf("the picture after the refused SVG is %+v, want the uploaded one, loaded", img)
	}
	if px := avatarPixel(t, ctx); !near(px, orange) {
		t.Errorf("after the refused SVG the picture has the colour %v, want the upload's %v", px, orange)
	}
	if after, err := models.FindAvatar(e.db, u.ID); err != nil || after.ETag != a.ETag {
		t.Errorf("the refused SVG changed the stored picture (%v)", err)
	}

	if status := swap(t, ctx, "remove the picture", chromedp.Click(chromedp.CSS(`#avatar-remove button`))); status != 200 {
		t.Errorf("Remove answered %d, want 200", status)
	}
	assertOnProfile(t, e, ctx, "profile-view")
	if img := waitAvatar(t, ctx, "the initials picture after Remove", defaultSrc); img.Width != 256 {
		t.Errorf("the initials picture after Remove is %+v, want it loaded, 256 wide", img)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#avatar-remove, #avatar-file-error').length`); n != 0 {
		t.Error("after Remove the section still offers Remove or shows an error")
	}
	if _, err := models.FindAvatar(e.db, u.ID); !errors.Is(err, models.ErrNotFound) {
		t.Errorf("a picture is still stored after Remove (%v)", err)
	}
	assertNoCSPViolations(t, ctx, "/profile after upload, refused SVG and remove")
}
