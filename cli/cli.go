// Package cli is the command line beside the server: the same data dir and the same rules, no
// HTTP. An operation a page performs too is called from models or account, never written again.
package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"
	"gorm.io/gorm"

	"tally/account"
	"tally/config"
	"tally/models"
)

// CLI runs the commands beside the server: the same data dir and the same rules, no HTTP. The
// database is WAL with a busy timeout and immediate transactions, so a command can run while
// the server does.
type CLI struct {
	Config config.Config
	DB     *gorm.DB
	In     io.Reader
	// Out gets what a script may read (tables, links); Err gets prompts and notes.
	Out, Err io.Writer
	Now      func() time.Time
	Hash     models.HashParams

	in *bufio.Reader
	// TTY reads a secret without echo; nil when In is not a terminal, and then every answer,
	// the password included, is a line of In.
	TTY func(ctx context.Context) (string, error)
}

const cliUsage = `Usage: tally [command]

Without a command, tally runs the server. Commands:
  createsuperuser [--username NAME --email ADDRESS]
                              create an account with every right; without a terminal,
                              give both flags and the password on the first line of stdin
  changepassword USERNAME     set a user's password and sign them out everywhere
  users                       list every account
  reset-link USERNAME         print a one-time password reset link (for installs without mail)
  unlock USERNAME             clear the sign-in lockout of a user (or an email address)
  reset-2fa USERNAME          turn off a user's two-factor sign-in and remove their passkeys (lost phone, codes or keys)
  demo USERNAME [--months 24] [--transactions N] [--seed 1] [--currency USD] [--force]
                              fill a user's ledger with realistic demo data; refuses when
                              they have accounts, unless --force
  backup [--sessions] [FILE]  write a verified backup (.tar.gz) of the data while the server
                              runs: to FILE, or into TALLY_BACKUP_DIR or the current dir;
                              with TALLY_DATABASE_URL it prints the pg_dump command instead
  restore FILE                replace the data with a backup (the server must be stopped);
                              the current files are kept aside in the data dir
  migrate                     apply the schema versions the database lacks, as a start of
                              the server does (after a backup of a SQLite data dir), and
                              print them; refuses a database a newer Tally migrated
  move-to URL                 copy this data dir's install into an empty Postgres database
                              (the server must be stopped), then check counts and balances
  version                     print the version of this binary
`

// Run runs the command args[0].
func (cli *CLI) Run(ctx context.Context, args []string) error {
	if cli.Now == nil {
		cli.Now = func() time.Time { return time.Now().UTC() }
	}
	if cli.Hash == (models.HashParams{}) {
		cli.Hash = models.DefaultHashParams
	}
	cli.in = bufio.NewReader(cli.In)
	if f, ok := cli.In.(*os.File); ok && cli.TTY == nil && term.IsTerminal(int(f.Fd())) {
		cli.TTY = cli.terminalReader(int(f.Fd()))
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "createsuperuser":
		return cli.createSuperuser(ctx, rest)
	case "changepassword":
		return cli.withUser(rest, func(u *models.User) error { return cli.changePassword(ctx, u) })
	case "users":
		return cli.users(rest)
	case "reset-link":
		return cli.withUser(rest, cli.resetLink)
	case "unlock":
		return cli.unlock(rest)
	case "reset-2fa":
		return cli.withUser(rest, func(u *models.User) error { return cli.resetTwoFactor(ctx, u) })
	case "demo":
		return cli.demo(ctx, rest)
	case "backup":
		return cli.backup(ctx, rest)
	case "restore":
		return cli.restore(ctx, rest)
	case "migrate":
		return cli.migrate(ctx, rest)
	case "move-to":
		return cli.moveTo(ctx, rest)
	case "version":
		return cli.version(rest)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(cli.Out, cliUsage)
		return nil
	}
	fmt.Fprint(cli.Err, cliUsage)
	return fmt.Errorf("unknown command %q", cmd)
}

// withUser runs fn on the user named by the command's one argument (a username or email).
func (cli *CLI) withUser(args []string, fn func(*models.User) error) error {
	if len(args) != 1 {
		return errors.New("give exactly one username")
	}
	u, err := models.FindUserByLogin(cli.DB, args[0])
	if errors.Is(err, models.ErrNotFound) {
		return fmt.Errorf("there is no user %q", args[0])
	} else if err != nil {
		return err
	}
	return fn(u)
}

// ErrInterrupted is a Ctrl-C at a prompt.
var ErrInterrupted = errors.New("interrupted")

// terminalReader reads without echo and gives the terminal back as it was on Ctrl-C (main
// turns the signal into a cancelled context, so the read itself is never interrupted).
func (cli *CLI) terminalReader(fd int) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		state, err := term.GetState(fd)
		if err != nil {
			return "", err
		}
		defer fmt.Fprintln(cli.Err)
		return cli.wait(ctx, func() (string, error) {
			b, err := term.ReadPassword(fd)
			return string(b), err
		}, func() { _ = term.Restore(fd, state) })
	}
}

