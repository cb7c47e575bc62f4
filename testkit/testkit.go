// Package testkit holds the fixtures every package's tests share: a fast password hash, a
// password the validators accept, a user stored without the registration form, a log buffer
// safe across goroutines and a free loopback address. It is imported by tests only.
package testkit

import (
	"bytes"
	"net"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"tally/models"
)

// Hash keeps tests fast; the production parameters are tested in models.
var Hash = models.HashParams{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32}

// Password passes every password validator.
const Password = "tangerine-Umbrella-42"

// CreateUser stores an active user with password directly, named Ada Lovelace unless u says
// otherwise (u.PasswordHash is computed from password with Hash).
func CreateUser(t testing.TB, db *gorm.DB, u models.NewUser, password string, now time.Time) *models.User {
	t.Helper()
	hash, err := models.HashPassword(password, Hash)
	if err != nil {
		t.Fatal(err)
	}
	u.PasswordHash, u.Active = hash, true
	if u.FirstName == "" && u.LastName == "" {
		u.FirstName, u.LastName = "Ada", "Lovelace"
	}
	created, err := models.CreateUser(db, u, now)
	if err != nil {
		t.Fatal(err)
	}
	return created
}

// SyncBuffer is a bytes.Buffer that a server's goroutines and the test may use at once.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// FreeAddr is a loopback address nothing listens on at the moment.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
