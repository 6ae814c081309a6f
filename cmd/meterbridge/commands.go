package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"text/tabwriter"

	"github.com/meterbridge/meterbridge/config"
	"github.com/meterbridge/meterbridge/secrets"
	"github.com/meterbridge/meterbridge/store"
	"github.com/meterbridge/meterbridge/tenant"
	"github.com/meterbridge/meterbridge/worker"
)

func load() (config.Config, error) { return config.Load(nil) }

func runAPI(ctx context.Context, args []string) error {
	fs := newFlags("api", "", `Serve the HTTP API on METERBRIDGE_API_ADDR (and metrics on METERBRIDGE_METRICS_ADDR
when set) until SIGINT or SIGTERM; open requests are then given their full deadline.`)
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	stopTracing, err := startTracing(ctx, "api")
	if err != nil {
		return err
	}
	defer stopTracing()
	rt, err := openRuntime(ctx)
	if err != nil {
		return err
	}
	defer rt.Close()
	rt.Logger.Info("api: listening", "addr", rt.Config.APIAddr)
	return rt.RunAPI(ctx, rt.Config.APIAddr)
}

func runWorker(ctx context.Context, args []string) error {
	fs := newFlags("worker", "", `Run the Temporal worker: meterbridge's workflows and activities on its task queue, with
metrics and /healthz, /readyz on METERBRIDGE_METRICS_ADDR when set. SIGINT or SIGTERM stops
polling and lets running activities finish (up to 30 seconds).`)
	concurrency := fs.Int("activities", 20, "most activities run at once")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *concurrency < 1 {
		return usagef("worker", "-activities must be at least 1")
	}
	stopTracing, err := startTracing(ctx, "worker")
	if err != nil {
		return err
	}
	defer stopTracing()
	rt, err := openRuntime(ctx)
	if err != nil {
		return err
	}
	defer rt.Close()
	return rt.RunWorker(ctx, worker.Options{MaxConcurrentActivities: *concurrency})
}

