package cli

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"tally/account"
	"tally/models"
)

// resetTwoFactor turns off a user's two-factor sign-in, for the operator who locked themself
// out (or a user without their phone and codes): the same operation as the admin's button,
// recorded as done from the command line and mailed to the user.
func (cli *CLI) resetTwoFactor(ctx context.Context, u *models.User) error {
	var was bool
	var passkeys int64
	err := models.Transaction(cli.DB, func(tx *gorm.DB) error {
		var err error
		ev := models.SecurityEvent{Detail: "From the command line", CreatedAt: cli.Now(), Device: "Command line"}
		if was, err = account.DisableTwoFactor(ctx, tx, cli.Config, u, ev, true); err != nil {
			return err
		}
		// Passkeys are a second factor too: a lost key goes with the phone.
		passkeys, err = account.RemovePasskeys(ctx, tx, cli.Config, u, ev)
		return err
	})
	if err != nil {
		return err
	}
	if passkeys > 0 {
		fmt.Fprintf(cli.Out, "The %d passkeys of %s are removed; they were told by mail.\n", passkeys, u.Username)
	}
	if !was {
		fmt.Fprintf(cli.Out, "Two-factor sign-in of %s is off already.\n", u.Username)
		return nil
	}
	fmt.Fprintf(cli.Out, "Two-factor sign-in of %s is off; they sign in with their password alone and were told by mail.\n", u.Username)
	return nil
}
