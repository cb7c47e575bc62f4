package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"gorm.io/gorm"

	"tally/models"
	"tally/models/ledger"
	"tally/money"
)

// demoOptions are the arguments of tally demo.
type demoOptions struct {
	username             string
	months, transactions int
	seed                 uint64
	currency             string
	force                bool
}

const (
	// demoBatch is how many transactions one database transaction adds: enough that the
	// commits (each an fsync) cost little, few enough that the server's writes never wait long.
	demoBatch = 1000
	// demoMaxPerMonth spreads a large --transactions over more months, so no day holds
	// thousands of rows.
	demoMaxPerMonth = 1500
	// demoPerTenDays is the everyday spending of a household, beside its bills and transfers:
	// about 110 rows a month, 125 with them.
	demoPerTenDays = 36
)

func parseDemo(w io.Writer, args []string) (demoOptions, error) {
	o := demoOptions{months: 24, seed: 1, currency: "USD"}
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(w)
	fs.IntVar(&o.months, "months", o.months, "how many months of history, ending today")
	fs.IntVar(&o.transactions, "transactions", 0, "about how many transactions (default: what the months give)")
	fs.Uint64Var(&o.seed, "seed", o.seed, "the random seed: the same seed on the same day gives the same data")
	fs.StringVar(&o.currency, "currency", o.currency, "the main accounts' currency")
	fs.BoolVar(&o.force, "force", false, "add demo data even when the user has accounts")
	// Flags may come before and after the username.
	var names []string
	for {
		if err := fs.Parse(args); err != nil {
			return o, err
		}
		if fs.NArg() == 0 {
			break
		}
		names = append(names, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch {
	case len(names) != 1:
		return o, errors.New("give exactly one username")
	case o.months < 1 || o.months > 600:
		return o, errors.New("--months must be between 1 and 600")
	case o.transactions < 0 || o.transactions > 1_000_000:
		return o, errors.New("--transactions must be between 0 and 1,000,000")
	}
	if _, ok := money.Lookup(o.currency); !ok {
		return o, fmt.Errorf("--currency: unknown currency %q", o.currency)
	}
	o.username = names[0]
	return o, nil
}

// demo fills a user's ledger with a few years of a household's money, so a newcomer sees a
// living app and the benchmark has data.
func (cli *CLI) demo(ctx context.Context, args []string) error {
	o, err := parseDemo(cli.Err, args)
	if err != nil {
		return err
	}
	return cli.withUser([]string{o.username}, func(u *models.User) error { return cli.fillDemo(ctx, u, o) })
}

func (cli *CLI) fillDemo(ctx context.Context, u *models.User, o demoOptions) error {
	began := time.Now()
	if o.transactions > 0 {
		o.months = max(o.months, (o.transactions+demoMaxPerMonth-1)/demoMaxPerMonth)
	}
	plan := planDemo(o, cli.Now().UTC())
	var ids map[demoAccount]uint
	var cats map[string]uint
	err := models.Transaction(cli.DB, func(tx *gorm.DB) error {
		b, err := ledger.For(tx, u.ID)
		if err != nil {
			return err
		}
		existing, err := b.Accounts(true)
		if err != nil {
			return err
		}
		if len(existing) > 0 && !o.force {
			return fmt.Errorf("%s already has %d account(s), and demo data would mix with them; run again with --force to add it anyway",
				u.Username, len(existing))
		}
		if ids, err = plan.createAccounts(b, existing); err != nil {
			return err
		}
		cats, err = demoCategories(b)
		return err
	})
	if err != nil {
		return err
	}
	inputs := make([]ledger.TxInput, len(plan.events))
	for i, e := range plan.events {
		inputs[i] = e.input(ids, cats)
	}
	// Each AddTransaction would open a savepoint in the batch's transaction, for which SQLite
	// copies every page it changes to a sub-journal file: a quarter of the time at 50,000
	// transactions. A batch that fails rolls back whole, so it needs none.
	db := cli.DB.Session(&gorm.Session{DisableNestedTransaction: true})
	for done := 0; done < len(inputs); done += demoBatch {
		if ctx.Err() != nil {
			return fmt.Errorf("%w after %d of %d transactions; they stay in the ledger", ErrInterrupted, done, len(inputs))
		}
		err := models.Transaction(db, func(tx *gorm.DB) error {
			b, err := ledger.For(tx, u.ID)
			if err != nil {
				return err
			}
			for _, in := range inputs[done:min(done+demoBatch, len(inputs))] {
				if _, err := b.AddTransaction(in); err != nil {
					return fmt.Errorf("demo transaction of %s at %q: %w", in.Date, in.Payee, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return cli.demoSummary(u, ids, len(inputs), plan, o, time.Since(began))
}

func (cli *CLI) demoSummary(u *models.User, ids map[demoAccount]uint, n int, plan *demoPlan, o demoOptions, took time.Duration) error {
	b, err := ledger.For(cli.DB, u.ID)
	if err != nil {
		return err
	}
	accounts, err := b.Accounts(true)
	if err != nil {
		return err
	}
	fmt.Fprintf(cli.Out, "Demo data for %s: %d accounts created, %d transactions from %s to %s (%d months, seed %d), in %s.\n\n",
		u.Username, len(ids), n, plan.start.AddDate(0, 0, 1).Format(time.DateOnly), plan.end.Format(time.DateOnly),
		o.months, o.seed, took.Round(time.Millisecond))
	balances := make([]string, len(accounts))
	width := len("BALANCE")
	for i, a := range accounts {
		cur, _ := money.Lookup(a.Currency)
		balances[i] = money.Format(a.Balance, cur, money.DefaultFormat)
		width = max(width, len(balances[i]))
	}
	w := tabwriter.NewWriter(cli.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "ACCOUNT\tKIND\tCURRENCY\t%*s\n", width, "BALANCE")
	for i, a := range accounts {
		fmt.Fprintf(w, "%s\t%s\t%s\t%*s\n", a.Name, a.Kind, a.Currency, width, balances[i])
	}
	return w.Flush()
}

// demoCategories seeds the default categories and finds those the demo uses by name, ignoring
// case as category names are unique; one the user renamed or deleted (with --force) is made
// again in its default group.
func demoCategories(b *ledger.Book) (map[string]uint, error) {
	if err := b.SeedDefaults(); err != nil {
		return nil, err
	}
	have, err := b.Categories()
	if err != nil {
		return nil, err
	}
	byKey := map[string]uint{}
	for _, c := range have {
		byKey[strings.ToLower(c.Name)] = c.ID
	}
	ids := map[string]uint{}
	for _, g := range ledger.DefaultCategories {
		for _, name := range g.Categories {
			ids[name] = byKey[strings.ToLower(name)]
			if ids[name] != 0 {
				continue
			}
			c, err := b.CreateCategory(ledger.CategoryInput{Name: name, Group: g.Group, IsIncome: g.IsIncome})
			if err != nil {
				return nil, err
			}
			ids[name] = c.ID
		}
	}
	return ids, nil
}

// demoAccount names the demo's accounts before they have ids.
type demoAccount int

const (
	demoNone demoAccount = iota
	demoChecking
	demoSavings
	demoCard
	demoCash
	demoForeign // in the other currency
)

// demoFill marks an event whose amount depends on the balances when it happens.
type demoFill int

const (
	fillNone        demoFill = iota
	fillSalary               // the salary of the event's year
	fillSavings              // a tenth of the salary
	fillCardPayment          // the card's whole balance
	fillInterest             // a month of interest on the savings
)

// demoEvent is one planned transaction. amount is in the account's currency; toAmount, only
// between currencies, is the other leg's.
type demoEvent struct {
	date             string
	account, to      demoAccount
	payee, memo      string
	amount, toAmount int64
	category         string
	splits           []demoSplit
	fill             demoFill
}

type demoSplit struct {
	category string
	amount   int64
	memo     string
}

func (e demoEvent) input(ids map[demoAccount]uint, cats map[string]uint) ledger.TxInput {
	in := ledger.TxInput{AccountID: ids[e.account], Date: e.date, Payee: e.payee, Memo: e.memo, Amount: e.amount,
		CategoryID: cats[e.category], TransferAccountID: ids[e.to], TransferAmount: e.toAmount}
	for _, s := range e.splits {
		in.Splits = append(in.Splits, ledger.SplitInput{CategoryID: cats[s.category], Amount: s.amount, Memo: s.memo})
	}
	return in
}

// demoPlan is the whole generated history, made before anything is written.
type demoPlan struct {
	rng         *rand.Rand
	main, other money.Currency
	start, end  time.Time // the opening balances' day, and today
	days        int       // the days after start, up to today
	opening     map[demoAccount]int64
	events      []demoEvent
	salary      int64
}

// planDemo generates o's history up to today: the bills, trips and transfers of every month,
// the everyday spending spread over the days, then a walk in date order that fills the amounts
// depending on balances (card payments, interest) and goes to the ATM when the wallet runs low.
func planDemo(o demoOptions, today time.Time) *demoPlan {
	p := &demoPlan{rng: rand.New(rand.NewPCG(o.seed, 0x7a11e7))}
	p.main, _ = money.Lookup(o.currency)
	p.other, _ = money.Lookup("EUR")
	if p.main.Code == "EUR" {
		p.other, _ = money.Lookup("USD")
	}
	p.end = time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)
	p.start = p.end.AddDate(0, -o.months, 0)
	p.days = int(p.end.Sub(p.start).Hours() / 24)
	p.opening = map[demoAccount]int64{
		demoChecking: p.usd(2_400_00, 3_200_00), demoSavings: p.usd(6_000_00, 12_000_00),
		demoCard: -p.usd(150_00, 600_00), demoCash: roundSig(p.usd(60_00, 120_00), 1),
	}
	p.bills()
	p.trips()
	natural := p.days * demoPerTenDays / 10
	n := natural
	if o.transactions > 0 {
		n = max(o.transactions-len(p.events), 0)
	}
	// What --transactions asks beyond a household's natural count is paid from checking: the
	// benchmark pages the register of one account holding most of them.
	for i := range n {
		p.spend(p.rng.IntN(p.days), i >= natural)
	}
	p.setSalary()
	slices.SortStableFunc(p.events, func(a, b demoEvent) int { return strings.Compare(a.date, b.date) })
	p.walk()
	return p
}

// createAccounts makes the demo's accounts, with another name where the user has one already.
func (p *demoPlan) createAccounts(b *ledger.Book, existing []ledger.Account) (map[demoAccount]uint, error) {
	taken := map[string]bool{}
	for _, a := range existing {
		taken[strings.ToLower(a.Name)] = true
	}
	ids := map[demoAccount]uint{}
	for _, a := range []struct {
		key        demoAccount
		name, kind string
		currency   money.Currency
	}{
		{demoChecking, "Checking", ledger.KindChecking, p.main},
		{demoSavings, "Savings", ledger.KindSavings, p.main},
		{demoCard, "Credit card", ledger.KindCreditCard, p.main},
		{demoCash, "Wallet", ledger.KindCash, p.main},
		{demoForeign, "Travel money (" + p.other.Code + ")", ledger.KindChecking, p.other},
	} {
		name := a.name
		for i := 1; taken[strings.ToLower(name)]; i++ {
			name = fmt.Sprintf("%s (demo %d)", a.name, i)
		}
		taken[strings.ToLower(name)] = true
		acc, err := b.CreateAccount(ledger.AccountInput{Name: name, Kind: a.kind, Currency: a.currency.Code,
			OpeningBalance: p.opening[a.key], OpeningDate: p.start.Format(time.DateOnly)})
		if err != nil {
			return nil, err
		}
		ids[a.key] = acc.ID
	}
	return ids, nil
}

// day is the i-th day after start, counting from 0.
func (p *demoPlan) day(i int) time.Time { return p.start.AddDate(0, 0, i+1) }

func (p *demoPlan) add(t time.Time, e demoEvent) {
	if t.After(p.start) && !t.After(p.end) {
		e.date = t.Format(time.DateOnly)
		p.events = append(p.events, e)
	}
}

func (p *demoPlan) pick(s []string) string { return s[p.rng.IntN(len(s))] }

// walk goes through the events in date order, fills the amounts that depend on balances and
// adds a withdrawal before a cash payment the wallet cannot make.
func (p *demoPlan) walk() {
	balance := map[demoAccount]int64{}
	for k, v := range p.opening {
		balance[k] = v
	}
	out := make([]demoEvent, 0, len(p.events)+len(p.events)/50)
	for _, e := range p.events {
		switch e.fill {
		case fillSalary:
			// A 3% raise every year.
			year := daysBetween(p.start, e.date) / 365
			e.amount = p.salary * int64(100+3*year) / 100
		case fillSavings:
			e.amount = -roundSig(p.salary/10, 2)
		case fillCardPayment:
			e.amount = min(balance[demoCard], 0)
		case fillInterest:
			e.amount = balance[demoSavings] * 4 / 1200 // 4% a year
		}
		if e.amount == 0 {
			continue
		}
		if e.account == demoCash && balance[demoCash]+e.amount < convert(20_00, p.main) {
			w := max(roundSig(p.usd(100_00, 200_00), 1), -e.amount)
			out = append(out, demoEvent{date: e.date, account: demoChecking, to: demoCash, payee: "ATM withdrawal", amount: -w})
			balance[demoChecking] -= w
			balance[demoCash] += w
		}
		balance[e.account] += e.amount
		switch {
		case e.to != demoNone && e.toAmount != 0:
			balance[e.to] += e.toAmount
		case e.to != demoNone:
			balance[e.to] -= e.amount
		}
		out = append(out, e)
	}
	p.events = out
}

func daysBetween(start time.Time, date string) int {
	t, _ := time.Parse(time.DateOnly, date)
	return int(t.Sub(start).Hours() / 24)
}

// setSalary makes the salary a sixth more than the household spends in a month, so the
// accounts grow slowly whatever --transactions asks for.
func (p *demoPlan) setSalary() {
	var spent int64
	for _, e := range p.events {
		if e.to == demoNone && e.account != demoForeign && e.amount < 0 {
			spent -= e.amount
		}
	}
	// A month is 30.44 days.
	p.salary = spent * 116 * 3044 / (100 * 100 * int64(max(p.days, 1)))
}

// roundSig rounds v to sig significant digits, for amounts people choose (rent, withdrawals).
func roundSig(v int64, sig int) int64 {
	neg := v < 0
	if neg {
		v = -v
	}
	limit, step := int64(1), int64(1)
	for range sig {
		limit *= 10
	}
	for n := v; n >= limit; n /= 10 {
		step *= 10
	}
	v = (v + step/2) / step * step
	if neg {
		return -v
	}
	return v
}

// demoRates are rough units of each currency per US dollar, in thousandths. The demo's prices
// are written in dollars and converted, so a yen ledger does not buy groceries for 40 yen and
// the travel money's rate looks plausible. They are not quotes.
var demoRates = map[string]int64{
	"AUD": 1_500, "BHD": 376, "BRL": 5_500, "CAD": 1_370, "CHF": 880, "CNY": 7_200, "CZK": 23_000,
	"DKK": 6_900, "EUR": 920, "GBP": 790, "HUF": 360_000, "INR": 83_000, "ISK": 138_000, "JOD": 710,
	"JPY": 150_000, "KRW": 1_350_000, "KWD": 310, "MXN": 18_000, "NOK": 10_700, "NZD": 1_650,
	"OMR": 385, "PLN": 4_000, "SEK": 10_500, "TND": 3_100, "USD": 1_000, "ZAR": 18_500,
}

// perDollar is cur's rate in thousandths times its minor units per major unit.
func perDollar(cur money.Currency) int64 {
	r, ok := demoRates[cur.Code]
	if !ok {
		r = 1_000
	}
	for range cur.Exponent {
		r *= 10
	}
	return r
}

// convert turns US cents into cur's minor units.
func convert(cents int64, cur money.Currency) int64 { return cents * perDollar(cur) / 100_000 }

// cost is what amount (minor units of of) costs in in's minor units, with 1.5% for the exchange.
func cost(amount int64, of, in money.Currency) int64 {
	return amount * perDollar(in) * 1015 / (perDollar(of) * 1000)
}

// usd is a random price between lo and hi US cents in the main currency, nearer lo more often,
// as prices are.
func (p *demoPlan) usd(lo, hi int64) int64 { return p.price(p.main, lo, hi) }

func (p *demoPlan) price(cur money.Currency, lo, hi int64) int64 {
	u := p.rng.Int64N(1000)
	return convert(lo+(hi-lo)*u*u/1_000_000, cur)
}

// bills plans what comes back every month: salary, rent, utilities, subscriptions, the
// transfers to savings and to the card, interest; and water each quarter, a tax refund in April.
func (p *demoPlan) bills() {
	rent := roundSig(p.usd(1_400_00, 2_100_00), 3)
	insurance, internet, gym := p.usd(60_00, 130_00), p.usd(45_00, 80_00), p.usd(25_00, 60_00)
	streaming, music, power := p.usd(9_99, 19_99), p.usd(9_99, 11_99), p.usd(55_00, 90_00)
	landlord := p.pick([]string{"Oakwood Property Management", "Greystar Residential", "Maple Court Apartments"})
	employer := p.pick([]string{"Northwind Traders", "Initech Inc.", "Globex Corporation", "Acme Corp"})
	fixed := func(v int64) func(time.Time) int64 { return func(time.Time) int64 { return -v } }
	// Electricity by month, in percent of the year's average: heating in winter, cooling in summer.
	season := [12]int64{135, 125, 110, 95, 85, 90, 105, 110, 95, 90, 105, 130}
	bills := []struct {
		day             int
		account         demoAccount
		payee, category string
		amount          func(time.Time) int64
	}{
		{1, demoChecking, landlord, "Rent or mortgage", fixed(rent)},
		{5, demoChecking, "Lemonade Insurance", "Insurance", fixed(insurance)},
		{8, demoCard, "T-Mobile", "Utilities", func(time.Time) int64 { return -p.usd(40_00, 58_00) }},
		{12, demoChecking, "FiberNet Internet", "Utilities", fixed(internet)},
		{14, demoCard, "Netflix", "Entertainment", fixed(streaming)},
		{18, demoChecking, "City Power & Light", "Utilities", func(t time.Time) int64 {
			return -(power*season[t.Month()-1]/100 + p.usd(0, 9_00))
		}},
		{20, demoChecking, "Anytime Fitness", "Health care", fixed(gym)},
		{22, demoCard, "Spotify", "Entertainment", fixed(music)},
	}
	for i := range p.days {
		t := p.day(i)
		last := t.AddDate(0, 1, -t.Day()).Day()
		for _, b := range bills {
			if t.Day() == min(b.day, last) {
				p.add(t, demoEvent{account: b.account, payee: b.payee, category: b.category, amount: b.amount(t)})
			}
		}
		switch {
		case t.Day() == 3:
			p.add(t, demoEvent{account: demoChecking, to: demoCard, payee: "Credit card payment", fill: fillCardPayment})
		case t.Day() == 15 && t.Month()%3 == 0:
			p.add(t, demoEvent{account: demoChecking, payee: "City Water", category: "Utilities", amount: -p.usd(60_00, 110_00)})
		case t.Day() == 16 && t.Month() == time.April:
			p.add(t, demoEvent{account: demoChecking, payee: "Tax refund", category: "Other income", amount: p.usd(200_00, 1_500_00)})
		case payday(t):
			p.add(t, demoEvent{account: demoChecking, payee: employer, memo: "Salary", category: "Salary", fill: fillSalary})
		case t.Day() == 26:
			p.add(t, demoEvent{account: demoChecking, to: demoSavings, payee: "Monthly savings", fill: fillSavings})
		case t.Day() == last:
			p.add(t, demoEvent{account: demoSavings, payee: "Interest", category: "Other income", fill: fillInterest})
		}
	}
}

// payday is the 25th, or the Friday before when the 25th falls on a weekend.
func payday(t time.Time) bool {
	d := time.Date(t.Year(), t.Month(), 25, 0, 0, 0, 0, time.UTC)
	switch d.Weekday() {
	case time.Saturday:
		d = d.AddDate(0, 0, -1)
	case time.Sunday:
		d = d.AddDate(0, 0, -2)
	}
	return t.Equal(d)
}

// demoAbroad are the payees of a holiday in the other currency's part of the world.
var demoAbroad = map[string]struct{ cities, restaurants, transport, sights, hotels []string }{
	"EUR": {
		[]string{"Lisbon", "Rome", "Vienna", "Barcelona", "Amsterdam"},
		[]string{"Trattoria da Enzo", "Café Central", "Bistro Le Petit Zinc", "Tapas Bar El Xampanyet", "Pastéis de Belém"},
		[]string{"Metro", "Tram", "Taxi"},
		[]string{"Museum ticket", "Guided city tour", "Castle entrance"},
		[]string{"Hotel Europa", "Casa do Rio Guesthouse", "Hotel Sacher"},
	},
	"USD": {
		[]string{"New York", "San Francisco", "Chicago", "Boston"},
		[]string{"Joe's Pizza", "Shake Shack", "Katz's Delicatessen", "Blue Bottle Coffee", "Tartine Bakery"},
		[]string{"MTA", "Uber", "Yellow Cab"},
		[]string{"MoMA", "Empire State Building", "Art Institute"},
		[]string{"Hilton Downtown", "The Standard", "Pod Hotel"},
	},
}

// trips plans a holiday abroad every six months, the first a few weeks in: flights on the card
// a month before, travel money changed a week before (a transfer between currencies), and the
// days abroad paid from it.
func (p *demoPlan) trips() {
	for first := min(40, p.days/2); first < p.days; first += 182 {
		where := demoAbroad[p.other.Code]
		city := p.pick(where.cities)
		p.add(p.day(first-30), demoEvent{account: demoCard, payee: p.pick([]string{"Lufthansa", "KLM", "Delta Air Lines", "TAP Air Portugal"}),
			memo: "Flights to " + city, category: "Holidays", amount: -p.usd(180_00, 650_00)})
		nights := 4 + p.rng.IntN(5)
		var abroad []demoEvent
		var spent int64
		pay := func(day int, payee, category string, lo, hi int64) {
			a := p.price(p.other, lo, hi)
			spent += a
			abroad = append(abroad, demoEvent{date: p.day(first + day).Format(time.DateOnly), account: demoForeign,
				payee: payee, category: category, amount: -a})
		}
		for day := range nights + 1 {
			for range 1 + p.rng.IntN(2) {
				pay(day, p.pick(where.restaurants), "Eating out", 9_00, 60_00)
			}
			pay(day, p.pick(where.transport), "Public transport", 2_00, 25_00)
			if p.rng.IntN(2) == 0 {
				pay(day, p.pick(where.sights), "Entertainment", 8_00, 30_00)
			}
		}
		pay(nights, p.pick(where.hotels), "Holidays", int64(nights)*90_00, int64(nights)*170_00)
		buy := roundSig(spent+convert(150_00, p.other), 2)
		p.add(p.day(max(first-7, 0)), demoEvent{account: demoChecking, to: demoForeign, payee: "Currency exchange",
			memo: "Travel money for " + city, amount: -cost(buy, p.other, p.main), toAmount: buy})
		for _, e := range abroad {
			t, _ := time.Parse(time.DateOnly, e.date)
			p.add(t, e)
		}
	}
}

// demoSpending is the everyday spending: each kind with its weight, category, payees, range in
// US cents, the percent paid from checking and by card (the rest in cash), and memos.
var demoSpending = []struct {
	weight         int
	category       string
	payees         []string
	lo, hi         int64
	checking, card int
	memos          []string
}{
	{15, "Groceries", demoSupermarkets, 12_00, 140_00, 75, 25, nil},
	{3, "Groceries", []string{"Farmers market", "Corner store"}, 4_00, 38_00, 0, 0, nil},
	{14, "Eating out", []string{"Blue Bottle Coffee", "Starbucks", "Corner Bakery", "Pret A Manger"}, 2_80, 9_50, 50, 0, nil},
	{13, "Eating out", []string{"Luigi's Trattoria", "Golden Dragon", "The Burger Joint", "Sakura Sushi", "Taqueria El Sol", "Chipotle"},
		11_00, 85_00, 55, 45, []string{"Lunch with Sam", "Team lunch", "Birthday dinner", "Date night"}},
	{10, "Public transport", []string{"Metro Transit", "City Bus", "Transit card top-up"}, 2_75, 40_00, 100, 0, nil},
	{3, "Public transport", []string{"Uber", "Lyft"}, 8_00, 38_00, 60, 40, nil},
	{5, "Car", []string{"Shell", "Chevron", "BP", "ExxonMobil"}, 32_00, 78_00, 30, 70, nil},
	{2, "Car", []string{"City Parking", "ParkMobile"}, 3_00, 22_00, 50, 0, nil},
	{7, "Miscellaneous", []string{"Amazon", "Target", "IKEA", "Home Depot", "Best Buy", "Walmart"}, 8_00, 160_00, 40, 60,
		[]string{"Kitchen things", "Phone charger", "Birthday card", "Light bulbs"}},
	{4, "Entertainment", []string{"AMC Theatres", "Steam", "Barnes & Noble", "Ticketmaster", "Lucky Strike Bowling"}, 9_00, 95_00, 50, 50,
		[]string{"Movie night", "Concert tickets", "Board game"}},
	{2, "Health care", []string{"CVS Pharmacy", "Walgreens", "Bright Smile Dental", "City Physio"}, 6_00, 190_00, 70, 30,
		[]string{"Prescription", "Check-up", "Dental cleaning"}},
	{1, "Gifts", []string{"Etsy", "Bloom Florist", "The Gift Shop"}, 15_00, 120_00, 40, 60,
		[]string{"Birthday present for Mum", "Wedding gift", "Housewarming"}},
}

var demoSupermarkets = []string{"Whole Foods Market", "Trader Joe's", "Safeway", "Kroger", "Aldi", "Lidl", "Costco"}

var demoHousehold = []string{"Household: detergent", "Household: paper towels", "Household: cleaning supplies", "Household: light bulbs"}

// spend plans one everyday purchase on the i-th day, from checking when debit says so. A
// quarter of the larger supermarket receipts are split into groceries and household things.
func (p *demoPlan) spend(i int, debit bool) {
	total := 0
	for _, k := range demoSpending {
		total += k.weight
	}
	r := p.rng.IntN(total)
	k := demoSpending[0]
	for _, k = range demoSpending {
		if r -= k.weight; r < 0 {
			break
		}
	}
	e := demoEvent{account: demoCash, payee: p.pick(k.payees), category: k.category, amount: -p.usd(k.lo, k.hi)}
	switch r := p.rng.IntN(100); {
	case r < k.checking || debit:
		e.account = demoChecking
	case r < k.checking+k.card:
		e.account = demoCard
	}
	if len(k.memos) > 0 && p.rng.IntN(5) == 0 {
		e.memo = p.pick(k.memos)
	}
	if slices.Contains(demoSupermarkets, e.payee) && -e.amount >= convert(40_00, p.main) && p.rng.IntN(4) == 0 {
		household := e.amount * int64(10+p.rng.IntN(25)) / 100
		e.category = ""
		e.splits = []demoSplit{{"Groceries", e.amount - household, ""}, {"Miscellaneous", household, p.pick(demoHousehold)}}
	}
	p.add(p.day(i), e)
}
