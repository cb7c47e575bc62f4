package handlers

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"gorm.io/gorm"

	"tally/account"
	"tally/models"
	"tally/views"
)

// requireStaff lets staff through and answers 404 to everyone else, so that the admin's
// existence is not revealed. While viewing Tally as another user the admin is closed: its
// actions would be taken under the wrong name.
func (h *Handlers) requireStaff(c *fiber.Ctx) error {
	if impersonator(c) != nil {
		return errAdminWhileImpersonating
	}
	if !currentUser(c).IsAdmin() {
		return fiber.ErrNotFound
	}
	if h.mustEnrol(currentUser(c)) {
		return h.toEnrolment(c) // TALLY_REQUIRE_2FA: staff turn on two-factor before the admin
	}
	return c.Next()
}

var errAdminWhileImpersonating = fiber.NewError(fiber.StatusForbidden, "Stop viewing as another user to use the admin.")

// requireSuperuser guards superuser-only actions: 404 for non-staff like every admin route,
// 403 for staff, who know the admin exists.
func (h *Handlers) requireSuperuser(c *fiber.Ctx) error {
	switch u := currentUser(c); {
	case impersonator(c) != nil:
		return errAdminWhileImpersonating
	case !u.IsAdmin():
		return fiber.ErrNotFound
	case !u.IsSuperuser:
		return fiber.NewError(fiber.StatusForbidden, "Only a superuser can grant or remove staff access, or turn off someone's two-factor sign-in.")
	case h.mustEnrol(u):
		return h.toEnrolment(c)
	}
	return c.Next()
}

func userURL(id uint) string { return "/admin/users/" + strconv.FormatUint(uint64(id), 10) }

// adminTarget loads the user named by the :id of the URL.
func (h *Handlers) adminTarget(c *fiber.Ctx, db *gorm.DB) (*models.User, error) {
	id, err := strconv.ParseUint(c.Params("id"), 10, 32)
	if err != nil || id == 0 {
		return nil, fiber.ErrNotFound
	}
	return models.FindUser(db, uint(id))
}

// canManage says whether admin may act on target's account (change it, mail it links, view
// Tally as its owner): a superuser on anyone's, a staff member only on accounts without admin
// rights. Staff acting on staff could lock each other out or take over a colleague's account
// through a reset link, so only a superuser acts on staff.
func canManage(admin, target *models.User) bool {
	return admin.IsSuperuser || !target.IsAdmin()
}

// AdminUsers lists users with search, filters, sorting and pages; htmx gets the results only.
func (h *Handlers) AdminUsers(c *fiber.Ctx) error {
	f := views.AdminUserFilter{
		Q:        strings.TrimSpace(c.Query("q")),
		Staff:    yesNoParam(c.Query("staff")),
		Active:   yesNoParam(c.Query("active")),
		Verified: yesNoParam(c.Query("verified")),
		Sort:     models.NormalizeUserSort(c.Query("sort")),
	}
	f.Page, _ = strconv.Atoi(c.Query("page"))
	search := f.Q
	if msg := models.CheckText(f.Q, 100); msg != "" {
		// The box keeps what was typed (as valid text); the list is not searched.
		search, f.Q = "", strings.ToValidUTF8(f.Q, "\uFFFD")
		f.Error = "The search was not run: " + strings.ToLower(msg[:1]) + msg[1:]
	}
	list, err := models.ListUsers(h.db, models.UserQuery{
		Search: search, Staff: tristate(f.Staff), Active: tristate(f.Active), Verified: tristate(f.Verified),
		Sort: f.Sort, Page: f.Page, PerPage: 50,
	})
	if err != nil {
		return err
	}
	v := views.AdminUserList{Filter: f, List: list}
	return h.render(c, page{Title: "Users", Body: views.AdminUsersPage(v), Fragment: views.AdminUserResultsFragment(v)})
}

func yesNoParam(s string) string {
	if s == "yes" || s == "no" {
		return s
	}
	return ""
}

func tristate(s string) *bool {
	if s == "" {
		return nil
	}
	b := s == "yes"
	return &b
}

// AdminUser shows one user's details, their security events and the actions open to this admin.
func (h *Handlers) AdminUser(c *fiber.Ctx) error {
	admin := currentUser(c)
	u, err := h.adminTarget(c, h.db)
	if err != nil {
		return err
	}
	events, err := models.UserEvents(h.db, u.ID, 50)
	if err != nil {
		return err
	}
	sessions, err := models.CountUserSessions(h.db, u.ID)
	if err != nil {
		return err
	}
	var twoFactor models.TwoFactorStatus
	if u.TwoFactor {
		if twoFactor, err = models.FindTwoFactorStatus(h.db, u.ID); err != nil {
			return err
		}
	}
	passkeys, err := models.CountUserPasskeys(h.db, u.ID)
	if err != nil {
		return err
	}
	self := admin.ID == u.ID
	return h.render(c, page{Title: u.Username, Body: views.AdminUserPage(views.AdminUserDetail{
		User: u, Events: events, Sessions: sessions, Self: self,
		Manage:         canManage(admin, u) && !self,
		SetStaff:       admin.IsSuperuser && !self,
		Impersonate:    canImpersonate(admin, u),
		TwoFactor:      twoFactor,
		ResetTwoFactor: admin.IsSuperuser && !self && twoFactor.Enabled,
		Passkeys:       passkeys,
		RemovePasskeys: admin.IsSuperuser && !self && passkeys > 0,
	})})
}

// adminChange is what one admin button does to a user inside the transaction: it returns the
// security event's detail ("" when nothing changed) and the message for the admin. Neither
// names the user: the message waits in the admin's session, and the event outlives the account
// (the user's page the admin lands on says whose it is).
type adminChange func(c *fiber.Ctx, tx *gorm.DB, admin, u *models.User) (detail, msg string, err error)

