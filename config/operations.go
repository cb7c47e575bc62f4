package config

import (
	"errors"
	"strconv"
	"time"
)

// loadOperations reads the settings of backups, metrics and shutdown.
func loadOperations(cfg *Config, env func(key, def string) string) error {
	cfg.BackupDir = env("TALLY_BACKUP_DIR", "")
	// UTC, so that the schedule does not depend on the server's time zone or move with
	// daylight saving time.
	at, err := time.Parse("15:04", env("TALLY_BACKUP_AT", "03:30"))
	if err != nil {
		return errors.New("TALLY_BACKUP_AT must be a time of day in UTC, like 03:30")
	}
	cfg.BackupAt = time.Duration(at.Hour())*time.Hour + time.Duration(at.Minute())*time.Minute
	keep, err := strconv.Atoi(env("TALLY_BACKUP_KEEP", "14"))
	if err != nil || keep < 1 {
		return errors.New("TALLY_BACKUP_KEEP must be a whole number of days, at least 1")
	}
	cfg.BackupKeep = time.Duration(keep) * 24 * time.Hour

	switch m := env("TALLY_METRICS", "0"); m {
	case "0", "1":
		cfg.Metrics = m == "1"
	default:
		return errors.New("TALLY_METRICS must be 0 or 1")
	}
	cfg.MetricsToken = env("TALLY_METRICS_TOKEN", "")
	switch {
	case cfg.MetricsToken != "" && !cfg.Metrics:
		return errors.New("TALLY_METRICS_TOKEN is set but TALLY_METRICS is not 1")
	case cfg.MetricsToken != "" && len(cfg.MetricsToken) < 32:
		return errors.New("TALLY_METRICS_TOKEN must be at least 32 characters")
	}
	drain, err := time.ParseDuration(env("TALLY_DRAIN", "0s"))
	if err != nil || drain < 0 || drain > time.Minute {
		return errors.New("TALLY_DRAIN must be a duration from 0s to 1m, like 5s")
	}
	cfg.Drain = drain
	return nil
}