// runMigrate applies the schema migrations (the only command that does) and, when the keys
// are configured, re-seals stored secrets still in an older format; "migrate status" shows
// where the schema stands and changes nothing.
func runMigrate(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "status" {
		return runMigrateStatus(ctx, args[1:])
	}
	fs := newFlags("migrate", "[status]", `Apply the database migrations embedded in this binary to DATABASE_URL and exit (the only
command that changes the schema); with METERBRIDGE_SECRET_KEYS set, re-seal stored secrets
still in an older format. "meterbridge migrate status" shows where the schema stands.`)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("migrate", "unknown migrate command %q (usage: meterbridge migrate [status])", fs.Arg(0))
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	if err := cfg.RequireDatabase(); err != nil {
		return err
	}
	before, err := store.ReadSchemaStatus(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	if err := store.Migrate(ctx, cfg.DatabaseURL, cfg.Logger()); err != nil {
		return err
	}
	after, err := store.ReadSchemaStatus(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	applied := []string{}
	for _, m := range before.Pending {
		applied = append(applied, m.File)
	}
	fmt.Printf("schema at version %d (%d migration(s) applied)\n", after.Current(), len(applied))
	var box *secrets.Box
	if cfg.SecretKeys != "" {
		if box, err = cfg.SecretBox(); err != nil {
			return err
		}
	}
	st, err := store.Open(ctx, cfg.DatabaseURL, box)
	if err != nil {
		return err
	}
	defer st.Close()
	details := map[string]any{"from_version": before.Current(), "to_version": after.Current(), "applied": applied}
	if box != nil {
		r, err := st.ResealSecrets(ctx)
		if err != nil {
			return fmt.Errorf("re-seal stored secrets: %w", err)
		}
		details["resealed"] = r
		if r != (store.Resealed{}) {
			fmt.Printf("%d credential(s) and %d webhook URL(s) re-sealed in the current format\n", r.Connections, r.Webhooks)
		}
	} else if n, err := st.UnsealedCount(ctx); err == nil && n > 0 {
		fmt.Printf("%d stored secret(s) are in an older format; run `meterbridge secrets rotate` with METERBRIDGE_SECRET_KEYS set\n", n)
	}
	if len(applied) == 0 && details["resealed"] == nil {
		return nil
	}
	return adminAudit(ctx, st, "schema.migrated", "", fmt.Sprintf("schema migrated from version %d to %d", before.Current(), after.Current()), details)
}

func runMigrateStatus(ctx context.Context, args []string) error {
	fs := newFlags("migrate status", "", "Show each embedded migration and whether the database has it; changes nothing.")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	if err := cfg.RequireDatabase(); err != nil {
		return err
	}
	st, err := store.ReadSchemaStatus(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(os.Stdout).Encode(st)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "VERSION\tMIGRATION\tAPPLIED")
	for _, m := range st.Migrations {
		applied := "pending"
		if m.AppliedAt != nil {
			applied = m.AppliedAt.Format("2006-01-02 15:04:05 UTC")
		}
		fmt.Fprintf(w, "%d\t%s\t%s\n", m.Version, m.File, applied)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Printf("\nschema at version %d; this meterbridge embeds up to %d; %d pending\n", st.Current(), st.Latest(), len(st.Pending))
	for _, v := range st.Unknown {
		fmt.Printf("the database has migration %d, which this meterbridge does not know: a newer meterbridge migrated it\n", v)
	}
	if len(st.Pending) > 0 {
		fmt.Println("run `meterbridge migrate` to apply the pending migrations")
	}
	return nil
}

// openStore opens the database for admin commands (no Temporal needed). It does not
// migrate: a schema that is behind is an error saying to run `meterbridge migrate`.
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
	if _, err := store.CheckSchema(ctx, cfg.DatabaseURL); err != nil {
		return nil, err
	}
	return store.Open(ctx, cfg.DatabaseURL, box)
}

// commandLineActor names who acted from the command line in the admin audit trail: there is
// no token, so the operating-system user and host.
func commandLineActor() string {
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "unknown host"
	}
	return "command line: " + name + "@" + host
}

// adminAudit records a change made from the command line in the admin audit trail. A change
// that cannot be recorded is reported as a failure of the command.
func adminAudit(ctx context.Context, st *store.Store, action, tenantID, message string, details map[string]any) error {
	if details == nil {
		details = map[string]any{}
	}
	details["via"] = "command line"
	if err := st.AddAdminAudit(ctx, commandLineActor(), action, tenantID, message, details); err != nil {
		return fmt.Errorf("%s, but the admin audit was not written: %w", message, err)
	}
	return nil
}

func runToken(ctx context.Context, args []string) error {
	return group{name: "token", about: "Manage API tokens (the same as the /api/v1/tokens routes).", subs: []sub{
		{"create", "create a token and print its secret once", func(a []string) error { return runTokenCreate(ctx, a) }},
		{"list", "list tokens, never their secrets", func(a []string) error { return runTokenList(ctx, a) }},
		{"revoke", "revoke a token by its ID", func(a []string) error { return runTokenRevoke(ctx, a) }},
	}}.dispatch(args)
}

func runTokenCreate(ctx context.Context, args []string) error {
	fs := newFlags("token create", "", `Create an API token and print its secret on standard output; it is shown only now.
Admin tokens belong to no tenant; approver and viewer tokens to one (-tenant).`)
	role := fs.String("role", "", "admin, approver or viewer (required)")
	tenantID := fs.String("tenant", "", "tenant of an approver or viewer token")
	email := fs.String("email", "", "owner e-mail, recorded as who acted (required)")
	name := fs.String("name", "", "a label for the token")
	tz := fs.String("tz", "", "the owner's IANA time zone, such as Europe/Berlin (metrics they create without a zone take it)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *tz != "" {
		if err := tenant.ValidateTimeZone("-tz", *tz); err != nil {
			return usagef("token create", "%v", err)
		}
	}
	switch *role {
	case store.RoleAdmin:
		if *tenantID != "" {
			return usagef("token create", "-tenant: an admin token belongs to no tenant; drop -tenant")
		}
	case store.RoleApprover, store.RoleViewer:
		if !tenant.ValidID(*tenantID) {
			return usagef("token create", "-tenant is required for approver and viewer tokens")
		}
	case "":
		return usagef("token create", "-role is required: admin, approver or viewer")
	default:
		return usagef("token create", "-role must be admin, approver or viewer, not %q", *role)
	}
	if err := tenant.ValidateEmail(*email); err != nil {
		return usagef("token create", "-email: %v", err)
	}
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	tok, secret, err := st.CreateToken(ctx, store.Token{TenantID: *tenantID, Role: *role, OwnerEmail: *email, Name: *name, TimeZone: *tz, CreatedBy: commandLineActor()})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "token %s created for %s (%s); it is shown only now:\n", tok.ID, tok.OwnerEmail, tok.Role)
	fmt.Println(secret)
	return adminAudit(ctx, st, "token.created", tok.TenantID, tok.Role+" token for "+tok.OwnerEmail+" created",
		map[string]any{"token_id": tok.ID, "token_role": tok.Role, "owner_email": tok.OwnerEmail, "name": tok.Name})
}

