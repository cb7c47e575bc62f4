package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"

	"tally/models"
)

// benchDB is the database a run measures: the data dir's tally.db, or a throwaway Postgres
// database made for the run on the server -database names.
type benchDB struct {
	// target is what models.Open and TALLY_DATABASE_URL take; url is empty on SQLite.
	target, url string
	// name says which database it is, for the report ("SQLite 3.53.0", "PostgreSQL 15.14").
	name string
	drop func() error
}

// openBenchDB decides the run's database. With a URL, it connects to the server it names
// (its credentials, its database only for the connection), creates tally_bench_<random> there
// and returns that database, which drop removes; every run starts from an empty database, as
// a SQLite run starts from an empty data dir.
func openBenchDB(databaseURL, dataDir string) (*benchDB, error) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if databaseURL == "" {
		return &benchDB{target: filepath.Join(dataDir, "tally.db"), name: "SQLite " + sqliteVersion(), drop: func() error { return nil }}, nil
	}
	u, err := url.Parse(databaseURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("-database: want a postgres:// URL, got %q", redacted(databaseURL))
	}
	admin, err := models.Open(databaseURL, quiet)
	if err != nil {
		return nil, err
	}
	defer models.Close(admin)
	var version string
	if err := admin.Raw("SHOW server_version").Scan(&version).Error; err != nil {
		return nil, err
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "tally_bench_" + hex.EncodeToString(b[:])
	if err := admin.Exec(`CREATE DATABASE "` + name + `"`).Error; err != nil {
		return nil, fmt.Errorf("create the bench's database on %s: %w", u.Redacted(), err)
	}
	own := *u
	own.Path = "/" + name
	db := &benchDB{target: own.String(), url: own.String(), name: "PostgreSQL " + strings.Fields(version)[0]}
	db.drop = func() error {
		admin, err := models.Open(databaseURL, quiet)
		if err != nil {
			return err
		}
		defer models.Close(admin)
		// FORCE ends connections a server left open (it was stopped; this is for a failed run).
		return admin.Exec(`DROP DATABASE IF EXISTS "` + name + `" WITH (FORCE)`).Error
	}
	progress("database: %s on %s, a new database %s (dropped at the end unless -keep)", db.name, u.Redacted(), name)
	return db, nil
}

// sqliteVersion is the version of the SQLite library GORM's driver links.
func sqliteVersion() string {
	db, err := models.Open(":memory:", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return "(version unknown)"
	}
	defer models.Close(db)
	var v string
	if err := db.Raw("SELECT sqlite_version()").Scan(&v).Error; err != nil {
		return "(version unknown)"
	}
	return v
}

// redacted is a URL without its password, for messages.
func redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the URL"
	}
	return u.Redacted()
}