// wait runs read, giving up when ctx ends.
func (cli *CLI) wait(ctx context.Context, read func() (string, error), cancel func()) (string, error) {
	type answer struct {
		s   string
		err error
	}
	done := make(chan answer, 1)
	go func() {
		s, err := read()
		done <- answer{s, err}
	}()
	select {
	case a := <-done:
		return a.s, a.err
	case <-ctx.Done():
		cancel()
		return "", ErrInterrupted
	}
}

// line reads one line of In without its line ending; at the end of In it is an error.
func (cli *CLI) line(ctx context.Context) (string, error) {
	s, err := cli.wait(ctx, func() (string, error) { return cli.in.ReadString('\n') }, func() {})
	if errors.Is(err, io.EOF) && s != "" {
		err = nil
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			return "", errors.New("no answer: the input ended")
		}
		return "", err
	}
	return strings.TrimRight(s, "\r\n"), nil
}

// ask prompts on a terminal and reads a line; without a terminal it only reads.
func (cli *CLI) ask(ctx context.Context, prompt string) (string, error) {
	if cli.TTY != nil {
		fmt.Fprint(cli.Err, prompt)
	}
	return cli.line(ctx)
}

// askPassword reads a new password: twice, without echo, on a terminal; once, from the first
// line of In, otherwise. On a terminal it asks again until the validators accept it.
func (cli *CLI) askPassword(ctx context.Context, attrs models.UserAttrs) (string, error) {
	for {
		if cli.TTY == nil {
			pw, err := cli.line(ctx)
			if err != nil {
				return "", err
			}
			return pw, validatePasswordPair(pw, pw, attrs)
		}
		fmt.Fprint(cli.Err, "Password: ")
		pw, err := cli.TTY(ctx)
		if err != nil {
			return "", err
		}
		fmt.Fprint(cli.Err, "Password (again): ")
		again, err := cli.TTY(ctx)
		if err != nil {
			return "", err
		}
		if err := validatePasswordPair(pw, again, attrs); err != nil {
			fmt.Fprintln(cli.Err, "Error:", err)
			continue
		}
		return pw, nil
	}
}

// validatePasswordPair applies registration's validators and the confirmation.
func validatePasswordPair(pw, again string, attrs models.UserAttrs) error {
	switch problems := models.ValidatePassword(pw, attrs); {
	case pw == "":
		return errors.New("the password is empty")
	case len(problems) > 0:
		return errors.New(strings.Join(problems, " "))
	case pw != again:
		return errors.New("the two passwords do not match")
	}
	return nil
}

// askField returns value when it is valid, else asks on a terminal until it is.
func (cli *CLI) askField(ctx context.Context, prompt, value string, check func(string) error) (string, error) {
	for {
		if value != "" {
			err := check(value)
			if err == nil || cli.TTY == nil {
				return value, err
			}
			fmt.Fprintln(cli.Err, "Error:", err)
		} else if cli.TTY == nil {
			return "", fmt.Errorf("give %s with its flag when there is no terminal", strings.ToLower(strings.TrimSuffix(prompt, ": ")))
		}
		v, err := cli.ask(ctx, prompt)
		if err != nil {
			return "", err
		}
		value = strings.TrimSpace(v)
	}
}

func (cli *CLI) createSuperuser(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("createsuperuser", flag.ContinueOnError)
	fs.SetOutput(cli.Err)
	username := fs.String("username", "", "the new superuser's username")
	email := fs.String("email", "", "the new superuser's email address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	name, err := cli.askField(ctx, "Username: ", *username, func(s string) error {
		if msg := models.ValidateUsername(s); msg != "" {
			return errors.New(msg)
		}
		if taken, err := models.UsernameTaken(cli.DB, s); err != nil || taken {
			return cmpErr(err, "this username is taken")
		}
		return nil
	})
	if err != nil {
		return err
	}
	addr, err := cli.askField(ctx, "Email: ", models.NormalizeEmail(*email), func(s string) error {
		if msg := models.ValidateEmail(s); msg != "" {
			return errors.New(msg)
		}
		if _, err := models.FindUserByEmail(cli.DB, s); !errors.Is(err, models.ErrNotFound) {
			return cmpErr(err, "an account with this email address exists")
		}
		return nil
	})
	if err != nil {
		return err
	}
	pw, err := cli.askPassword(ctx, models.UserAttrs{Username: name, Email: addr})
	if err != nil {
		return err
	}
	hash, err := models.HashPassword(pw, cli.Hash)
	if err != nil {
		return err
	}
	err = models.Transaction(cli.DB, func(tx *gorm.DB) error {
		u, err := models.CreateSuperuser(tx, models.NewUser{Username: name, Email: addr, PasswordHash: hash}, cli.Now())
		if err != nil {
			return err
		}
		return cli.event(tx, u, models.EventAdminChange, "Created as superuser from the command line")
	})
	if errors.Is(err, models.ErrUsernameTaken) || errors.Is(err, models.ErrEmailTaken) {
		return errors.New("the username or email was taken meanwhile; try again")
	} else if err != nil {
		return err
	}
	fmt.Fprintf(cli.Out, "Superuser %s created.\n", name)
	return nil
}

