package money_test

import (
	"errors"
	"math"
	"slices"
	"testing"

	"tally/money"
)

func TestTotals(t *testing.T) {
	type add struct {
		code    string
		minor   int64
		wantErr bool
	}
	tests := []struct {
		name string
		adds []add
		want []money.Total
	}{
		{"none", nil, []money.Total{}},
		{"one currency", []add{{"USD", 1234, false}, {"USD", -234, false}}, []money.Total{{"USD", 1000}}},
		{"currencies kept apart and sorted", []add{{"USD", 100, false}, {"EUR", 200, false}, {"JPY", 5, false}, {"EUR", 1, false}},
			[]money.Total{{"EUR", 201}, {"JPY", 5}, {"USD", 100}}},
		{"code case ignored", []add{{"usd", 100, false}, {"USD", 1, false}}, []money.Total{{"USD", 101}}},
		{"zero total kept", []add{{"GBP", 500, false}, {"GBP", -500, false}}, []money.Total{{"GBP", 0}}},
		{"overflow up refused", []add{{"USD", math.MaxInt64, false}, {"USD", 1, true}}, []money.Total{{"USD", math.MaxInt64}}},
		{"overflow down refused", []add{{"USD", math.MinInt64, false}, {"USD", -1, true}}, []money.Total{{"USD", math.MinInt64}}},
		{"extremes cancel", []add{{"USD", math.MaxInt64, false}, {"USD", math.MinInt64, false}}, []money.Total{{"USD", -1}}},
		{"overflow in one currency only", []add{{"USD", math.MaxInt64, false}, {"EUR", math.MaxInt64, false}, {"EUR", math.MaxInt64, true}},
			[]money.Total{{"EUR", math.MaxInt64}, {"USD", math.MaxInt64}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var totals money.Totals
			for _, a := range tc.adds {
				err := totals.Add(a.code, a.minor)
				if a.wantErr != errors.Is(err, money.ErrOverflow) || (!a.wantErr && err != nil) {
					t.Errorf("Add(%q, %d) = %v, want overflow %v", a.code, a.minor, err, a.wantErr)
				}
			}
			if got := totals.List(); !slices.Equal(got, tc.want) {
				t.Errorf("List() = %+v, want %+v", got, tc.want)
			}
		})
	}
}
