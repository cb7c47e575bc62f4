package models

import (
	"net/url"
	"regexp"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// MailEmailChange is the purpose of the confirmation link sent to a new address.
const MailEmailChange = "email_change"

// Profile holds what a user tells about themselves beyond the account: the seed design's
// UserProfile. A user without a row has an empty profile; the row is written at the first save.
// Every field is stored normalised, so what the page shows is what was validated.
type Profile struct {
	UserID      uint   `gorm:"primaryKey;autoIncrement:false"`
	User        User   `gorm:"constraint:OnDelete:CASCADE" json:"-"`
	PhoneNumber string `gorm:"size:16;not null"`                     // "+" and 7-15 digits, or ""
	GitHubLink  string `gorm:"column:github_link;size:100;not null"` // https://github.com/<username>, or ""
	// BirthDate is a calendar date, "YYYY-MM-DD" or "": a date has no time zone to get wrong.
	BirthDate string `gorm:"size:10;not null"`
	// NumberFormat is how the user reads and types amounts (a money.NumberFormat); "" is the
	// default, 1,234.56.
	NumberFormat string    `gorm:"size:16;not null;default:''"`
	UpdatedAt    time.Time `gorm:"not null"`
}

// ProfileChange is a validated, normalised edit of the profile page.
type ProfileChange struct {
	FirstName, LastName                string
	PhoneNumber, GitHubLink, BirthDate string
	NumberFormat                       string
}

// FindProfile returns the user's profile; a user who never saved one gets an empty one.
func FindProfile(db *gorm.DB, userID uint) (*Profile, error) {
	var ps []Profile
	if err := db.Where("user_id = ?", userID).Limit(1).Find(&ps).Error; err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return &Profile{UserID: userID}, nil
	}
	return &ps[0], nil
}

// UpdateProfile stores the names on the user and the rest on the profile, in one transaction.
func UpdateProfile(db *gorm.DB, u *User, ch ProfileChange, now time.Time) error {
	return Transaction(db, func(tx *gorm.DB) error {
		if err := tx.Model(&User{}).Where("id = ?", u.ID).
			Updates(map[string]any{"first_name": ch.FirstName, "last_name": ch.LastName}).Error; err != nil {
			return err
		}
		p := Profile{UserID: u.ID, PhoneNumber: ch.PhoneNumber, GitHubLink: ch.GitHubLink, BirthDate: ch.BirthDate,
			NumberFormat: ch.NumberFormat, UpdatedAt: now}
		err := tx.Omit("User").Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "user_id"}},
			DoUpdates: clause.AssignmentColumns([]string{"phone_number", "github_link", "birth_date", "number_format", "updated_at"}),
		}).Create(&p).Error
		if err != nil {
			return err
		}
		u.FirstName, u.LastName = ch.FirstName, ch.LastName
		return nil
	})
}

// NormalizePhone turns an international number as typed ("+44 20-7946.0958") into its stored
// form ("+442079460958"). It returns a message when the number is not one; "" stays "".
func NormalizePhone(s string) (string, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", ""
	}
	if msg := CheckText(s, 40); msg != "" {
		return "", msg
	}
	digits := strings.Map(func(r rune) rune {
		if r == ' ' || r == '.' || r == '-' {
			return -1
		}
		return r
	}, strings.TrimPrefix(s, "+"))
	if !strings.HasPrefix(s, "+") || !phoneDigits.MatchString(digits) {
		return "", "Enter the number in international format: + and the country code, then the number, like +44 20 7946 0958."
	}
	return "+" + digits, ""
}

// phoneDigits is E.164: at most 15 digits, the country code never starts with 0. Seven is the
// shortest complete number in use.
var phoneDigits = regexp.MustCompile(`^[1-9][0-9]{6,14}$`)

// githubUsername is GitHub's rule: 1 to 39 letters, digits or single hyphens, not at either end.
var githubUsername = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9]|-[A-Za-z0-9]){0,38}$`)

// NormalizeGitHub accepts a GitHub profile link or a bare username (with or without "@") and
// returns "https://github.com/<username>". Links elsewhere, to repositories, or with queries,
// credentials or ports are refused: the stored link is always a plain profile address.
func NormalizeGitHub(s string) (string, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", ""
	}
	const bad = "Enter a GitHub username or a link like https://github.com/octocat."
	if msg := CheckText(s, 100); msg != "" {
		return "", msg
	}
	name := strings.TrimPrefix(s, "@")
	if strings.ContainsAny(s, "/:") {
		raw := s
		if !strings.Contains(raw, "://") {
			raw = "https://" + raw
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || u.Port() != "" ||
			u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
			return "", bad
		}
		if host := strings.ToLower(u.Host); host != "github.com" && host != "www.github.com" {
			return "", "This is not a GitHub link: it must point to github.com."
		}
		name = strings.TrimSuffix(strings.TrimPrefix(u.Path, "/"), "/")
	}
	if !githubUsername.MatchString(name) {
		return "", bad
	}
	return "https://github.com/" + name, ""
}

// GitHubUsername is the username of a stored GitHub link.
func GitHubUsername(link string) string {
	return strings.TrimPrefix(link, "https://github.com/")
}

// NormalizeBirthDate checks a "YYYY-MM-DD" date (what a date input sends) is a real day between
// 1900-01-01 and today.
func NormalizeBirthDate(s string, today time.Time) (string, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", ""
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return "", "Enter a real date as YYYY-MM-DD, like 1990-05-17."
	}
	y, m, day := today.Date()
	if d.Year() < 1900 || d.After(time.Date(y, m, day, 0, 0, 0, 0, time.UTC)) {
		return "", "Enter a date between 1900 and today."
	}
	return d.Format(time.DateOnly), ""
}

// Initials are what the default picture shows: the first letters of the first and last name,
// or of the username.
func Initials(u *User) string {
	first := func(s string) string {
		for _, r := range strings.TrimSpace(s) {
			return strings.ToUpper(string(r))
		}
		return ""
	}
	if in := first(u.FirstName) + first(u.LastName); in != "" {
		return in
	}
	return first(u.Username)
}
