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
	err := models.Transaction(cli.DB, func(tx *gorm.DB) error {
		var err error
		was, err = account.DisableTwoFactor(ctx, tx, cli.Config, u, models.SecurityEvent{
			Detail: "From the command line", CreatedAt: cli.Now(), Device: "Command line"}, true)
		return err
	})
	if err != nil {
		return err
	}
	if !was {
		fmt.Fprintf(cli.Out, "Two-factor sign-in of %s is off already.\n", u.Username)
		return nil
	}
	fmt.Fprintf(cli.Out, "Two-factor sign-in of %s is off; they sign in with their password alone and were told by mail.\n", u.Username)
	return nil
}
