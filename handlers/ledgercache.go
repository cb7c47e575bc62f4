package handlers

import (
	"strconv"
	"strings"
	"sync"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"tally/models"
	"tally/models/ledger"
	"tally/views"
)

// ledgerCache keeps, per user, what every ledger page reads (accounts with balances,
// categories, the forms' choices, the number format) and rendered pages, each good
// only for the ledger version it was built at (ledger.Book.Version). A request reads the version
// first, with one query, and uses an entry only when it was built at that same version: any write
// since, by this process or another, has moved the version, so nothing stale is shown. What a
// request builds after reading version v is at least as new as v; an entry is never replaced by
// one of an older version.
//
// Rendered pages hold no session's data: their CSRF tokens are holes (views.Stencil), and the
// layout around them (user, token, flash) is rendered per request.
type ledgerCache struct {
	mu    sync.Mutex
	users map[uint]*ledgerEntry
	// pageBytes is the size of every page held; over maxPageBytes, pages are dropped.
	pageBytes, maxPageBytes int
	maxUsers                int
	// versions spares a cached view on Postgres its one statement, the version.
	versions ledgerVersions
}

// ledgerEntry is one user's cache at one version.
type ledgerEntry struct {
	version   int64
	data      *ledgerData
	pages     map[pageKey]*views.Stencil
	pageBytes int
}

// ledgerData is what ledgerView reads for every page. It is shared between requests: read it,
// never change it.
type ledgerData struct {
	m          moneyFmt
	accounts   []ledger.Account
	accountsBy map[uint]*ledger.Account
	categories map[uint]ledger.Category
	choices    views.TxChoices
}

// pageKey names one rendered page of a user: which page and rendering, and everything besides
// the ledger that it shows.
type pageKey struct {
	page     string // "register", "register rows", "transactions", ...
	fragment bool   // an htmx fragment, not a page inside the layout
	account  uint
	query    string // the request's query string, whole
	today    string // the date a form starts with, and the month a page shows
	name     string // the user's name, on pages that greet them
}

// The cache's bounds: at most ledgerCacheUsers users' data (a few KB each), and ledgerPageBytes of
// rendered pages (a register's first page of 50 rows is about 53 KB).
const (
	ledgerCacheUsers = 1000
	ledgerPageBytes  = 16 << 20
)

func newLedgerCache(maxUsers, maxPageBytes int) *ledgerCache {
	return &ledgerCache{users: map[uint]*ledgerEntry{}, maxUsers: maxUsers, maxPageBytes: maxPageBytes,
		versions: ledgerVersions{users: map[uint]int64{}, max: maxUsers}}
}

// entry is userID's entry at version, or nil. With create, a missing entry or one of an older
// version is replaced by an empty one at version. The caller holds mu.
func (lc *ledgerCache) entry(userID uint, version int64, create bool) *ledgerEntry {
	e := lc.users[userID]
	if e != nil && e.version == version {
		return e
	}
	if !create || e != nil && e.version > version {
		return nil
	}
	if e != nil {
		lc.pageBytes -= e.pageBytes
	} else if len(lc.users) >= lc.maxUsers {
		clear(lc.users)
		lc.pageBytes = 0
	}
	e = &ledgerEntry{version: version}
	lc.users[userID] = e
	return e
}

// data is userID's ledger data at version, or nil.
func (lc *ledgerCache) data(userID uint, version int64) *ledgerData {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if e := lc.entry(userID, version, false); e != nil {
		return e.data
	}
	return nil
}

// putData keeps d, read after reading version, unless the user's entry is already newer.
func (lc *ledgerCache) putData(userID uint, version int64, d *ledgerData) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if e := lc.entry(userID, version, true); e != nil {
		e.data = d
	}
}

// page is a rendered page of userID at version, or nil.
func (lc *ledgerCache) page(userID uint, version int64, k pageKey) *views.Stencil {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if e := lc.entry(userID, version, false); e != nil {
		return e.pages[k]
	}
	return nil
}

// putPage keeps a page rendered from data read after reading version, unless the user's entry is
// already newer. Over the size bound, whole users' pages are dropped to make room.
func (lc *ledgerCache) putPage(userID uint, version int64, k pageKey, p *views.Stencil) {
	size := p.Size() + len(k.query) + len(k.today) + len(k.name)
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if size > lc.maxPageBytes {
		return
	}
	for _, e := range lc.users { // in random order
		if lc.pageBytes+size <= lc.maxPageBytes {
			break
		}
		lc.pageBytes -= e.pageBytes
		e.pages, e.pageBytes = nil, 0
	}
	e := lc.entry(userID, version, true)
	if e == nil {
		return
	}
	if e.pages == nil {
		e.pages = map[pageKey]*views.Stencil{}
	}
	if old, ok := e.pages[k]; ok {
		e.pageBytes -= old.Size() + len(k.query) + len(k.today) + len(k.name)
		lc.pageBytes -= old.Size() + len(k.query) + len(k.today) + len(k.name)
	}
	e.pages[k] = p
	e.pageBytes += size
	lc.pageBytes += size
}