// cmpErr is err, or an error with msg when err is nil.
func cmpErr(err error, msg string) error {
	if err != nil {
		return err
	}
	return errors.New(msg)
}

// event records a security event done from the command line.
func (cli *CLI) event(tx *gorm.DB, u *models.User, kind, detail string) error {
	return models.RecordEvent(tx, &models.SecurityEvent{UserID: u.ID, Kind: kind, Detail: detail,
		CreatedAt: cli.Now(), Device: "Command line"})
}

// changePassword sets a new password, ends every session of the user and mails them the notice,
// through the same account.SetPassword as the page.
func (cli *CLI) changePassword(ctx context.Context, u *models.User) error {
	if cli.TTY != nil {
		fmt.Fprintf(cli.Err, "Changing the password of %s.\n", u.Username)
	}
	pw, err := cli.askPassword(ctx, u.Attrs())
	if err != nil {
		return err
	}
	hash, err := models.HashPassword(pw, cli.Hash)
	if err != nil {
		return err
	}
	ended, err := account.SetPassword(ctx, cli.DB, cli.Config, u, hash, "", models.SecurityEvent{
		Kind: models.EventPasswordChange, Detail: "Changed from the command line", CreatedAt: cli.Now(), Device: "Command line"})
	if err != nil {
		return err
	}
	fmt.Fprintf(cli.Out, "Password of %s changed; %d sessions signed out.\n", u.Username, ended)
	return nil
}

func (cli *CLI) users(args []string) error {
	if len(args) != 0 {
		return errors.New("users takes no arguments")
	}
	w := tabwriter.NewWriter(cli.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tUSERNAME\tEMAIL\tNAME\tROLE\tACTIVE\tVERIFIED\tJOINED\tLAST LOGIN")
	err := models.EachUser(cli.DB, func(u *models.User) error {
		role := "user"
		if u.IsSuperuser {
			role = "superuser"
		} else if u.IsStaff {
			role = "staff"
		}
		last := "never"
		if u.LastLogin != nil {
			last = u.LastLogin.UTC().Format("2006-01-02 15:04")
		}
		_, err := fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Username, u.Email,
			strings.TrimSpace(u.FirstName+" "+u.LastName), role, activeState(u), yesNo(u.IsVerified()),
			u.DateJoined.UTC().Format("2006-01-02"), last)
		return err
	})
	if err != nil {
		return err
	}
	return w.Flush()
}

// activeState is the ACTIVE column: "deactivated" is an administrator's decision, which only an
// administrator undoes; "no" is an account waiting for its address's confirmation.
func activeState(u *models.User) string {
	if u.Deactivated {
		return "deactivated"
	}
	return yesNo(u.IsActive)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// resetLink prints a reset link for installs without mail; whoever runs it hands it over.
func (cli *CLI) resetLink(u *models.User) error {
	fmt.Fprintln(cli.Out, account.TokenLink(cli.Config, "/password/reset", models.PurposeReset, u, cli.Now()))
	fmt.Fprintf(cli.Err, "The link works once, for %s.\n", cli.Config.ResetTTL)
	switch {
	case u.Deactivated:
		fmt.Fprintf(cli.Err, "Note: %s was deactivated by an administrator, so cannot log in even with a new password until an administrator activates the account again.\n", u.Username)
	case !u.IsActive:
		fmt.Fprintf(cli.Err, "Note: %s has not confirmed their email address yet, so cannot log in even with a new password.\n", u.Username)
	}
	return nil
}

// unlock clears the lockout and failure count of what a login field names: a username, an
// email, or a name without an account (guessing locks those too).
func (cli *CLI) unlock(args []string) error {
	if len(args) != 1 {
		return errors.New("give exactly one username or email")
	}
	return models.Transaction(cli.DB, func(tx *gorm.DB) error {
		if err := models.ClearLoginFailures(tx, args[0]); err != nil {
			return err
		}
		u, err := models.FindUserByLogin(tx, args[0])
		if errors.Is(err, models.ErrNotFound) {
			fmt.Fprintf(cli.Out, "Sign-in for %q is unlocked (no account has this name).\n", args[0])
			return nil
		} else if err != nil {
			return err
		}
		fmt.Fprintf(cli.Out, "Sign-in for %s is unlocked.\n", u.Username)
		return cli.event(tx, u, models.EventAdminChange, "Sign-in lockout cleared from the command line")
	})
}