// adminAction runs change on the user of the URL with the event naming the admin (by id, as
// its actor), all in one transaction, then returns to the user's page. Nobody changes their
// own account here (an admin could lock themselves out), and only a superuser changes a staff
// account.
func (h *Handlers) adminAction(change adminChange) fiber.Handler {
	return func(c *fiber.Ctx) error {
		admin := currentUser(c)
		var msg string
		var id uint
		err := models.Transaction(h.db, func(tx *gorm.DB) error {
			u, err := h.adminTarget(c, tx)
			if err != nil {
				return err
			}
			id = u.ID
			if u.ID == admin.ID {
				return fiber.NewError(fiber.StatusForbidden, "You cannot change your own account from the admin.")
			}
			if !canManage(admin, u) {
				return fiber.NewError(fiber.StatusForbidden, "Only a superuser can change a staff account.")
			}
			var detail string
			if detail, msg, err = change(c, tx, admin, u); err != nil || detail == "" {
				return err
			}
			return h.recordEvent(c, tx, u.ID, models.EventAdminChange, detail, admin)
		})
		if err != nil {
			return err
		}
		h.outbox.Wake()
		h.flash(c, msg)
		return h.redirect(c, userURL(id))
	}
}

// activate lets a deactivated account log in again.
func (h *Handlers) activate(_ *fiber.Ctx, tx *gorm.DB, _, u *models.User) (string, string, error) {
	if u.IsActive {
		return "", "The account is already active.", nil
	}
	return "Account activated", "The account can log in again.", models.SetUserActive(tx, u, true)
}

// deactivate stops an account logging in and ends its sessions at their next request.
func (h *Handlers) deactivate(_ *fiber.Ctx, tx *gorm.DB, _, u *models.User) (string, string, error) {
	if !u.IsActive {
		return "", "The account is already deactivated.", nil
	}
	return "Account deactivated, sessions ended", "The account is deactivated and signed out everywhere.",
		models.SetUserActive(tx, u, false)
}

// resendVerification mails a fresh activation link to an unconfirmed address.
func (h *Handlers) resendVerification(c *fiber.Ctx, tx *gorm.DB, _, u *models.User) (string, string, error) {
	if u.IsVerified() {
		return "", "The address is confirmed already.", nil
	}
	if ok, err := h.mailAllowed(tx, u.Email, models.MailVerify); err != nil || !ok {
		return "", "An activation link was sent moments ago. Try again later.", err
	}
	return "Activation link sent", "A new activation link is on its way.",
		h.queueMail(c.UserContext(), tx, u, u.Email, models.MailVerify, h.verifyMail(u))
}

// sendResetLink mails a password reset link to an active account.
func (h *Handlers) sendResetLink(c *fiber.Ctx, tx *gorm.DB, _, u *models.User) (string, string, error) {
	if !u.IsActive {
		return "", "Activate the account first: a deactivated account cannot reset its password.", nil
	}
	if ok, err := h.mailAllowed(tx, u.Email, models.MailReset); err != nil || !ok {
		return "", "A reset link was sent moments ago. Try again later.", err
	}
	return "Password reset link sent", "A password reset link is on its way.",
		h.queueMail(c.UserContext(), tx, u, u.Email, models.MailReset, h.resetMail(u))
}

// setStaff grants or removes admin access; only superusers reach it. A change of rights is a
// privilege change, so the user's sessions end: they sign in again, with a new session id, and
// no id known from before carries the new rights.
func (h *Handlers) setStaff(c *fiber.Ctx, tx *gorm.DB, _, u *models.User) (string, string, error) {
	grant := c.FormValue("grant") == "1"
	if grant == u.IsStaff {
		return "", "Nothing changed.", nil
	}
	if err := models.SetUserStaff(tx, u, grant); err != nil {
		return "", "", err
	}
	if _, err := models.EndUserSessions(tx, u.ID, ""); err != nil {
		return "", "", err
	}
	if grant {
		return "Staff access granted", "The account is staff now and signs in again to use it.", nil
	}
	return "Staff access removed", "The account is no longer staff and has been signed out everywhere.", nil
}

// resetTwoFactor turns off the two-factor sign-in of someone who lost their phone and their
// recovery codes; superusers only (the route's guard). account.DisableTwoFactor records the
// event with the superuser as its actor, and mails the user, so no admin_change is added
// (detail "").
func (h *Handlers) resetTwoFactor(c *fiber.Ctx, tx *gorm.DB, admin, u *models.User) (string, string, error) {
	was, err := account.DisableTwoFactor(c.UserContext(), tx, h.cfg, u, h.event(c, u.ID, "", "By an administrator", admin), true)
	if err != nil || !was {
		return "", "Two-factor sign-in is off already.", err
	}
	return "", "Two-factor sign-in is off for this account, and they were told by mail.", nil
}

// removePasskeys removes every passkey of someone who lost theirs, or whose key may be in other
// hands; superusers only (the route's guard). account.RemovePasskeys records the event with the
// superuser as its actor, and mails the user, so no admin_change is added (detail "").
func (h *Handlers) removePasskeys(c *fiber.Ctx, tx *gorm.DB, admin, u *models.User) (string, string, error) {
	n, err := account.RemovePasskeys(c.UserContext(), tx, h.cfg, u, h.event(c, u.ID, "", "By an administrator", admin))
	if err != nil || n == 0 {
		return "", "This account has no passkey.", err
	}
	return "", "The account's passkeys are removed, and they were told by mail.", nil
}
