package handlers

import (
	"net/http"
	"testing"
)

// BenchmarkDashboard is one signed-in page view through the whole stack (session load, user
// load, templ render) without the network. Run with -cpuprofile to see where a view goes.
func BenchmarkDashboard(b *testing.B) {
	ta := newTestApp(b)
	ta.createUser("ada", "ada@example.com", goodPassword)
	c := ta.client()
	c.login("ada", goodPassword)
	req, _ := http.NewRequest(http.MethodGet, testBase.String()+"dashboard", nil)
	for _, ck := range c.jar.Cookies(testBase) {
		req.AddCookie(ck)
	}
	b.ReportAllocs()
	for b.Loop() {
		res, err := ta.app.Test(req, -1)
		if err != nil || res.StatusCode != http.StatusOK {
			b.Fatal(err, res.StatusCode)
		}
		res.Body.Close()
	}
}
