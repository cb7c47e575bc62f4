package models

import (
	"time"

	"gorm.io/gorm"
)

// RateCount is one key's count of requests in its current window (a client network's posts to
// one form in an hour). Several instances count into one row: each request adds one with a
// single upsert that returns the sum, so no two requests can read the same count (a
// get-then-set limiter lets every instance that read n write n+1).
type RateCount struct {
	Key     string    `gorm:"primaryKey;size:300"`
	Hits    int       `gorm:"not null"`
	ResetAt time.Time `gorm:"not null;index"`
}

// RateLimits counts requests per key and window in the database.
type RateLimits struct{ db *gorm.DB }

// OpenRateLimits drops the counters' windows that ended before now. Their table is schema
// version 4's.
func OpenRateLimits(db *gorm.DB, now time.Time) (*RateLimits, error) {
	if err := db.Where("reset_at <= ?", now).Delete(&RateCount{}).Error; err != nil {
		return nil, err
	}
	return &RateLimits{db: db}, nil
}

// Hit counts one request under key and returns the count in the key's window (this one
// included) and when the window ends. A window that has ended starts again at one.
//
// The commit does not wait for the disk (TransactionWithoutSync): a power cut can at worst
// forget a few counts of the last moment.
func (r *RateLimits) Hit(key string, window time.Duration, now time.Time) (hits int, resetAt time.Time, err error) {
	var row RateCount
	err = TransactionWithoutSync(r.db, func(tx *gorm.DB) error {
		// Not a write to users or sessions: the session cache need not move.
		return tx.Set(skipInvalidation, true).Raw(`INSERT INTO rate_counts (key, hits, reset_at) VALUES (?, 1, ?)
			ON CONFLICT (key) DO UPDATE SET
				hits = CASE WHEN rate_counts.reset_at <= ? THEN 1 ELSE rate_counts.hits + 1 END,
				reset_at = CASE WHEN rate_counts.reset_at <= ? THEN excluded.reset_at ELSE rate_counts.reset_at END
			RETURNING hits, reset_at`, key, now.Add(window), now, now).Scan(&row).Error
	})
	return row.Hits, row.ResetAt, err
}
