// Package config reads every TALLY_* setting, with its default and its check, and keeps the
// secret that signs links and cookies.
package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is everything Tally reads from its environment (TALLY_*), parsed and checked.
type Config struct {
	Addr    string
	DataDir string
	// DatabaseURL, when set, is the Postgres database (postgres://…) that holds everything the
	// SQLite files in DataDir hold otherwise. Several instances may share it.
	DatabaseURL    string
	BaseURL        *url.URL
	Prod           bool
	Secret         []byte
	SessionIdle    time.Duration
	SessionMax     time.Duration
	TrustedProxies []netip.Prefix
	LogLevel       string

	// RememberMe offers "remember me" at login: 7 days idle, 30 days absolute.
	RememberMe bool

	// RequireTwoFactor is who must turn on two-factor sign-in before using Tally: "" (nobody),
	// RequireTwoFactorStaff (staff and superusers, before the admin) or RequireTwoFactorAll.
	RequireTwoFactor string

	// Login throttling: LockoutThreshold failures of one identity within LockoutWindow lock it
	// for LockoutDuration; IPLoginLimit failures from one IP within the window get 429.
	LockoutThreshold int
	LockoutWindow    time.Duration
	LockoutDuration  time.Duration
	IPLoginLimit     int

	SMTPURL   string
	MailFrom  string
	VerifyTTL time.Duration
	ResetTTL  time.Duration

	// Rate limits: mails per address and purpose, requests per client IP to each mail-sending form.
	MailPerMinute int
	MailPerHour   int
	IPPerHour     int

	// Backups: BackupDir turns on a daily backup at BackupAt (the time since midnight, UTC),
	// each kept for BackupKeep.
	BackupDir  string
	BackupAt   time.Duration
	BackupKeep time.Duration

	// Metrics serves /metrics to loopback clients, or to anyone sending MetricsToken as a
	// bearer token.
	Metrics      bool
	MetricsToken string
	// Drain is how long a stopping server keeps answering, /readyz with 503, before it stops
	// accepting connections: time for a proxy's health check to take it out of rotation.
	Drain time.Duration
}

// Load reads TALLY_* variables through getenv. It does not touch the disk; LoadSecret
// does that once the data dir exists.
func Load(getenv func(string) string) (Config, error) {
	env := func(key, def string) string {
		if v := strings.TrimSpace(getenv(key)); v != "" {
			return v
		}
		return def
	}
	cfg := Config{
		Addr:     env("TALLY_ADDR", "127.0.0.1:8080"),
		DataDir:  env("TALLY_DATA_DIR", "data"),
		LogLevel: env("TALLY_LOG_LEVEL", "info"),
	}
	switch e := env("TALLY_ENV", "dev"); e {
	case "dev":
	case "prod":
		cfg.Prod = true
	default:
		return cfg, fmt.Errorf("TALLY_ENV must be dev or prod, not %q", e)
	}
	base, err := url.Parse(env("TALLY_BASE_URL", "http://"+cfg.Addr))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return cfg, fmt.Errorf("TALLY_BASE_URL must be an absolute http(s) URL")
	}
	base.Path = strings.TrimRight(base.Path, "/")
	cfg.BaseURL = base
	if cfg.Prod && base.Scheme != "https" && env("TALLY_ALLOW_HTTP", "") != "1" {
		return cfg, errors.New("TALLY_ENV=prod needs an https TALLY_BASE_URL (set TALLY_ALLOW_HTTP=1 to run over plain HTTP anyway)")
	}
	for _, d := range []struct {
		key  string
		def  string
		dest *time.Duration
	}{
		{"TALLY_SESSION_IDLE", "30m", &cfg.SessionIdle},
		{"TALLY_SESSION_MAX", "12h", &cfg.SessionMax},
		{"TALLY_VERIFY_TTL", "72h", &cfg.VerifyTTL},
		{"TALLY_RESET_TTL", "1h", &cfg.ResetTTL},
		{"TALLY_LOCKOUT_WINDOW", "15m", &cfg.LockoutWindow},
		{"TALLY_LOCKOUT_DURATION", "15m", &cfg.LockoutDuration},
	} {
		v, err := time.ParseDuration(env(d.key, d.def))
		if err != nil || v < time.Minute {
			return cfg, fmt.Errorf("%s must be a duration of at least 1m, like 30m or 12h", d.key)
		}
		*d.dest = v
	}
	for _, n := range []struct {
		key  string
		def  string
		dest *int
	}{
		{"TALLY_RATE_MAIL_MINUTE", "1", &cfg.MailPerMinute},
		{"TALLY_RATE_MAIL_HOUR", "5", &cfg.MailPerHour},
		{"TALLY_RATE_IP_HOUR", "20", &cfg.IPPerHour},
		{"TALLY_LOCKOUT_THRESHOLD", "10", &cfg.LockoutThreshold},
		{"TALLY_IP_LOGIN_LIMIT", "50", &cfg.IPLoginLimit},
	} {
		v, err := strconv.Atoi(env(n.key, n.def))
		if err != nil || v < 1 {
			return cfg, fmt.Errorf("%s must be a whole number of at least 1", n.key)
		}
		*n.dest = v
	}
	cfg.SMTPURL = env("TALLY_SMTP_URL", "")
	cfg.MailFrom = env("TALLY_MAIL_FROM", "Tally <tally@"+base.Hostname()+">")
	switch r := env("TALLY_REMEMBER", "on"); r {
	case "on", "off":
		cfg.RememberMe = r == "on"
	default:
		return cfg, errors.New("TALLY_REMEMBER must be on or off")
	}
	switch r := env("TALLY_REQUIRE_2FA", ""); r {
	case "", RequireTwoFactorStaff, RequireTwoFactorAll:
		cfg.RequireTwoFactor = r
	default:
		return cfg, errors.New("TALLY_REQUIRE_2FA must be staff or all, or unset")
	}
	if cfg.TrustedProxies, err = parseTrustedProxies(env("TALLY_TRUSTED_PROXIES", "")); err != nil {
		return cfg, err
	}
	if err := loadOperations(&cfg, env); err != nil {
		return cfg, err
	}
	if s := getenv("TALLY_SECRET"); s != "" {
		if len(s) < 32 {
			return cfg, errors.New("TALLY_SECRET must be at least 32 characters")
		}
		cfg.Secret = []byte(s)
	}
	if err := loadDatabaseURL(&cfg, env("TALLY_DATABASE_URL", "")); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// loadDatabaseURL checks TALLY_DATABASE_URL. With a shared database the secret cannot be
