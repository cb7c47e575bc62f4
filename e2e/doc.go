// Package e2e holds Tally's browser tests: the real app on a loopback port, driven by a headless
// Chromium through chromedp, for what only a browser proves (htmx swaps, focus, redirects the
// browser follows, the back button, Content-Security-Policy violations). It has no code outside
// its tests.
//
// Without a Chromium the tests skip, except when CI=true, where they fail.
package e2e
