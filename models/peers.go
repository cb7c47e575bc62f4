package models

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
)

// Peers is what one instance hears of the other instances that share its Postgres database,
// so the caches that spare a page view its queries (SessionCache, and the handlers' cache of
// stored sessions) stay right when another instance ends a session.
//
// Why notifications rather than only a short trust window: a window short enough for the
// promise (a logout, a revocation, a deactivation or a password change ends the session on
// every instance within a second) would make almost every page view of a person clicking at
// human speed miss both caches and cost two queries. With LISTEN/NOTIFY an entry stays good
// until something changes, and a change reaches every instance in milliseconds:
//
//   - Triggers on users and auth_sessions notify at the commit of any write to them, whoever
//     writes (an instance, the command line, an operator in psql); the session cache of every
//     instance then reloads what it serves.
//   - The session store is written by the instances only: each publishes the key it wrote, and
//     the others drop that entry.
//
// The window is still there as the safety net: the listener proves every pingEvery that its
// connection is alive (a round trip after which every notification committed before it has
// been handled), and the caches trust their entries only while the last proof is less than
// trustWindow old. A listener whose connection is lost, or silently dead, makes the caches read
// through to the database until it is back; reconnected, it has them forget everything, since
// notifications sent meanwhile were missed.
//
// On SQLite there are no peers: ListenPeers returns nil, whose methods trust everything and
// publish nothing, so one process keeps its caches as fast as they are.
type Peers struct {
	db  *gorm.DB
	dsn string
	id  string // tags this instance's own notifications, which are not news to it
	log *slog.Logger
	// confirmed is when (Unix nanoseconds) the last proof of a live listener was sent; 0 while
	// it is not listening.
	confirmed atomic.Int64
	pid       atomic.Uint32 // the listener's server process, for diagnostics and tests
	mu        sync.Mutex
	follow    map[string][]func(key string)
	stop      context.CancelFunc
	done      chan struct{}
}

const (
	peersChannel = "tally_cache"
	// pingEvery and trustWindow bound the delay a dead listener can cause: an entry is trusted
	// at most trustWindow after the last proof, and proofs come every pingEvery.
	pingEvery   = 200 * time.Millisecond
	trustWindow = 700 * time.Millisecond
	// Topics of notifications.
	TopicSessions = "sessions" // users or auth_sessions changed (sent by the triggers)
	TopicStore    = "store"    // a key of the session store was written (key "": all of them)
	// TopicLedger: a user's ledger version moved (sent by the trigger of schema version 5). The
	// key is "user:version"; "user" alone when the user's row of versions went; "" for all users.
	TopicLedger = "ledger"
)

// NotifySQL is the SQL expression that notifies every instance's Peers of key (an SQL text
// expression) under topic, at the commit of the transaction that evaluates it; for triggers.
func NotifySQL(topic, key string) string {
	return `pg_notify('` + peersChannel + `', '` + topic + `::' || ` + key + `)`
}

// ListenerPID is the server process of the listening connection (0 before the first), so a
// test can end it.
func (p *Peers) ListenerPID() uint32 {
	if p == nil {
		return 0
	}
	return p.pid.Load()
}

