package models

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"gorm.io/gorm"
)

// SessionCache keeps the session-with-user row that every signed-in request needs, so a page
// view does not cost a query. Correctness does not depend on callers remembering to
// invalidate: any write through this *gorm.DB to users or auth_sessions (or any raw statement,
// whose table is unknown) moves a generation counter, and entries from an older generation are
// reloaded. A revoked session or a deactivated user is therefore seen at the next request
// (within sessionCacheMaxAge when another process made the change, and within a second when
// another instance on the same Postgres database did: see Follow).
type SessionCache struct {
	gen     atomic.Uint64
	mu      sync.RWMutex
	entries map[string]cachedSession
	max     int
	peers   *Peers
}

type cachedSession struct {
	gen uint64
	at  time.Time // when it was loaded
	s   AuthSession
}

// sessionCacheMaxAge bounds how long an entry is trusted: other processes (the command line)
// write to the same database without moving this process's generation counter.
const sessionCacheMaxAge = 2 * time.Second

const skipInvalidation = "tally:skip_session_cache_invalidation"

// NewSessionCache makes a cache of at most max sessions and hooks it into db's write paths.
func NewSessionCache(db *gorm.DB, max int) *SessionCache {
	c := &SessionCache{entries: map[string]cachedSession{}, max: max}
	bump := func(tx *gorm.DB) {
		if skip, _ := tx.Get(skipInvalidation); skip == true {
			return
		}
		switch tx.Statement.Table {
		case "users", "auth_sessions", "":
			c.gen.Add(1)
			if w, ok := tx.Statement.Context.Value(txWritesKey{}).(*txWrites); ok {
				w.users.Store(true)
			}
		}
	}
	// After the commit of GORM's own transaction around a statement: bumping before it would
	// let a concurrent request cache the old row under the new generation. Inside an explicit
	// transaction the commit comes later: models.Transaction invalidates after it.
	_ = db.Use(c)
	cb := db.Callback()
	const commit = "gorm:commit_or_rollback_transaction"
	_ = cb.Create().After(commit).Register("tally:session_cache", bump)
	_ = cb.Update().After(commit).Register("tally:session_cache", bump)
	_ = cb.Delete().After(commit).Register("tally:session_cache", bump)
	_ = cb.Raw().After("gorm:raw").Register("tally:session_cache", bump)
	return c
}

// Name and Initialize make the cache a GORM plugin, so Transaction finds it from the *gorm.DB.
func (c *SessionCache) Name() string { return sessionCachePlugin }

func (c *SessionCache) Initialize(*gorm.DB) error { return nil }

const sessionCachePlugin = "tally:session_cache"

// txWrites is what Transaction watches: whether a statement inside it wrote users or sessions.
type txWrites struct {
	users atomic.Bool
	// local is set when a statement inside it may have written what AfterLocalWrites watches.
	local atomic.Bool
	// nested is set on a transaction inside another: the outer one's commit is the one to wait for.
	nested bool
}

type txWritesKey struct{}

func watchWrites(db *gorm.DB) (*txWrites, context.Context) {
	ctx := db.Statement.Context
	if ctx == nil {
		ctx = context.Background()
	}
	if _, ok := ctx.Value(txWritesKey{}).(*txWrites); ok {
		return &txWrites{nested: true}, ctx
	}
	w := &txWrites{}
	return w, context.WithValue(ctx, txWritesKey{}, w)
}

// done invalidates db's session cache when the transaction wrote users or sessions. It runs
// after the commit, or the rollback: a rollback restores rows that a page view may have read
// meanwhile, so forgetting them is harmless.
func (w *txWrites) done(db *gorm.DB) {
	if w.nested {
		return
	}
	if l, ok := db.Config.Plugins[localWritesPlugin].(*localWrites); ok && w.local.Load() {
		l.run()
	}
	if !w.users.Load() {
		return
	}
	if c, ok := db.Config.Plugins[sessionCachePlugin].(*SessionCache); ok {
		c.Invalidate()
	}
}

// Follow makes the cache hear the other instances' writes to users and sessions through
// peers, and serve entries only while peers says the listener hears them (see Peers). Call it
// before the cache is used; with nil peers (SQLite) nothing changes.
func (c *SessionCache) Follow(peers *Peers) {
	c.peers = peers
	peers.Follow(TopicSessions, func(string) { c.Invalidate() })
}

// Invalidate drops every cached session; call it after a transaction that changed users or
// sessions has committed.
func (c *SessionCache) Invalidate() { c.gen.Add(1) }

// Find is FindAuthSession through the cache. The result is a copy the caller may change.
func (c *SessionCache) Find(db *gorm.DB, id string, now time.Time) (*AuthSession, error) {
	gen := c.gen.Load()
	c.mu.RLock()
	e, ok := c.entries[id]
	c.mu.RUnlock()
	if age := now.Sub(e.at); ok && e.gen == gen && age >= 0 && age < sessionCacheMaxAge && c.peers.Trusted() {
		s := e.s
		return &s, nil
	}
	s, err := FindAuthSession(db, id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.entries) >= c.max {
		clear(c.entries)
	}
	c.entries[id] = cachedSession{gen: gen, at: now, s: *s}
	c.mu.Unlock()
	return s, nil
}

// Touch moves a session's last-seen time forward in the database and in the cache, without
// invalidating every other cached session (it runs once a minute per active session).
func (c *SessionCache) Touch(db *gorm.DB, id string, now time.Time) error {
	err := db.Set(skipInvalidation, true).Model(&AuthSession{}).Where("id = ?", id).Update("last_seen_at", now).Error
	if err != nil {
		return err
	}
	c.mu.Lock()
	if e, ok := c.entries[id]; ok {
		e.s.LastSeenAt = now
		c.entries[id] = e
	}
	c.mu.Unlock()
	return nil
}

// Generation is the current invalidation generation (for tests and diagnostics).
func (c *SessionCache) Generation() uint64 { return c.gen.Load() }
