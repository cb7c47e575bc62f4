package ledger

import "strings"

// The few places the ledger's SQL is spelt differently on Postgres: one query text wherever a
// portable form exists, and these where none does. The book knows its database from the handle
// it was made with (models.IsPostgres).

// indexedBy is SQLite's INDEXED BY clause naming the index a query must read, so its plan is
// the same on an empty database and a full one; Postgres has no such clause, and the plan tests
// check that its planner picks the index.
func (b *Book) indexedBy(index string) string {
	if b.pg {
		return ""
	}
	return " INDEXED BY " + index
}

// notIndexed is SQLite's NOT INDEXED: a table read by rowid only.
func (b *Book) notIndexed() string {
	if b.pg {
		return ""
	}
	return " NOT INDEXED"
}

// splitsJSON is the JSON array of a split's parts (rows c), as page reads it.
func (b *Book) splitsJSON() string {
	if b.pg {
		return `(SELECT json_agg(json_build_object('id', c.id, 'category_id', c.category_id,
		'amount', c.amount, 'memo', c.memo))::text FROM transactions c WHERE c.user_id = t.user_id AND c.parent_id = t.id)`
	}
	return `(SELECT json_group_array(json_object('id', c.id, 'category_id', c.category_id,
		'amount', c.amount, 'memo', c.memo)) FROM transactions c WHERE c.user_id = t.user_id AND c.parent_id = t.id)`
}

// migrationSchema is the ledger's schema for db's database.
func migrationSchema(pg bool) []string {
	if pg {
		return append(append(append([]string{}, postgresSchema...), postgresImportSchema...), categoryMonthsBackfill)
	}
	return schema
}

// jsonRows is a table of the elements of a JSON array bound as text, each in column value.
func (b *Book) jsonRows() string {
	if b.pg {
		return `jsonb_array_elements(CAST(? AS jsonb)) AS`
	}
	return `json_each(?)`
}

// storable is s as the database can keep it: Postgres's text cannot hold a NUL, which only a
// row staged as an error (a NUL is a control character) can carry, to be shown in the preview.
func (b *Book) storable(s string) string {
	if b.pg {
		return strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	return s
}