// generated into one instance's data dir: every instance must sign cookies and links with the
// same one, so it must come from the environment. Messages never repeat the URL (it may carry
// a password).
func loadDatabaseURL(cfg *Config, raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return errors.New("TALLY_DATABASE_URL must be a URL such as postgres://user:pass@host:5432/tally?sslmode=require")
	}
	if cfg.Secret == nil {
		return errors.New("TALLY_DATABASE_URL is set, so TALLY_SECRET must be set too: every instance on the database signs cookies and links with the same secret (at least 32 characters)")
	}
	cfg.DatabaseURL = raw
	return nil
}

// Values of TALLY_REQUIRE_2FA.
const (
	RequireTwoFactorStaff = "staff"
	RequireTwoFactorAll   = "all"
)

// LoadSecret fills cfg.Secret from the data dir when the environment did not set one: created
// once with 32 random bytes and kept with mode 0600, so links and cookies survive a restart.
func (cfg *Config) LoadSecret() error {
	if cfg.Secret != nil {
		return nil
	}
	path := filepath.Join(cfg.DataDir, "secret.key")
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		cfg.Secret = []byte(strings.TrimSpace(string(b)))
		return nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return err
	}
	secret := hex.EncodeToString(raw[:])
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := f.WriteString(secret + "\n"); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	cfg.Secret = []byte(secret)
	return nil
}

// CookieName is the session cookie; the __Host- prefix makes browsers insist on Secure, Path=/
// and no Domain, so a sibling subdomain cannot plant one.
func (cfg Config) CookieName() string {
	if cfg.Prod {
		return "__Host-tally_session"
	}
	return "tally_session"
}

// AbsURL makes a link absolute from the configured base URL, never from the request's Host.
func (cfg Config) AbsURL(path string) string {
	return cfg.BaseURL.String() + path
}

// parseTrustedProxies reads a comma-separated list of IPs and CIDR ranges.
func parseTrustedProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if p, err := netip.ParsePrefix(item); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(item)
		if err != nil {
			return nil, fmt.Errorf("TALLY_TRUSTED_PROXIES: %q is not an IP address or CIDR range", item)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}
