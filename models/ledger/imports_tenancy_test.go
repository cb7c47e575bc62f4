package ledger

import (
	"slices"
	"testing"
)

// theirImports gives the fixture's user a staged import and a committed one that wrote nothing
// (its one row is a duplicate of the plain row), so their ledger's rows stay as they were.
func theirImports(t *testing.T, f *ledgerFixture) (staged, committed uint) {
	t.Helper()
	rows := ImportRows{Format: "csv", Mapping: "{}", SaveMapping: true,
		Rows: slices.Values([]ImportRow{{Line: 2, Date: "2024-02-01", Payee: f.payee, Amount: -5_00}})}
	for i, id := range []*uint{&staged, &committed} {
		im := must[*Import](t)(f.book.StageImport(StagedFile{AccountID: f.checking, FileName: "theirs.csv", Format: "csv", Data: []byte{byte(i + 1)}}))
		must[*Import](t)(f.book.StageImportRows(im.ID, rows))
		*id = im.ID
	}
	res := must[*CommitResult](t)(f.book.CommitImport(committed, nil))
	if res.Written != 0 {
		t.Fatalf("their import wrote %d rows", res.Written)
	}
	return staged, committed
}

func init() {
	for name, c := range map[string]tenancyCase{
		"StageImport": {false, func(t *testing.T, a, b *ledgerFixture) {
			_, err := a.book.StageImport(StagedFile{AccountID: b.checking, FileName: "x.csv", Data: []byte("x")})
			wantNotFound(t, "StageImport into their account", err)
			im := must[*Import](t)(a.book.StageImport(StagedFile{AccountID: a.checking, FileName: "x.csv", Data: []byte("x")}))
			if im.AccountID != a.checking {
				t.Errorf("staged into %d", im.AccountID)
			}
		}},
		"StageImportRows": {true, func(t *testing.T, a, b *ledgerFixture) {
			staged, _ := theirImports(t, b)
			_, err := a.book.StageImportRows(staged, ImportRows{Rows: slices.Values([]ImportRow{{Line: 1, Date: "2024-01-01", Amount: 1}})})
			wantNotFound(t, "StageImportRows", err)
		}},
		"Import": {true, func(t *testing.T, a, b *ledgerFixture) {
			staged, committed := theirImports(t, b)
			for _, id := range []uint{staged, committed} {
				_, err := a.book.Import(id)
				wantNotFound(t, "Import", err)
			}
		}},
		"Imports": {true, func(t *testing.T, a, b *ledgerFixture) {
			staged, committed := theirImports(t, b)
			var ids []uint
			for _, im := range must[[]Import](t)(a.book.Imports()) {
				ids = append(ids, im.ID)
			}
			noneOf(t, "Imports", ids, staged, committed)
		}},
		"ImportFile": {true, func(t *testing.T, a, b *ledgerFixture) {
			staged, _ := theirImports(t, b)
			_, err := a.book.ImportFile(staged)
			wantNotFound(t, "ImportFile", err)
		}},
		"ImportMapping": {true, func(t *testing.T, a, b *ledgerFixture) {
			theirImports(t, b)
			_, err := a.book.ImportMapping(b.checking)
			wantNotFound(t, "ImportMapping", err)
		}},
		"DeleteImport": {true, func(t *testing.T, a, b *ledgerFixture) {
			staged, _ := theirImports(t, b)
			wantNotFound(t, "DeleteImport", a.book.DeleteImport(staged))
			must[*Import](t)(b.book.Import(staged))
		}},
		"StagedRows": {true, func(t *testing.T, a, b *ledgerFixture) {
			staged, _ := theirImports(t, b)
			_, _, err := a.book.StagedRows(staged, "", 0, 10)
			wantNotFound(t, "StagedRows", err)
		}},
		"SetImportSkips": {true, func(t *testing.T, a, b *ledgerFixture) {
			staged, _ := theirImports(t, b)
			wantNotFound(t, "SetImportSkips", a.book.SetImportSkips(staged, []int{2}, []int{2}))
		}},
		"CommitImport": {true, func(t *testing.T, a, b *ledgerFixture) {
			staged, _ := theirImports(t, b)
			_, err := a.book.CommitImport(staged, nil)
			wantNotFound(t, "CommitImport", err)
			if im := must[*Import](t)(b.book.Import(staged)); im.Status != ImportStaged {
				t.Errorf("their import is %s", im.Status)
			}
		}},
		"ImportEdits": {true, func(t *testing.T, a, b *ledgerFixture) {
			_, committed := theirImports(t, b)
			_, _, err := a.book.ImportEdits(committed, 10)
			wantNotFound(t, "ImportEdits", err)
		}},
		"ImportedRows": {true, func(t *testing.T, a, b *ledgerFixture) {
			_, committed := theirImports(t, b)
			_, err := a.book.ImportedRows(committed, "", 10)
			wantNotFound(t, "ImportedRows", err)
		}},
		"UndoImport": {true, func(t *testing.T, a, b *ledgerFixture) {
			_, committed := theirImports(t, b)
			_, err := a.book.UndoImport(committed, true)
			wantNotFound(t, "UndoImport", err)
			if im := must[*Import](t)(b.book.Import(committed)); im.Status != ImportCommitted {
				t.Errorf("their import is %s", im.Status)
			}
		}},
	} {
		tenancyCases[name] = c
	}
}
