package handlers

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/etag"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
	"github.com/gofiber/fiber/v2/middleware/recover"

	"tally/static"
	"tally/views"
)

// addRoutes is the whole URL map, grouped by who may reach each route.
func (h *Handlers) addRoutes(app *fiber.App) {
	// First, so that it sees every request's final status (metrics.go).
	app.Use(h.countRequests)
	app.Use(serverTiming)
	app.Use(h.setRequestID)
	app.Use(h.logRequests)
	app.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: h.logPanic}))
	app.Use(securityHeaders)

	// Static files come before the session: serving them never reads or writes a session.
	app.Use("/static", etag.New(), filesystem.New(filesystem.Config{
		Root:   http.FS(static.FS),
		MaxAge: 365 * 24 * 3600,
	}))
	app.Get("/healthz", h.Healthz)
	app.Get("/readyz", h.Readyz)
	// Loopback clients or TALLY_METRICS_TOKEN, and only with TALLY_METRICS=1 (everyone else gets 404).
	app.Get("/metrics", h.Metrics)

	// Passkeys are offered before the CSRF check, whose sign-in dialog (a POST whose session
	// ended) has a passkey button too.
	app.Use(h.loadSession, h.applyImpersonation, h.offerPasskeys, h.checkCSRF)

	// Public.
	app.Get("/", h.Home)
	app.Get("/register", h.RegisterPage)
	app.Post("/register", limitForm, h.limitIP(), h.Register)
	app.Get("/register/done", h.RegisterDonePage)
	app.Get("/login", h.LoginPage)
	app.Post("/login", limitForm, h.Login)
	// The sign-in dialog shown where a session ended under an open page (reauth.go).
	app.Post("/login/again", limitForm, h.LoginAgain)
	// The code step of a sign-in with two-factor on (twofactor_login.go).
	app.Get("/login/2fa", h.LoginCodePage)
	app.Post("/login/2fa", limitForm, h.LoginCode)
	app.Post("/logout", limitForm, h.Logout)
	// Signing in with a passkey, alone or as the second step (passkeys_login.go); JSON.
	// Not limited per network: a begin stores nothing (its ceremony is a sealed cookie) and the
	// autofill makes one at every view of /login, so an office behind one address would lose it.
	app.Post("/passkeys/login/begin", limitForm, requireJSON, h.BeginPasskeyLogin)
	app.Post("/passkeys/login/finish", limitForm, requireJSON, h.FinishPasskeyLogin)
	app.Get("/verify", h.Verify)
	app.Post("/verify", limitForm, h.limitIP(), h.ConfirmAddress)
	resendGet, resendPost := h.emailForm(views.ResendPage, "an account waiting for activation", h.sendVerification)
	app.Get("/verify/resend", resendGet)
	app.Post("/verify/resend", limitForm, h.limitIP(), resendPost)
	forgotGet, forgotPost := h.emailForm(views.ForgotPage, "an account", h.sendReset)
	app.Get("/password/forgot", forgotGet)
	app.Post("/password/forgot", limitForm, h.limitIP(), forgotPost)
	app.Get("/password/reset", h.ResetPage)
	app.Post("/password/reset", limitForm, h.Reset)

	// Signed-in users.
	app.Get("/api/me", h.requireUserAPI, h.Me)
	app.Get("/api/accounts", h.requireUserAPI, h.APIAccounts)
	app.Get("/api/categories", h.requireUserAPI, h.APICategories)
	app.Get("/api/transactions", h.requireUserAPI, h.APITransactions)
	app.Get("/api/budget", h.requireUserAPI, h.APIBudget)
	app.Get("/api/reports/:kind", h.requireUserAPI, h.APIReport)
	app.Get("/dashboard", h.requireUser, h.Dashboard)
	app.Get("/account/security", h.requireUser, h.Security)
	// Pages that would let support take over an account refuse a staff member viewing as its owner.
	app.Get("/account/password", h.requireUser, h.refuseImpersonation, h.ChangePasswordPage)
	app.Post("/account/password", h.requireUser, h.refuseImpersonation, limitForm, h.ChangePassword)
	app.Get("/account/sessions", h.requireUser, h.refuseImpersonation, h.Sessions)
	app.Post("/account/sessions/revoke-others", h.requireUser, h.refuseImpersonation, limitForm, h.RevokeOtherSessions)
	app.Post("/account/sessions/:id/revoke", h.requireUser, h.refuseImpersonation, limitForm, h.RevokeSession)
	// Two-factor sign-in (twofactor.go); its enrolment is open to a user TALLY_REQUIRE_2FA holds back.
	app.Get("/account/2fa", h.requireUserToEnrol, h.refuseImpersonation, h.TwoFactorPage)
	app.Get("/account/2fa/qr.png", h.requireUserToEnrol, h.refuseImpersonation, h.TwoFactorQR)
	app.Post("/account/2fa", h.requireUserToEnrol, h.refuseImpersonation, limitForm, h.EnableTwoFactor)
	app.Post("/account/2fa/recovery", h.requireUser, h.refuseImpersonation, limitForm, h.RegenerateRecoveryCodes)
	app.Post("/account/2fa/disable", h.requireUser, h.refuseImpersonation, limitForm, h.DisableTwoFactor)
	// Passkeys (passkeys.go): the registration ceremony answers JSON; rename and delete are forms.
	app.Post("/passkeys/register/begin", h.requireUser, h.refuseImpersonation, limitForm, requireJSON, h.BeginPasskeyRegistration)
	app.Post("/passkeys/register/finish", h.requireUser, h.refuseImpersonation, limitForm, requireJSON, h.FinishPasskeyRegistration)
	app.Post("/passkeys/:id<int>", h.requireUser, h.refuseImpersonation, limitForm, h.RenamePasskey)
	app.Post("/passkeys/:id<int>/delete", h.requireUser, h.refuseImpersonation, limitForm, h.DeletePasskey)

	app.Get("/profile", h.requireUser, h.ProfilePage)
	app.Get("/profile/edit", h.requireUser, h.ProfileEditPage)
	app.Post("/profile", h.requireUser, limitForm, h.UpdateProfile)
	// Multipart: bounded by the app's BodyLimit (appBodyLimit), not limitForm.
	app.Post("/profile/avatar", h.requireUser, h.UploadAvatar)
	app.Post("/profile/avatar/delete", h.requireUser, limitForm, h.RemoveAvatar)
	app.Get("/avatars/:id", h.requireUser, h.Avatar)

	// Account data: refused while a staff member impersonates the user, who alone may move,
	// take away or delete their account.
	app.Get("/account/email", h.requireUser, h.refuseImpersonation, h.EmailChangePage)
	app.Post("/account/email", h.requireUser, h.refuseImpersonation, limitForm, h.limitIP(), h.ChangeEmail)
	app.Get("/account/export", h.requireUser, h.refuseImpersonation, h.ExportPage)
	app.Post("/account/export", h.requireUser, h.refuseImpersonation, limitForm, h.Export)
	app.Get("/account/delete", h.requireUser, h.refuseImpersonation, h.DeletePage)
	app.Post("/account/delete", h.requireUser, h.refuseImpersonation, limitForm, h.DeleteAccount)

	// The ledger: the user's own money, reached only through h.book. Writes are refused while
	// staff view Tally as the user (ledgerWritable).
	ledgerWrite := []fiber.Handler{h.requireUser, h.ledgerWritable, limitForm}
	app.Get("/accounts", h.requireUser, h.AccountsPage)
	app.Post("/accounts", append(ledgerWrite, h.CreateAccount)...)
	app.Get("/accounts/:id<int>", h.requireUser, h.AccountRegister)
	app.Post("/accounts/:id<int>", append(ledgerWrite, h.UpdateAccount)...)
	app.Get("/accounts/:id<int>/edit", h.requireUser, h.EditAccountPage)
	app.Post("/accounts/:id<int>/close", append(ledgerWrite, h.CloseAccount)...)
	app.Post("/accounts/:id<int>/reopen", append(ledgerWrite, h.ReopenAccount)...)
	app.Get("/accounts/:id<int>/delete", h.requireUser, h.DeleteAccountPage)
	app.Post("/accounts/:id<int>/delete", append(ledgerWrite, h.DeleteLedgerAccount)...)
	app.Get("/transactions", h.requireUser, h.TransactionsPage)
	app.Get("/transactions/new", h.requireUser, h.NewTransactionPage)
	app.Get("/transactions/suggest", h.requireUser, h.SuggestPayees)
	app.Get("/transactions/category", h.requireUser, h.SuggestCategory)
	app.Post("/transactions", append(ledgerWrite, h.CreateTransaction)...)
	app.Get("/transactions/:id<int>/edit", h.requireUser, h.EditTransactionPage)
	app.Post("/transactions/:id<int>", append(ledgerWrite, h.UpdateTransaction)...)
	app.Post("/transactions/:id<int>/delete", append(ledgerWrite, h.DeleteTransaction)...)
	app.Post("/transactions/:id<int>/undo", append(ledgerWrite, h.UndoDeleteTransaction)...)
	app.Get("/transactions/export.csv", h.requireUser, h.ExportTransactionsCSV)
	// Imports: an upload is multipart, bounded by the app's BodyLimit (appBodyLimit), not
	// limitForm; the JSON bodies of the API by limitImportJSON.
	app.Get("/import", h.requireUser, h.ImportPage)
	app.Post("/import", h.requireUser, h.ledgerWritable, h.UploadImport)
	app.Get("/imports", h.requireUser, h.ImportsPage)
	app.Get("/imports/:id<int>", h.requireUser, h.ImportView)
	app.Get("/imports/:id<int>/map", h.requireUser, h.ImportMapPage)
	app.Post("/imports/:id<int>/map", append(ledgerWrite, h.MapImport)...)
	app.Post("/imports/:id<int>/choices", append(ledgerWrite, h.ImportChoices)...)
	app.Post("/imports/:id<int>/commit", append(ledgerWrite, h.CommitImport)...)
	app.Post("/imports/:id<int>/cancel", append(ledgerWrite, h.CancelImport)...)
	app.Get("/imports/:id<int>/rows", h.requireUser, h.ImportedRowsPage)
	app.Get("/imports/:id<int>/undo", h.requireUser, h.ImportUndoPage)
	app.Post("/imports/:id<int>/undo", append(ledgerWrite, h.UndoImport)...)
	app.Get("/api/imports", h.requireUserAPI, h.APIImports)
	app.Post("/api/imports", h.requireUserAPI, h.ledgerWritable, h.APIUploadImport)
	app.Post("/api/imports/:id<int>/commit", h.requireUserAPI, h.ledgerWritable, limitImportJSON, h.APICommitImport)
	app.Post("/api/imports/:id<int>/undo", h.requireUserAPI, h.ledgerWritable, limitImportJSON, h.APIUndoImport)
	app.Get("/categories", h.requireUser, h.CategoriesPage)
	app.Post("/categories", append(ledgerWrite, h.CreateCategory)...)
	app.Get("/categories/:id<int>/edit", h.requireUser, h.EditCategoryPage)
	app.Post("/categories/:id<int>", append(ledgerWrite, h.UpdateCategory)...)
	app.Post("/categories/:id<int>/move", append(ledgerWrite, h.MoveCategory)...)
	app.Get("/categories/:id<int>/delete", h.requireUser, h.DeleteCategoryPage)
	app.Post("/categories/:id<int>/delete", append(ledgerWrite, h.DeleteCategory)...)
	app.Get("/budget", h.requireUser, h.BudgetPage)
	app.Post("/budget", append(ledgerWrite, h.SetBudget)...)
	app.Post("/budget/copy", append(ledgerWrite, h.CopyBudget)...)
	app.Post("/budget/average", append(ledgerWrite, h.AverageBudget)...)
	app.Get("/reports", h.requireUser, h.ReportsPage)
	app.Get("/reports/:kind", h.requireUser, h.ReportsPage)

	// Links from mail: the token is the credential.
	app.Get("/account/email/confirm", h.ConfirmEmailChange)
	// The first run's setup link, printed by the server: the token is the credential, and
	// without it (or once it is spent) there is no page (404).
	app.Get("/setup", h.SetupPage)
	app.Post("/setup", limitForm, h.Setup)

	// Staff (everyone else gets 404).
	app.Get("/api/version", h.requireUserAPI, h.requireStaff, h.Version)
	app.Get("/admin/users", h.requireStaff, h.AdminUsers)
	app.Get("/admin/users/:id<int>", h.requireStaff, h.AdminUser)
	app.Post("/admin/users/:id<int>/activate", h.requireStaff, limitForm, h.adminAction(h.activate))
	app.Post("/admin/users/:id<int>/deactivate", h.requireStaff, limitForm, h.adminAction(h.deactivate))
	app.Post("/admin/users/:id<int>/resend-verification", h.requireStaff, limitForm, h.adminAction(h.resendVerification))
	app.Post("/admin/users/:id<int>/send-reset", h.requireStaff, limitForm, h.adminAction(h.sendResetLink))
	app.Post("/admin/users/:id<int>/impersonate", h.requireStaff, limitForm, h.StartImpersonation)
	// Superusers (staff get 403).
	backupsOnly := h.requireSuperuserFor("Only a superuser can see and make backups.")
	app.Get("/admin/backups", h.requireStaff, backupsOnly, h.AdminBackups)
	app.Post("/admin/backups", h.requireStaff, backupsOnly, limitForm, h.StartBackup)
	app.Post("/admin/users/:id<int>/staff", h.requireSuperuser, limitForm, h.adminAction(h.setStaff))
	app.Post("/admin/users/:id<int>/2fa/disable", h.requireSuperuser, limitForm, h.adminAction(h.resetTwoFactor))
	app.Post("/admin/users/:id<int>/passkeys/delete", h.requireSuperuser, limitForm, h.adminAction(h.removePasskeys))
	// A staff member viewing as another user (everyone else gets 404).
	app.Post("/admin/impersonate/stop", limitForm, h.StopImpersonation)
}