// ListenPeers starts listening for the other instances' changes on db's Postgres database (the
// triggers that send them are schema version 4's) and waits until the listener is up; on
// SQLite it returns nil. Close stops it.
func ListenPeers(db *gorm.DB, log *slog.Logger) (*Peers, error) {
	if !IsPostgres(db) {
		return nil, nil
	}
	d, ok := db.Dialector.(*postgres.Dialector)
	if !ok || d.Config == nil || d.DSN == "" {
		return nil, errors.New("listen for other instances: the database URL is unknown")
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	ctx, stop := context.WithCancel(context.Background())
	p := &Peers{db: db, dsn: d.DSN, id: hex.EncodeToString(b[:]), log: log, follow: map[string][]func(string){},
		stop: stop, done: make(chan struct{})}
	up := make(chan error, 1)
	go p.run(ctx, up)
	if err := <-up; err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// Close stops the listener.
func (p *Peers) Close() error {
	if p == nil {
		return nil
	}
	p.stop()
	<-p.done
	return nil
}

// Follow calls changed with the key another instance (or, for TopicSessions, any writer)
// changed under topic; "" means everything under it may have changed. Call it before serving.
func (p *Peers) Follow(topic string, changed func(key string)) {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.follow[topic] = append(p.follow[topic], changed)
	p.mu.Unlock()
}

// Trusted reports whether a cache may serve its entries now: always without peers; with them,
// while the listener has recently proved that it hears every change.
func (p *Peers) Trusted() bool {
	if p == nil {
		return true
	}
	c := p.confirmed.Load()
	return c != 0 && time.Since(time.Unix(0, c)) < trustWindow
}

// Publish tells the other instances that key changed under topic. Call it after the change
// has committed.
func (p *Peers) Publish(topic, key string) error {
	if p == nil {
		return nil
	}
	// Not a write to users or sessions: the session cache need not move.
	return p.db.Set(skipInvalidation, true).Exec("SELECT pg_notify(?, ?)", peersChannel, topic+":"+p.id+":"+key).Error
}

func (p *Peers) run(ctx context.Context, up chan<- error) {
	defer close(p.done)
	backoff := 100 * time.Millisecond
	for {
		err := p.listen(ctx, up)
		up = nil // only the first attempt is reported to ListenPeers
		p.confirmed.Store(0)
		if ctx.Err() != nil {
			return
		}
		p.log.Warn("lost the connection that hears other instances; caches read through until it is back", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// listen holds one connection: LISTEN, forget everything (what came before was not heard),
// then prove it alive every pingEvery while waiting for notifications.
func (p *Peers) listen(ctx context.Context, up chan<- error) (err error) {
	defer func() {
		if up != nil {
			up <- err
		}
	}()
	cfg, err := pgconn.ParseConfig(p.dsn)
	if err != nil {
		return err
	}
	cfg.OnNotification = func(_ *pgconn.PgConn, n *pgconn.Notification) { p.heard(n.Payload) }
	connectCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	conn, err := pgconn.ConnectConfig(connectCtx, cfg)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	p.pid.Store(conn.PID())
	if _, err := conn.Exec(ctx, "LISTEN "+peersChannel).ReadAll(); err != nil {
		return err
	}
	p.forgetAll()
	for {
		sent := time.Now()
		pingCtx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := conn.Exec(pingCtx, "SELECT 1").ReadAll()
		cancel()
		if err != nil {
			return err
		}
		p.confirmed.Store(sent.UnixNano())
		if up != nil {
			up <- nil
			up = nil
		}
		// Wait for notifications (handled by OnNotification as they arrive) until the next proof
		// is due.
		for next := sent.Add(pingEvery); time.Now().Before(next); {
			waitCtx, cancel := context.WithDeadline(ctx, next)
			err := conn.WaitForNotification(waitCtx)
			cancel()
			if ctx.Err() != nil {
				return nil
			}
			if err != nil && !pgconn.Timeout(err) {
				return err
			}
		}
	}
}

// heard handles one notification: "topic:sender:key".
func (p *Peers) heard(payload string) {
	topic, rest, _ := strings.Cut(payload, ":")
	sender, key, _ := strings.Cut(rest, ":")
	if sender == p.id {
		return
	}
	p.mu.Lock()
	fs := p.follow[topic]
	p.mu.Unlock()
	for _, f := range fs {
		f(key)
	}
}

func (p *Peers) forgetAll() {
	p.mu.Lock()
	var fs []func(string)
	for _, l := range p.follow {
		fs = append(fs, l...)
	}
	p.mu.Unlock()
	for _, f := range fs {
		f("")
	}
}

// createNotifyTriggers makes every write to users other than a sign-in's last-login time, and
// every write to auth_sessions other than the once-a-minute last-seen time, notify the
// instances at its commit (schema version 4 runs it; a changed trigger is a new version).
// Updates that change only those times end no session, so no cache need move for them: a
// sign-in on one instance does not empty the session caches of all the others.
func createNotifyTriggers(tx *gorm.DB) error {
	for _, stmt := range []string{
		`CREATE OR REPLACE FUNCTION tally_notify_sessions() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	ignored text := CASE TG_TABLE_NAME WHEN 'users' THEN 'last_login' ELSE 'last_seen_at' END;
BEGIN
	IF TG_OP = 'UPDATE' AND to_jsonb(OLD) - ignored = to_jsonb(NEW) - ignored THEN
		RETURN NULL;
	END IF;
	PERFORM ` + NotifySQL(TopicSessions, "''") + `;
	RETURN NULL;
END $$`,
		`DROP TRIGGER IF EXISTS tally_notify_users ON users`,
		`CREATE TRIGGER tally_notify_users AFTER UPDATE OR DELETE ON users
			FOR EACH ROW EXECUTE FUNCTION tally_notify_sessions()`,
		`DROP TRIGGER IF EXISTS tally_notify_sessions ON auth_sessions`,
		`CREATE TRIGGER tally_notify_sessions AFTER UPDATE OR DELETE ON auth_sessions
			FOR EACH ROW EXECUTE FUNCTION tally_notify_sessions()`,
	} {
		if err := tx.Exec(stmt).Error; err != nil {
			return err
		}
	}
	return nil
}

// localWrites is the plugin that AfterLocalWrites keeps its callers in.
type localWrites struct {
	tables []string
	fns    []func()
}

const localWritesPlugin = "tally:local_writes"

func (l *localWrites) Name() string              { return localWritesPlugin }
func (l *localWrites) Initialize(*gorm.DB) error { return nil }

// touches reports whether the statement may write one of l's tables: a create, update or delete
// naming one, or a raw statement whose text names one (for a query, only when it writes).
func (l *localWrites) touches(tx *gorm.DB, query bool) bool {
	sql := tx.Statement.SQL.String()
	if query {
		upper := strings.ToUpper(sql)
		if !strings.Contains(upper, "INSERT ") && !strings.Contains(upper, "UPDATE ") && !strings.Contains(upper, "DELETE ") {
			return false
		}
	}
	for _, t := range l.tables {
		if tx.Statement.Table == t || strings.Contains(sql, t) {
			return true
		}
	}
	return false
}

func (l *localWrites) run() {
	for _, f := range l.fns {
		f()
	}
}

// AfterLocalWrites calls fn after each statement through db (or a session or transaction made
// from it) that may write one of tables: after the commit of the statement's own transaction,
// and for a statement inside Transaction after that transaction's commit too. The caches of this
// process that other writers' notifications keep right use it to see their own writes at once,
// without waiting for the notification. Call it once, before serving.
func AfterLocalWrites(db *gorm.DB, tables []string, fn func()) {
	l := &localWrites{tables: tables, fns: []func(){fn}}
	if err := db.Use(l); err != nil {
		return
	}
	hook := func(query bool) func(tx *gorm.DB) {
		return func(tx *gorm.DB) {
			if !l.touches(tx, query) {
				return
			}
			l.run()
			if w, ok := tx.Statement.Context.Value(txWritesKey{}).(*txWrites); ok {
				w.local.Store(true)
			}
		}
	}
	cb := db.Callback()
	const commit = "gorm:commit_or_rollback_transaction"
	_ = cb.Create().After(commit).Register(localWritesPlugin, hook(false))
	_ = cb.Update().After(commit).Register(localWritesPlugin, hook(false))
	_ = cb.Delete().After(commit).Register(localWritesPlugin, hook(false))
	_ = cb.Raw().After("gorm:raw").Register(localWritesPlugin, hook(false))
	_ = cb.Row().After("gorm:row").Register(localWritesPlugin, hook(true))
	_ = cb.Query().After("gorm:query").Register(localWritesPlugin, hook(true))
}
