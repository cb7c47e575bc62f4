package handlers

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/session"
	"github.com/jackc/pgx/v5"

	"tally/models"
	"tally/testkit/testdb"
)

// gobValues encodes a session's values the way Fiber's session.Save does.
func gobValues(t *testing.T, vals map[string]any) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(&vals); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func newTestStorage(t *testing.T) *cachedStorage {
	t.Helper()
	st, err := models.OpenSessionFile(filepath.Join(t.TempDir(), "sessions.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return newCachedStorage(st, 100)
}

func mapID(m map[string]any) uintptr { return reflect.ValueOf(m).Pointer() }

// A session's values are decoded once per write and follow every write and delete at once.
func TestCachedStorageValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		// change runs after the values of "id" were read once; want is what they are after it
		// (nil: not in the cache).
		change  func(t *testing.T, s *cachedStorage)
		want    map[string]any
		sameMap bool // the same decoded map as before the change
	}{
		{"read again", func(*testing.T, *cachedStorage) {}, map[string]any{"csrf": "a"}, true},
		{"written", func(t *testing.T, s *cachedStorage) {
			if err := s.Set("id", gobValues(t, map[string]any{"csrf": "b", "aid": "x"}), time.Hour); err != nil {
				t.Fatal(err)
			}
		}, map[string]any{"csrf": "b", "aid": "x"}, false},
		{"deleted", func(t *testing.T, s *cachedStorage) {
			if err := s.Delete("id"); err != nil {
				t.Fatal(err)
			}
		}, nil, false},
		{"expired", func(t *testing.T, s *cachedStorage) {
			now := time.Now().Add(time.Hour)
			s.now = func() time.Time { return now }
		}, nil, false},
		{"reset", func(t *testing.T, s *cachedStorage) {
			if err := s.Reset(); err != nil {
				t.Fatal(err)
			}
		}, nil, false},
		{"written while being decoded", func(t *testing.T, s *cachedStorage) {
			if err := s.Set("id", gobValues(t, map[string]any{"csrf": "d"}), time.Hour); err != nil {
				t.Fatal(err)
			}
			s.decoded = func() {
				s.decoded = nil
				if err := s.Set("id", gobValues(t, map[string]any{"csrf": "e"}), time.Hour); err != nil {
					t.Error(err)
				}
			}
			if v, _ := s.values("id"); v["csrf"] != "d" {
				t.Errorf("values while written = %v, want the ones read", v)
			}
		}, map[string]any{"csrf": "e"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStorage(t)
			if err := s.Set("id", gobValues(t, map[string]any{"csrf": "a"}), time.Hour); err != nil {
				t.Fatal(err)
			}
			first, ok := s.values("id")
			if !ok || !reflect.DeepEqual(first, map[string]any{"csrf": "a"}) {
				t.Fatalf("values after Set = %v, %t", first, ok)
			}
			tc.change(t, s)
			got, ok := s.values("id")
			if tc.want == nil {
				if ok {
					t.Fatalf("values = %v, want none", got)
				}
				return
			}
			if !ok || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("values = %v, %t, want %v", got, ok, tc.want)
			}
			if same := mapID(got) == mapID(first); same != tc.sameMap {
				t.Errorf("same decoded map as before: %t, want %t", same, tc.sameMap)
			}
			if again, _ := s.values("id"); mapID(again) != mapID(got) {
				t.Error("decoded again without a write")
			}
		})
	}
}

