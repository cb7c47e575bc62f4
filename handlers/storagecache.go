package handlers

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"tally/models"
)

// cachedStorage is a write-through cache in front of the session store: reading a session is
// a map lookup instead of a cgo call into SQLite. Every write and delete goes to both, so a
// destroyed session is gone at once; only this process writes sessions. Entries read from the
// store are kept for a minute at most, since the store does not say when they expire.
//
// It also keeps each session's values decoded (see values): Fiber's store decodes the gob on
// every read, which was a third of a page view's CPU.
//
// Writes are serialized (SQLite serializes them anyway), so the cache ends as the store does;
// a read that missed the cache keeps what it read only if no write came in the meantime, so a
// session deleted while it was being read is not cached again.
//
// Several instances on one Postgres database share the store: each tells the others which key
// it wrote, and they drop it (see models.Peers, which also says when entries may be trusted).
// The key is a session id, so what goes over the channel (and into a Postgres log that records
// statements) is its digest; each instance finds its entry by that digest.
type cachedStorage struct {
	fiber.Storage
	wmu     sync.Mutex // held across a write to the store and to the cache
	mu      sync.RWMutex
	entries map[string]cachedValue
	digests map[string]string // storeDigest(key) -> key of each entry, for the peers' news
	writes  uint64            // count of writes, under mu: a read that raced one keeps nothing
	max     int
	now     func() time.Time
	peers   *models.Peers
	// decoded, when set (tests), runs in values between decoding and keeping the result.
	decoded func()
}

type cachedValue struct {
	val []byte
	exp time.Time
	// vals is val decoded, filled on first use; shared by requests, so never modified.
	vals map[string]any
}

func newCachedStorage(s fiber.Storage, max int) *cachedStorage {
	return &cachedStorage{Storage: s, entries: map[string]cachedValue{}, digests: map[string]string{}, max: max, now: time.Now}
}

// storeDigest names a store key to the other instances without telling them the key.
func storeDigest(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16])
}

func (s *cachedStorage) Get(key string) ([]byte, error) {
	e, writes, ok := s.lookup(key)
	if ok {
		return e.val, nil
	}
	val, err := s.Storage.Get(key)
	if err == nil && val != nil {
		s.mu.Lock()
		if s.writes == writes {
			s.putLocked(key, val, time.Minute)
		}
		s.mu.Unlock()
	}
	return val, err
}

func (s *cachedStorage) Set(key string, val []byte, exp time.Duration) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	err := s.Storage.Set(key, val, exp)
	s.mu.Lock()
	s.writes++
	if err != nil {
		s.dropLocked(key)
		s.mu.Unlock()
		return err
	}
	s.putLocked(key, append([]byte(nil), val...), exp)
	s.mu.Unlock()
	return s.publish(key)
}

func (s *cachedStorage) Delete(key string) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	err := s.Storage.Delete(key)
	s.forget(key)
	return errors.Join(err, s.publish(key))
}

func (s *cachedStorage) Reset() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	err := s.Storage.Reset()
	s.forget("")
	return errors.Join(err, s.peers.Publish(models.TopicStore, ""))
}

// followPeers makes both session caches and the ledger versions hear the other instances (see
// models.Peers).
func (h *Handlers) followPeers(p *models.Peers) {
	h.sessionCache.Follow(p)
	h.sessionData.follow(p)
	h.ledgerCache.versions.follow(h.db, p)
}

// follow makes the cache drop what other instances write and trust its entries only while
// peers does; nil peers (SQLite: one process) changes nothing. Call it before serving.
func (s *cachedStorage) follow(peers *models.Peers) {
	s.peers = peers
	peers.Follow(models.TopicStore, s.forgetDigest)
}

// forget drops key's entry, or every entry for "". Counted as a write, so a read that raced it
// does not keep what it read.
func (s *cachedStorage) forget(key string) {
	s.mu.Lock()
	s.writes++
	if key == "" {
		clear(s.entries)
		clear(s.digests)
	} else {
		s.dropLocked(key)
	}
	s.mu.Unlock()
}

// forgetDigest is forget for the key another instance named by its storeDigest.
func (s *cachedStorage) forgetDigest(digest string) {
	if digest == "" {
		s.forget("")
		return
	}
	s.mu.Lock()
	s.writes++
	if key, ok := s.digests[digest]; ok {
		s.dropLocked(key)
	}
	s.mu.Unlock()
}

func (s *cachedStorage) dropLocked(key string) {
	delete(s.entries, key)
	if s.peers != nil {
		delete(s.digests, storeDigest(key))
	}
}

// publish tells the other instances, if any, that key changed.
func (s *cachedStorage) publish(key string) error {
	if s.peers == nil {
		return nil
	}
	return s.peers.Publish(models.TopicStore, storeDigest(key))
}

// lookup returns the unexpired entry under key, and the write count it was read at.
func (s *cachedStorage) lookup(key string) (e cachedValue, writes uint64, ok bool) {
	s.mu.RLock()
	e, ok = s.entries[key]
	writes = s.writes
	s.mu.RUnlock()
	return e, writes, ok && s.now().Before(e.exp) && s.peers.Trusted()
}

// putLocked copies key: callers may pass one that points into a request buffer.
func (s *cachedStorage) putLocked(key string, val []byte, exp time.Duration) {
	if exp <= 0 {
		exp = time.Minute
	}
	if len(s.entries) >= s.max {
		clear(s.entries)
		clear(s.digests)
	}
	key = strings.Clone(key)
	s.entries[key] = cachedValue{val: val, exp: s.now().Add(exp)}
	if s.peers != nil { // only other instances name keys by digest
		s.digests[storeDigest(key)] = key
	}
}

// values returns the session stored under key, decoded, while it is in the cache; ok is false
// when it is not (read it through the session store, which fills the cache). A write replaces
// the entry, so the values are decoded at most once per write. The map is shared: read only.
// key may point into a request buffer: it is copied before the map keeps it.
func (s *cachedStorage) values(key string) (vals map[string]any, ok bool) {
	e, writes, ok := s.lookup(key)
	if !ok {
		return nil, false
	}
	if e.vals != nil {
		return e.vals, true
	}
	vals, err := decodeValues(e.val)
	if err != nil {
		return nil, false
	}
	if s.decoded != nil {
		s.decoded()
	}
	s.mu.Lock()
	// Unless a write came in meanwhile, as in Get. (Assigning to an existing key stores the key
	// again, hence the copy.)
	if cur, ok := s.entries[key]; ok && s.writes == writes {
		cur.vals = vals
		s.entries[strings.Clone(key)] = cur
	}
	s.mu.Unlock()
	return vals, true
}

// undecodable reports whether the session stored under key exists and cannot be decoded.
func (s *cachedStorage) undecodable(key string) bool {
	raw, err := s.Get(key)
	if err != nil || raw == nil {
		return false
	}
	_, err = decodeValues(raw)
	return err != nil
}

// decodeValues reads the encoding of Fiber's session.Save: gob of the values map.
func decodeValues(raw []byte) (map[string]any, error) {
	var vals map[string]any
	if err := gob.NewDecoder(bytes.NewReader(raw)).Decode(&vals); err != nil {
		return nil, err
	}
	if vals == nil {
		vals = map[string]any{}
	}
	return vals, nil
}
