package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/meterbridge/meterbridge/config"
	"github.com/meterbridge/meterbridge/secrets"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
	"github.com/meterbridge/meterbridge/worker"
)

func load() (config.Config, error) { return config.Load(nil) }

func runAPI(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil {
		return err
	}
	rt, err := openRuntime(ctx)
	if err != nil {
		return err
	}
	defer rt.Close()
	rt.Logger.Info("api: listening", "addr", rt.Config.APIAddr)
	return rt.RunAPI(ctx, rt.Config.APIAddr)
}

func runWorker(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	concurrency := fs.Int("activities", 20, "most activities run at once")
	if err := fs.Parse(args); err != nil {
		return err
	}
	rt, err := openRuntime(ctx)
	if err != nil {
		return err
	}
	defer rt.Close()
	return rt.RunWorker(ctx, worker.Options{MaxConcurrentActivities: *concurrency})
}

func runMigrate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	if err := cfg.RequireDatabase(); err != nil {
		return err
	}
	return store.Migrate(ctx, cfg.DatabaseURL, cfg.Logger())
}

// openStore opens the database for admin commands (no Temporal needed).
func openStore(ctx context.Context) (*store.Store, error) {
	cfg, err := load()
	if err != nil {
		return nil, err
	}
	if err := cfg.RequireDatabase(); err != nil {
		return nil, err
	}
	var box *secrets.Box
	if cfg.SecretKeys != "" {
		if box, err = cfg.SecretBox(); err != nil {
			return nil, err
		}
	}
	if err := store.Migrate(ctx, cfg.DatabaseURL, nil); err != nil {
		return nil, err
	}
	return store.Open(ctx, cfg.DatabaseURL, box)
}

func runToken(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: meterbridge token create|list|revoke")
	}
	switch args[0] {
	case "create":
		fs := flag.NewFlagSet("token create", flag.ContinueOnError)
		role := fs.String("role", "", "admin, approver or viewer")
		tenantID := fs.String("tenant", "", "tenant of an approver or viewer token")
		email := fs.String("email", "", "owner e-mail, recorded as who acted")
		name := fs.String("name", "", "a label for the token")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		switch *role {
		case store.RoleAdmin:
			if *tenantID != "" {
				return errors.New("an admin token belongs to no tenant; drop -tenant")
			}
		case store.RoleApprover, store.RoleViewer:
			if !tenant.ValidID(*tenantID) {
				return errors.New("-tenant is required for approver and viewer tokens")
			}
		default:
			return errors.New("-role must be admin, approver or viewer")
		}
		if err := tenant.ValidateEmail(*email); err != nil {
			return fmt.Errorf("-email: %w", err)
		}
		st, err := openStore(ctx)
		if err != nil {
			return err
		}
		defer st.Close()
		tok, secret, err := st.CreateToken(ctx, store.Token{TenantID: *tenantID, Role: *role, OwnerEmail: *email, Name: *name, CreatedBy: "command line"})
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "token %s created for %s (%s); it is shown only now:\n", tok.ID, tok.OwnerEmail, tok.Role)
		fmt.Println(secret)
		return nil
	case "list":
		fs := flag.NewFlagSet("token list", flag.ContinueOnError)
		tenantID := fs.String("tenant", "", "only this tenant's tokens")
		asJSON := fs.Bool("json", false, "print JSON")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		st, err := openStore(ctx)
		if err != nil {
			return err
		}
		defer st.Close()
		toks, err := st.ListTokens(ctx, *tenantID)
		if err != nil {
			return err
		}
		if *asJSON {
			return json.NewEncoder(os.Stdout).Encode(toks)
		}
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tROLE\tTENANT\tOWNER\tCREATED\tREVOKED")
		for _, t := range toks {
			revoked := ""
			if t.RevokedAt != nil {
				revoked = t.RevokedAt.Format("2006-01-02 15:04")
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Role, t.TenantID, t.OwnerEmail, t.CreatedAt.Format("2006-01-02 15:04"), revoked)
		}
		return w.Flush()
	case "revoke":
		if len(args) != 2 {
			return errors.New("usage: meterbridge token revoke <token-id>")
		}
		st, err := openStore(ctx)
		if err != nil {
			return err
		}
		defer st.Close()
		tok, err := st.RevokeToken(ctx, args[1])
		if err != nil {
			return fmt.Errorf("revoke %s: %w", args[1], err)
		}
		fmt.Printf("token %s of %s revoked\n", tok.ID, tok.OwnerEmail)
		return nil
	}
	return fmt.Errorf("unknown token command %q", args[0])
}

func runSecrets(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: meterbridge secrets new-key [id] | rotate")
	}
	switch args[0] {
	case "new-key":
		id := "k1"
		if len(args) > 1 {
			id = args[1]
		}
		fmt.Println(secrets.NewKey(id))
		return nil
	case "rotate":
		st, err := openStore(ctx)
		if err != nil {
			return err
		}
		defer st.Close()
		n, err := st.ResealConnections(ctx)
		if err != nil {
			return err
		}
		fmt.Printf("%d stored credential(s) re-sealed with the first key of METERBRIDGE_SECRET_KEYS\n", n)
		return nil
	}
	return fmt.Errorf("unknown secrets command %q", args[0])
}
