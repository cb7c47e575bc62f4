package models

import (
	"bytes"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"gorm.io/gorm"
)

// twoFactor is a user with two-factor turned on at now, by the code of now's step.
type twoFactor struct {
	db     *gorm.DB
	k      *TwoFactorKeys
	u      *User
	secret string
	codes  []string
	now    time.Time
}

func twoFactorUser(t *testing.T) twoFactor {
	t.Helper()
	db := openTestDB(t)
	u := mustCreate(t, db, "ada", "ada@example.com", "tangerine-Umbrella-42", HashParams{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32})
	k, err := NewTwoFactorKeys([]byte(strings.Repeat("s", 40)))
	if err != nil {
		t.Fatal(err)
	}
	secret, err := NewTOTPSecret()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	codes := NewRecoveryCodes()
	if err := Transaction(db, func(tx *gorm.DB) error {
		return EnableTwoFactor(tx, k, u, secret, TOTPStep(now), codes, now)
	}); err != nil {
		t.Fatal(err)
	}
	return twoFactor{db, k, u, secret, codes, now}
}

func TestMatchTOTPWindow(t *testing.T) {
	secret, _ := NewTOTPSecret()
	now := time.Date(2026, 11, 23, 12, 0, 10, 0, time.UTC)
	for _, tc := range []struct {
		offset time.Duration
		ok     bool
	}{{-90 * time.Second, false}, {-60 * time.Second, false}, {-30 * time.Second, true}, {0, true}, {30 * time.Second, true}, {60 * time.Second, false}} {
		code, _ := totp.GenerateCode(secret, now.Add(tc.offset))
		step, ok := MatchTOTP(secret, code, now)
		if ok != tc.ok || ok && step != TOTPStep(now.Add(tc.offset)) {
			t.Errorf("code of %v: step %d, ok %v; want ok %v", tc.offset, step, ok, tc.ok)
		}
	}
}

// The conditional UPDATE is what refuses a replay when two requests read the row before either
// wrote it: only a later step moves it, and of racers exactly one does.
func TestConsumeTOTPStep(t *testing.T) {
	f := twoFactorUser(t)
	db, u, now := f.db, f.u, f.now
	s := TOTPStep(now)
	for _, tc := range []struct {
		step int64
		want bool
	}{{s, false}, {s - 1, false}, {s + 1, true}, {s + 1, false}} {
		if got, err := ConsumeTOTPStep(db, u.ID, tc.step, now); err != nil || got != tc.want {
			t.Errorf("step %+d: %v, %v; want %v", tc.step-s, got, err, tc.want)
		}
	}
	var won atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if ok, err := ConsumeTOTPStep(db, u.ID, s+2, now); err != nil {
				t.Error(err)
			} else if ok {
				won.Add(1)
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Errorf("%d of 8 racing requests used one step", won.Load())
	}
}

func TestUseTOTPOnce(t *testing.T) {
	f := twoFactorUser(t)
	db, k, u, secret, now := f.db, f.k, f.u, f.secret, f.now
	later := now.Add(30 * time.Second)
	code, _ := totp.GenerateCode(secret, later)
	var won atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if ok, err := UseTOTP(db, k, u.ID, code, later); err != nil {
				t.Error(err)
			} else if ok {
				won.Add(1)
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Errorf("one code worked %d times", won.Load())
	}
	// The enrolment's own code is spent too.
	first, _ := totp.GenerateCode(secret, now)
	if ok, _ := UseTOTP(db, k, u.ID, first, now); ok {
		t.Error("the enrolment's code worked again")
	}
}

func TestUseRecoveryCodeOnce(t *testing.T) {
	f := twoFactorUser(t)
	db, k, u, codes, now := f.db, f.k, f.u, f.codes, f.now
	var won atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			err := Transaction(db, func(tx *gorm.DB) error {
				ok, _, err := UseRecoveryCode(tx, k, u.ID, codes[0], now)
				if ok {
					won.Add(1)
				}
				return err
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Errorf("one recovery code worked %d times", won.Load())
	}
	if n, _ := RecoveryCodesLeft(db, u.ID); n != 9 {
		t.Errorf("%d left", n)
	}
	// Read aloud or typed sloppily: O for 0, I or L for 1, any case, spaces, no dash.
	typed := strings.NewReplacer("-", " ", "0", "O", "1", "l").Replace(strings.ToUpper(codes[1]))
	if ok, left, err := UseRecoveryCode(db, k, u.ID, typed, now); err != nil || !ok || left != 8 {
		t.Errorf("%q: %v, %d, %v", typed, ok, left, err)
	}
	for _, bad := range []string{"", "123456", codes[2] + "0", "uuuuu-uuuuu"} {
		if ok, _, _ := UseRecoveryCode(db, k, u.ID, bad, now); ok {
			t.Errorf("%q worked", bad)
		}
	}
	// Another user's keys: the hash includes the user.
	if ok, _, _ := UseRecoveryCode(db, k, u.ID+1, codes[3], now); ok {
		t.Error("a code worked for another user id")
	}
}

func TestSealOpen(t *testing.T) {
	k, _ := NewTwoFactorKeys([]byte(strings.Repeat("s", 40)))
	a, b := k.Seal(7, "SECRET"), k.Seal(7, "SECRET")
	if bytes.Equal(a, b) {
		t.Error("two seals of one value are equal: the nonce is not fresh")
	}
	if got, err := k.Open(7, a); err != nil || got != "SECRET" {
		t.Errorf("%q, %v", got, err)
	}
	tampered := bytes.Clone(a)
	tampered[len(tampered)-1] ^= 1
	for name, tc := range map[string]struct {
		user   uint
		sealed []byte
	}{"another user": {8, a}, "tampered": {7, tampered}, "short": {7, a[:5]}} {
		if _, err := k.Open(tc.user, tc.sealed); err == nil {
			t.Errorf("%s: opened", name)
		}
	}
}

func TestDisableTwoFactor(t *testing.T) {
	f := twoFactorUser(t)
	db, u := f.db, f.u
	for i, want := range []bool{true, false} {
		was, err := DisableTwoFactor(db, u.ID)
		if err != nil || was != want {
			t.Errorf("call %d: %v, %v", i+1, was, err)
		}
	}
	fresh, _ := FindUser(db, u.ID)
	if st, _ := FindTwoFactorStatus(db, u.ID); fresh.TwoFactor || st.Enabled || st.CodesLeft != 0 {
		t.Errorf("still on: %+v", st)
	}
}
