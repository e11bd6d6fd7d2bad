package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"strings"

	"github.com/supplywatch/supplywatch/console"
	"github.com/supplywatch/supplywatch/postgres"
)

// userCmd creates console users: `supplywatch user add` bootstraps the
// first admin.
func userCmd(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "add" {
		return fmt.Errorf("usage: supplywatch user add --login L --role R [--tenant T] [--name N] [--email E] [--plants P01,P02] [--oidc-only]")
	}
	fs := flag.NewFlagSet("user add", flag.ExitOnError)
	login := fs.String("login", "", "login name")
	role := fs.String("role", "admin", "procurement | plant | executive | oncall | admin")
	tenant := fs.String("tenant", "acme", "tenant")
	name := fs.String("name", "", "display name (default: the login)")
	email := fs.String("email", "", "e-mail (OIDC and Slack users are matched by it)")
	plants := fs.String("plants", "", "comma-separated plants, for the plant role")
	oidcOnly := fs.Bool("oidc-only", false, "no password: the user signs in through OIDC only")
	cfg, err := loadConfig(fs, args[1:])
	if err != nil {
		return err
	}
	if *login == "" {
		return fmt.Errorf("--login is required")
	}
	if *name == "" {
		*name = *login
	}
	password := ""
	if !*oidcOnly {
		b := make([]byte, 18)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		password = base64.RawURLEncoding.EncodeToString(b)
	}
	if err := postgres.EnsureDatabase(ctx, cfg.Postgres); err != nil {
		return err
	}
	db, err := postgres.Open(ctx, cfg.Postgres)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx, newLogger("warn")); err != nil {
		return err
	}
	n := console.NewUser{Tenant: *tenant, Login: *login, Name: *name, Email: *email, Role: *role, Password: password}
	if *plants != "" {
		n.Plants = strings.Split(*plants, ",")
	}
	u, err := console.AddUser(ctx, postgres.NewConsoleStore(db), n)
	if err != nil {
		return err
	}
	fmt.Printf("user %s (%s, tenant %s) created, id %d\n", u.Login, u.Role, u.Tenant, u.ID)
	if password != "" {
		fmt.Printf("password: %s\n(shown once; the console stores only its argon2id hash)\n", password)
	}
	return nil
}
