package handlers

import (
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
)

func TestDecodeForm(t *testing.T) {
	type splitForm struct {
		Payee    string   `form:"payee"`
		Password string   `form:"password,raw"`
		Parts    []string `form:"split_amount"`
		Hidden   bool     `form:"hidden"`
		Unposted string   `form:"unposted"`
		Ignored  string
	}
	var got splitForm
	app := fiber.New()
	app.Post("/", func(c *fiber.Ctx) error {
		if err := decodeForm(c, &got); err != nil {
			return err
		}
		return c.SendStatus(http.StatusNoContent)
	})
	body := url.Values{"payee": {"  Corner Shop \t"}, "password": {" pass word "}, "split_amount": {" 1.00", "2.50 "},
		"hidden": {"on"}, "Ignored": {"x"}}
	req, _ := http.NewRequest(http.MethodPost, "/", strings.NewReader(body.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := app.Test(req, -1)
	if err != nil || res.StatusCode != http.StatusNoContent {
		t.Fatalf("status %v, err %v", res.StatusCode, err)
	}
	want := splitForm{Payee: "Corner Shop", Password: " pass word ", Parts: []string{"1.00", "2.50"}, Hidden: true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded %+v, want %+v", got, want)
	}
	// The values outlive the request: Fiber reuses its buffers, so they must be copies.
	for i := 0; i < 3; i++ {
		other := url.Values{"payee": {strings.Repeat("Z", len("Corner Shop"))}, "split_amount": {"9.99", "9.99"}}
		req, _ := http.NewRequest(http.MethodPost, "/x", strings.NewReader(other.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		_, _ = app.Test(req, -1)
	}
	if got.Payee != "Corner Shop" || got.Parts[0] != "1.00" {
		t.Errorf("decoded values changed after later requests: %+v", got)
	}
	if err := decodeForm(nil, got); err == nil {
		t.Error("a struct value (not a pointer) was accepted")
	}
}