func runTokenList(ctx context.Context, args []string) error {
	fs := newFlags("token list", "", "List API tokens (every token, or one tenant's), never their secrets.")
	tenantID := fs.String("tenant", "", "only this tenant's tokens")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseNoArgs(fs, args); err != nil {
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
	fmt.Fprintln(w, "ID\tROLE\tTENANT\tOWNER\tZONE\tCREATED\tREVOKED")
	for _, t := range toks {
		revoked := ""
		if t.RevokedAt != nil {
			revoked = t.RevokedAt.Format("2006-01-02 15:04")
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Role, t.TenantID, t.OwnerEmail, t.TimeZone, t.CreatedAt.Format("2006-01-02 15:04"), revoked)
	}
	return w.Flush()
}

func runTokenRevoke(ctx context.Context, args []string) error {
	fs := newFlags("token revoke", "TOKEN-ID", "Revoke an API token: it is refused (401) from the next request on.")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("token revoke", "want exactly one token ID, got %d arguments", fs.NArg())
	}
	id := fs.Arg(0)
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	tok, err := st.RevokeToken(ctx, id)
	if err != nil {
		return fmt.Errorf("revoke %s: %w", id, err)
	}
	fmt.Printf("token %s of %s revoked\n", tok.ID, tok.OwnerEmail)
	return adminAudit(ctx, st, "token.revoked", tok.TenantID, tok.Role+" token for "+tok.OwnerEmail+" revoked",
		map[string]any{"token_id": tok.ID, "token_role": tok.Role, "owner_email": tok.OwnerEmail})
}

func runSecrets(ctx context.Context, args []string) error {
	return group{name: "secrets", about: "Credential keys (METERBRIDGE_SECRET_KEYS) and re-sealing stored secrets.", subs: []sub{
		{"new-key", "print a new credential key", runSecretsNewKey},
		{"rotate", "re-seal stored credentials and webhook URLs with the first key", func(a []string) error { return runSecretsRotate(ctx, a) }},
	}}.dispatch(args)
}

func runSecretsNewKey(args []string) error {
	fs := newFlags("secrets new-key", "[KEY-ID]", `Print a new random AES-256 key as "id:base64key" for METERBRIDGE_SECRET_KEYS (the ID
defaults to k1; give each new key a new ID).`)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	id := "k1"
	switch fs.NArg() {
	case 0:
	case 1:
		id = fs.Arg(0)
	default:
		return usagef("secrets new-key", "want at most one key ID, got %d arguments", fs.NArg())
	}
	fmt.Println(secrets.NewKey(id))
	return nil
}

func runSecretsRotate(ctx context.Context, args []string) error {
	fs := newFlags("secrets rotate", "", `Re-seal every stored credential and webhook URL with the first key of
METERBRIDGE_SECRET_KEYS, so older keys can then be removed.`)
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	box, err := cfg.SecretBox()
	if err != nil {
		return err
	}
	st, err := openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	r, err := st.ResealSecrets(ctx)
	if err != nil {
		return err
	}
	key := box.PrimaryKeyID()
	fmt.Printf("%d stored credential(s) and %d webhook URL(s) re-sealed with key %q, the first of METERBRIDGE_SECRET_KEYS\n", r.Connections, r.Webhooks, key)
	return adminAudit(ctx, st, "secrets.rotated", "", "stored secrets re-sealed with key "+key,
		map[string]any{"key_id": key, "connections": r.Connections, "webhooks": r.Webhooks})
}