// keptPage answers a ledger page that every session of the user sees alike but for its CSRF
// tokens: rendered by build once per ledger version and key, kept, and written out again with
// each session's token. v must come from ledgerView in this request, which read the version
// before anything build reads. A page that build answers with a status other than 200 (a
// filter to correct) is sent as it is and not kept.
func (h *Handlers) keptPage(c *fiber.Ctx, v *ledgerView, k pageKey, p page, build func() (templ.Component, int, error)) error {
	userID := currentUser(c).ID
	var comp templ.Component
	s := h.ledgerCache.page(userID, v.version, k)
	if s != nil {
		comp = s
	} else {
		built, status, err := build()
		if err != nil {
			return err
		}
		comp, p.Status = built, status
		if status == fiber.StatusOK {
			if s, err = views.RenderStencil(c.UserContext(), built); err != nil {
				return err
			}
			h.ledgerCache.putPage(userID, v.version, k, s)
			comp = s
		}
	}
	if k.fragment {
		p.Fragment = comp
	} else {
		p.Body = comp
	}
	return h.render(c, p)
}

// ledgerVersions is, on Postgres, each user's ledger version as this instance last read it or
// heard it from the trigger that notifies every change of a version (schema version 5, see
// models.Peers), so that a page view while nothing changed makes no statement at all. A
// version is used without a query only while the listener is trusted (it has recently proved
// that it hears every notification), and only when it was read or heard since the listener's
// connection was made: a reconnect forgets everything. A write made through this process moves
// no version here before its commit is notified, so every such write forgets every version
// (after its commit, see models.AfterLocalWrites): the request that wrote sees its write at its
// next view. Versions only grow: an older one read or heard never replaces a newer.
//
// On SQLite (no peers) it is never used: every view reads the version, as cheap there as a
// function call.
type ledgerVersions struct {
	peers *models.Peers // nil: read every time
	mu    sync.Mutex
	// gen moves whenever versions are forgotten: a version read before is not kept, as it may
	// have been read before the commit that made the forgetting.
	gen   uint64
	users map[uint]int64
	max   int
}

// follow makes the versions hear the other writers through peers and this process's own writes
// through db; nil peers (SQLite) leaves them unused. Call it before serving.
func (lv *ledgerVersions) follow(db *gorm.DB, peers *models.Peers) {
	if peers == nil {
		return
	}
	peers.Follow(models.TopicLedger, lv.heard)
	models.AfterLocalWrites(db, ledger.VersionedTables, lv.forgetAll)
	lv.peers = peers
}

// version is userID's ledger version: known without a query when it may be (a GET or HEAD on
// Postgres while the listener is trusted), otherwise read from b.
func (lv *ledgerVersions) version(c *fiber.Ctx, b *ledger.Book, userID uint) (int64, error) {
	if lv.peers == nil {
		return b.Version()
	}
	if m := c.Method(); (m == fiber.MethodGet || m == fiber.MethodHead) && lv.peers.Trusted() {
		lv.mu.Lock()
		v, ok := lv.users[userID]
		lv.mu.Unlock()
		if ok {
			return v, nil
		}
	}
	lv.mu.Lock()
	gen := lv.gen
	lv.mu.Unlock()
	v, err := b.Version()
	if err != nil {
		return 0, err
	}
	lv.mu.Lock()
	if lv.gen == gen {
		lv.learn(userID, v)
	}
	lv.mu.Unlock()
	return v, nil
}

// learn keeps v as userID's version unless a newer one is known. The caller holds mu.
func (lv *ledgerVersions) learn(userID uint, v int64) {
	if old, ok := lv.users[userID]; ok {
		if v > old {
			lv.users[userID] = v
		}
		return
	}
	if len(lv.users) >= lv.max {
		clear(lv.users)
		lv.gen++
	}
	lv.users[userID] = v
}

// heard handles a notification of the trigger: "user:version", "user" (forget that user) or ""
// (forget everyone, as after a reconnect).
func (lv *ledgerVersions) heard(key string) {
	user, version, hasVersion := strings.Cut(key, ":")
	id, err := strconv.ParseUint(user, 10, 64)
	v, verr := strconv.ParseInt(version, 10, 64)
	if key == "" || err != nil || hasVersion && verr != nil {
		lv.forgetAll()
		return
	}
	lv.mu.Lock()
	defer lv.mu.Unlock()
	if !hasVersion {
		delete(lv.users, uint(id))
		lv.gen++
		return
	}
	lv.learn(uint(id), v)
}

// forgetAll drops every known version.
func (lv *ledgerVersions) forgetAll() {
	lv.mu.Lock()
	clear(lv.users)
	lv.gen++
	lv.mu.Unlock()
}

// known is userID's version as held now, for tests.
func (lv *ledgerVersions) known(userID uint) (int64, bool) {
	lv.mu.Lock()
	defer lv.mu.Unlock()
	v, ok := lv.users[userID]
	return v, ok
}
