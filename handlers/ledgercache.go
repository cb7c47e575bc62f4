package handlers

import (
	"sync"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

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
	return &ledgerCache{users: map[uint]*ledgerEntry{}, maxUsers: maxUsers, maxPageBytes: maxPageBytes}
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
