package handlers

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
)

// serverTiming tells a signed-in user's reads how long the server took over them, from the
// first middleware to the end of rendering, as "Server-Timing: app;dur=1.23" (milliseconds): the
// browser's network panel shows it, and the benchmark reads it. Anonymous answers carry none, as
// the forms that take an address must answer alike whatever it names (enumeration_test.go) and
// a precise server time would tell them apart; writes carry none for the same reason (an address
// change looks at other accounts).
func serverTiming(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	if m := c.Method(); (m == fiber.MethodGet || m == fiber.MethodHead) && currentUser(c).IsAuthenticated() {
		c.Set("Server-Timing", appTiming(time.Since(start)))
	}
	return err
}

// appTiming is the header's value for d.
func appTiming(d time.Duration) string {
	return "app;dur=" + strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64)
}
