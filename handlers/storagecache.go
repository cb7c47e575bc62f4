package handlers

import (
	"bytes"
	"encoding/gob"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
)

// cachedStorage is a write-through cache in front of the session store: reading a session is
// a map lookup instead of a cgo call into SQLite. Every write and delete goes to both, so a
// destroyed session is gone at once; only this process writes sessions. Entries read from the
// store are kept for a minute at most, since the store does not say when they expire.
//
// It also keeps each session's values decoded (see values): Fiber's store decodes the gob on
// every read, which was a third of a page view's CPU.
type cachedStorage struct {
	fiber.Storage
	mu      sync.RWMutex
	entries map[string]cachedValue
	max     int
	now     func() time.Time
}

type cachedValue struct {
	val []byte
	exp time.Time
	// vals is val decoded, filled on first use; shared by requests, so never modified.
	vals map[string]any
}

func newCachedStorage(s fiber.Storage, max int) *cachedStorage {
	return &cachedStorage{Storage: s, entries: map[string]cachedValue{}, max: max, now: time.Now}
}

func (s *cachedStorage) Get(key string) ([]byte, error) {
	s.mu.RLock()
	e, ok := s.entries[key]
	s.mu.RUnlock()
	if ok && s.now().Before(e.exp) {
		return e.val, nil
	}
	val, err := s.Storage.Get(key)
	if err == nil && val != nil {
		s.put(key, val, time.Minute)
	}
	return val, err
}

func (s *cachedStorage) Set(key string, val []byte, exp time.Duration) error {
	if err := s.Storage.Set(key, val, exp); err != nil {
		s.drop(key)
		return err
	}
	s.put(key, append([]byte(nil), val...), exp)
	return nil
}

func (s *cachedStorage) Delete(key string) error {
	s.drop(key)
	return s.Storage.Delete(key)
}

func (s *cachedStorage) Reset() error {
	s.mu.Lock()
	clear(s.entries)
	s.mu.Unlock()
	return s.Storage.Reset()
}

// put copies key: callers may pass one that points into a request buffer.
func (s *cachedStorage) put(key string, val []byte, exp time.Duration) {
	if exp <= 0 {
		exp = time.Minute
	}
	s.mu.Lock()
	if len(s.entries) >= s.max {
		clear(s.entries)
	}
	s.entries[strings.Clone(key)] = cachedValue{val: val, exp: s.now().Add(exp)}
	s.mu.Unlock()
}

func (s *cachedStorage) drop(key string) {
	s.mu.Lock()
	delete(s.entries, key)
	s.mu.Unlock()
}

// values returns the session stored under key, decoded, while it is in the cache; ok is false
// when it is not (read it through the session store, which fills the cache). A write replaces
// the entry, so the values are decoded at most once per write. The map is shared: read only.
// key may point into a request buffer: it is copied before the map keeps it.
func (s *cachedStorage) values(key string) (vals map[string]any, ok bool) {
	s.mu.RLock()
	e, ok := s.entries[key]
	s.mu.RUnlock()
	if !ok || !s.now().Before(e.exp) {
		return nil, false
	}
	if e.vals != nil {
		return e.vals, true
	}
	// The encoding of Fiber's session.Save: gob of the map.
	if err := gob.NewDecoder(bytes.NewReader(e.val)).Decode(&vals); err != nil {
		return nil, false
	}
	if vals == nil {
		vals = map[string]any{}
	}
	s.mu.Lock()
	// Unless a write replaced the entry meanwhile. (Assigning to an existing key stores the
	// key again, hence the copy.)
	if cur, ok := s.entries[key]; ok && len(cur.val) > 0 && len(e.val) > 0 && &cur.val[0] == &e.val[0] {
		cur.vals = vals
		s.entries[strings.Clone(key)] = cur
	}
	s.mu.Unlock()
	return vals, true
}
