package config

import (
	"strings"
	"testing"
	"time"
)

func TestDatabaseURL(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef"
	const pgURL = "postgres://tally:hunter2-pass@db.internal:5432/tally?sslmode=require"
	tests := []struct {
		name    string
		env     map[string]string
		want    string // the Config's DatabaseURL
		wantErr string // a part of the error; "" for none
	}{
		{name: "unset keeps SQLite", env: map[string]string{}, want: ""},
		{name: "postgres with a secret", env: map[string]string{"TALLY_DATABASE_URL": pgURL, "TALLY_SECRET": secret}, want: pgURL},
		{name: "postgresql scheme", env: map[string]string{"TALLY_DATABASE_URL": "postgresql://h/tally", "TALLY_SECRET": secret}, want: "postgresql://h/tally"},
		{name: "no secret", env: map[string]string{"TALLY_DATABASE_URL": pgURL}, wantErr: "TALLY_SECRET must be set"},
		{name: "not postgres", env: map[string]string{"TALLY_DATABASE_URL": "mysql://h/tally", "TALLY_SECRET": secret}, wantErr: "TALLY_DATABASE_URL must be"},
		{name: "no host", env: map[string]string{"TALLY_DATABASE_URL": "postgres:///tally", "TALLY_SECRET": secret}, wantErr: "TALLY_DATABASE_URL must be"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Load(func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Load: err = %v, want one containing %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("the error repeats the database password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.DatabaseURL != tc.want {
				t.Errorf("DatabaseURL = %q, want %q", cfg.DatabaseURL, tc.want)
			}
		})
	}
}

// With a database URL the secret comes from the environment, never from one instance's data
// dir: LoadSecret must not create secret.key.
func TestSharedDatabaseNeedsNoSecretFile(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"TALLY_DATA_DIR": dir, "TALLY_DATABASE_URL": "postgres://h/tally",
		"TALLY_SECRET": "0123456789abcdef0123456789abcdef"}
	cfg, err := Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.LoadSecret(); err != nil {
		t.Fatal(err)
	}
	if string(cfg.Secret) != env["TALLY_SECRET"] {
		t.Errorf("Secret = %q, want the environment's", cfg.Secret)
	}
}

func TestDrain(t *testing.T) {
	for _, tc := range []struct {
		value   string
		want    time.Duration
		wantErr bool
	}{
		{"", 0, false}, {"5s", 5 * time.Second, false}, {"1m", time.Minute, false},
		{"-1s", 0, true}, {"61s", 0, true}, {"soon", 0, true},
	} {
		cfg, err := Load(func(k string) string {
			if k == "TALLY_DRAIN" {
				return tc.value
			}
			return ""
		})
		if (err != nil) != tc.wantErr || err == nil && cfg.Drain != tc.want {
			t.Errorf("TALLY_DRAIN=%q: %v, %v; want %v (error %t)", tc.value, cfg.Drain, err, tc.want, tc.wantErr)
		}
	}
}
