package handlers

import (
	"sync"

	"tally/models/ledger"
	"tally/views"
)

// ledgerCache keeps, per user, what every ledger page reads (accounts with balances,
// categories, the forms' choices, the number format) and rendered register pages, each good
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
	pages     map[registerKey]*views.Stencil
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

// registerKey names one rendered register page of a user.
type registerKey struct {
	account uint
	cursor  string
	today   string // the add row's date
	kind    registerKind
}

// registerKind is which rendering of a register page a request asks for.
type registerKind uint8

const (
	registerFull    registerKind = iota // the page's body, inside the layout
	registerSection                     // htmx: the register section and the balance out of band
	registerRows                        // htmx "load more": the rows alone
)

// ledgerPageBytes bounds the rendered register pages kept: about 600 first pages of 50 rows.
const ledgerPageBytes = 32 << 20

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

// page is a rendered register page of userID at version, or nil.
func (lc *ledgerCache) page(userID uint, version int64, k registerKey) *views.Stencil {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if e := lc.entry(userID, version, false); e != nil {
		return e.pages[k]
	}
	return nil
}

// putPage keeps a page rendered from data read after reading version, unless the user's entry is
// already newer. Over the size bound, whole users' pages are dropped to make room.
func (lc *ledgerCache) putPage(userID uint, version int64, k registerKey, p *views.Stencil) {
	size := p.Size() + len(k.cursor) + len(k.today)
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
		e.pages = map[registerKey]*views.Stencil{}
	}
	if old, ok := e.pages[k]; ok {
		e.pageBytes -= old.Size() + len(k.cursor) + len(k.today)
		lc.pageBytes -= old.Size() + len(k.cursor) + len(k.today)
	}
	e.pages[k] = p
	e.pageBytes += size
	lc.pageBytes += size
}
