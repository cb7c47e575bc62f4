package models

import (
	"slices"

	"gorm.io/gorm"
)

// EmailCollision is a set of stored addresses that NormalizeEmail makes one: the same
// characters written in different Unicode forms (a letter with a combining accent, or the
// precomposed letter). Merging accounts is not a migration's decision, so they stay as stored.
type EmailCollision struct {
	Email   string // the address in normal form
	UserIDs []uint
}

// NormalizeStoredEmails rewrites each stored address whose normal form (NormalizeEmail)
// differs from it, unless another stored address has, or would get, the same normal form: then
// none of them changes and the set is returned. Only addresses with a character outside ASCII
// are read (an ASCII address is in NFC already, and stored ones are lower-cased), so a start
// with nothing to do reads little.
func NormalizeStoredEmails(db *gorm.DB) ([]EmailCollision, error) {
	var rows []User
	// length counts characters and octet_length bytes: they differ only outside ASCII.
	err := db.Select("id", "email").Where("octet_length(email) <> length(email)").Order("id").Find(&rows).Error
	if err != nil {
		return nil, err
	}
	groups := map[string][]User{}
	var forms []string
	for _, u := range rows {
		n := NormalizeEmail(u.Email)
		if n == u.Email {
			continue // normal already; a row that would collide with it finds it below
		}
		if groups[n] == nil {
			forms = append(forms, n)
		}
		groups[n] = append(groups[n], u)
	}
	if len(forms) == 0 {
		return nil, nil // the usual start: no write transaction
	}
	var collisions []EmailCollision
	err = Transaction(db, func(tx *gorm.DB) error {
		for _, n := range forms {
			group := groups[n]
			holder, err := FindUserByEmail(tx, n)
			if err == nil {
				group = append([]User{*holder}, group...)
			} else if err != ErrNotFound {
				return err
			}
			if len(group) > 1 {
				c := EmailCollision{Email: n}
				for _, u := range group {
					c.UserIDs = append(c.UserIDs, u.ID)
				}
				slices.Sort(c.UserIDs)
				collisions = append(collisions, c)
				continue
			}
			if err := tx.Model(&User{}).Where("id = ?", group[0].ID).Update("email", n).Error; err != nil {
				return err
			}
		}
		return nil
	})
	return collisions, err
}