// Page views pass the session id as it sits in the request buffer, which the next request
// overwrites: the cache must not keep that memory as a key, whether it decodes the values of
// a cached session or reads one from the store.
func TestCachedStorageCopiesKeys(t *testing.T) {
	for _, tc := range []struct {
		name string
		// set stores a session; read reads it with a key that points into a buffer.
		set  func(s *cachedStorage, id string, val []byte) error
		read func(s *cachedStorage, key string) bool
	}{
		{"decoding a cached session",
			func(s *cachedStorage, id string, val []byte) error { return s.Set(id, val, time.Hour) },
			func(s *cachedStorage, key string) bool { _, ok := s.values(key); return ok }},
		{"reading through to the store",
			func(s *cachedStorage, id string, val []byte) error { return s.Storage.Set(id, val, time.Hour) },
			func(s *cachedStorage, key string) bool { v, err := s.Get(key); return err == nil && v != nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStorage(t)
			for _, id := range []string{"aaaa", "bbbb"} {
				if err := tc.set(s, id, gobValues(t, map[string]any{"csrf": id})); err != nil {
					t.Fatal(err)
				}
			}
			if !tc.read(s, "bbbb") {
				t.Fatal("bbbb not found")
			}
			buf := []byte("aaaa")
			if !tc.read(s, unsafe.String(&buf[0], len(buf))) {
				t.Fatal("aaaa not found")
			}
			copy(buf, "bbbb") // the buffer is reused by another request
			s.mu.RLock()
			keys := slices.Sorted(maps.Keys(s.entries))
			s.mu.RUnlock()
			if !slices.Equal(keys, []string{"aaaa", "bbbb"}) {
				t.Errorf("cached keys %q, want aaaa and bbbb", keys)
			}
			for _, id := range []string{"aaaa", "bbbb"} {
				if v, ok := s.values(id); !ok || v["csrf"] != id {
					t.Errorf("values(%q) = %v, %t", id, v, ok)
				}
			}
		})
	}
}

// A read that missed the cache does not cache a session deleted meanwhile.
func TestCachedStorageForgetsDeletedWhileRead(t *testing.T) {
	s := newTestStorage(t)
	if err := s.Storage.Set("id", gobValues(t, map[string]any{"csrf": "a"}), time.Hour); err != nil {
		t.Fatal(err)
	}
	s.Storage = &hookedStorage{Storage: s.Storage, afterGet: func() {
		if err := s.Delete("id"); err != nil {
			t.Error(err)
		}
	}}
	if v, err := s.Get("id"); err != nil || v == nil {
		t.Fatalf("Get = %q, %v; want the session as read", v, err)
	}
	if v, ok := s.values("id"); ok {
		t.Errorf("deleted session still cached: %v", v)
	}
}

// hookedStorage runs afterGet once, after its first Get, and can fail Gets.
type hookedStorage struct {
	fiber.Storage
	afterGet func()
	failGets int
}

func (s *hookedStorage) Get(key string) ([]byte, error) {
	if s.failGets > 0 {
		s.failGets--
		return nil, errors.New("database is locked")
	}
	v, err := s.Storage.Get(key)
	if f := s.afterGet; f != nil {
		s.afterGet = nil
		f()
	}
	return v, err
}

// A stored session that cannot be decoded (written by another version, damaged) is deleted,
// and the browser gets a new session instead of an error on every request.
func TestUndecodableSessionStartsOver(t *testing.T) {
	ta := newTestApp(t)
	_, c := ta.signedInAda()
	id := c.cookie(ta.cfg.CookieName())
	if err := ta.h.sessionData.Set(id, []byte("not a gob"), time.Hour); err != nil {
		t.Fatal(err)
	}
	res := c.get("/login")
	wantStatus(t, res, http.StatusOK)
	if got := c.cookie(ta.cfg.CookieName()); got != "" {
		t.Errorf("session cookie after the damaged session: %q (was %q), want it expired", got, id)
	}
	if raw, err := ta.h.sessionData.Storage.Get(id); err != nil || raw != nil {
		t.Errorf("damaged session still stored: %q, %v", raw, err)
	}
	if !strings.Contains(ta.logs.String(), "session unreadable") {
		t.Error("not logged")
	}
	c.login("ada", goodPassword)
	wantStatus(t, c.get("/dashboard"), http.StatusOK)
}

