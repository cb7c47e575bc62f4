package handlers

import (
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
)

// cachedStorage is a write-through cache in front of the session store: reading a session is
// a map lookup instead of a cgo call into SQLite. Every write and delete goes to both, so a
// destroyed session is gone at once; only this process writes sessions. Entries read from the
// store are kept for a minute at most, since the store does not say when they expire.
type cachedStorage struct {
	fiber.Storage
	mu      sync.RWMutex
	entries map[string]cachedValue
	max     int
}

type cachedValue struct {
	val []byte
	exp time.Time
}

func newCachedStorage(s fiber.Storage, max int) *cachedStorage {
	return &cachedStorage{Storage: s, entries: map[string]cachedValue{}, max: max}
}

func (s *cachedStorage) Get(key string) ([]byte, error) {
	s.mu.RLock()
	e, ok := s.entries[key]
	s.mu.RUnlock()
	if ok && time.Now().Before(e.exp) {
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

func (s *cachedStorage) put(key string, val []byte, exp time.Duration) {
	if exp <= 0 {
		exp = time.Minute
	}
	s.mu.Lock()
	if len(s.entries) >= s.max {
		clear(s.entries)
	}
	s.entries[key] = cachedValue{val: val, exp: time.Now().Add(exp)}
	s.mu.Unlock()
}

func (s *cachedStorage) drop(key string) {
	s.mu.Lock()
	delete(s.entries, key)
	s.mu.Unlock()
}
