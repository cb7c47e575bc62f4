// Package money keeps amounts as int64 minor units (cents for USD, yen for JPY, fils for KWD),
// signed so that a negative amount is money going out. It parses what a user types in the
// number format of their profile and formats amounts back, per the currency's ISO 4217
// exponent.
//
// There is no float anywhere: 0.10 has no exact binary form, so a float ledger drifts by a
// cent sooner or later and can no longer be reconciled with a bank statement.
package money