// A store that fails for a moment is not a damaged session: the browser stays signed in.
func TestSessionStoreErrorKeepsTheSession(t *testing.T) {
	ta := newTestApp(t)
	_, c := ta.signedInAda()
	sd := ta.h.sessionData
	sd.mu.Lock()
	clear(sd.entries) // as after a restart
	sd.mu.Unlock()
	sd.Storage = &hookedStorage{Storage: sd.Storage, failGets: 1}
	wantStatus(t, c.get("/dashboard"), http.StatusInternalServerError)
	wantStatus(t, c.get("/dashboard"), http.StatusOK)
	if strings.Contains(ta.logs.String(), "session unreadable") {
		t.Error("a store error was taken for a damaged session")
	}
}

// Changing a session that was saved or destroyed already is an error, not a silent no-op: a
// renewal that did not happen must not pass for one.
func TestRenewWithoutSession(t *testing.T) {
	if err := (&webSession{}).renew(); !errors.Is(err, errNoSession) {
		t.Errorf("renew = %v", err)
	}
}

// When the store cannot be opened to change the session, the request goes on reading the
// values it had (who is impersonated, the CSRF token) and ends with the store's error.
func TestFailedOpenKeepsValues(t *testing.T) {
	broken := errors.New("database is locked")
	w := &webSession{vals: map[string]any{keyImpersonate: "7"},
		open: func() (*session.Session, error) { return nil, broken }}
	w.touch()
	if got := w.getString(keyImpersonate); got != "7" {
		t.Errorf("after a failed open the session reads %q, want 7", got)
	}
	if err := w.save(); !errors.Is(err, broken) {
		t.Errorf("save = %v, want the store's error", err)
	}
}

// On Postgres, a session written or deleted through one instance's cache is dropped from
// another's within a second, and the news names the session by its digest: the id itself never
// goes over the channel.
func TestCachedStorageFollowsOtherInstances(t *testing.T) {
	if !testdb.Postgres() {
		t.Skip("instances share a session store only on Postgres (this runs on the Postgres pass)")
	}
	ta := newTestApp(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	// What goes over the channel, as any client of the database could read it.
	conn, err := pgx.Connect(t.Context(), ta.cfg.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(t.Context(), "LISTEN tally_cache"); err != nil {
		t.Fatal(err)
	}

	other, err := models.Open(ta.cfg.DatabaseURL, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { models.Close(other) })
	store, err := models.OpenSessionStorage(other)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	peers, err := models.ListenPeers(other, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peers.Close() })
	theirs := newCachedStorage(store, 100)
	theirs.follow(peers)

	ours := ta.srv.h.sessionData
	const key = "a-session-id-that-must-not-travel"
	if err := ours.Set(key, []byte("v1"), time.Hour); err != nil {
		t.Fatal(err)
	}
	if v, err := theirs.Get(key); err != nil || string(v) != "v1" {
		t.Fatalf("the other instance reads %q, %v", v, err)
	}
	for _, step := range []struct {
		name  string
		write func() error
		want  string
	}{
		{"a write", func() error { return ours.Set(key, []byte("v2"), time.Hour) }, "v2"},
		{"a delete", func() error { return ours.Delete(key) }, ""},
	} {
		if err := step.write(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(time.Second)
		for {
			v, err := theirs.Get(key)
			if err != nil {
				t.Fatal(err)
			}
			if string(v) == step.want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("after %s the other instance still reads %q a second later", step.name, v)
			}
			runtime.Gosched()
		}
	}
	// The three writes' news (and any other the writes caused), as they went over the channel.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	for named := 0; named < 3; {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			t.Fatalf("%d of the three writes' notifications: %v", named, err)
		}
		if strings.Contains(n.Payload, key) {
			t.Errorf("the channel carried the session id: %q", n.Payload)
		}
		if strings.HasSuffix(n.Payload, ":"+storeDigest(key)) {
			named++
		}
	}
}
