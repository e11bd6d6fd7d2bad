package app

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/supplywatch/supplywatch/collector"
	"github.com/supplywatch/supplywatch/console"
	"github.com/supplywatch/supplywatch/postgres"
)

// Demo is the demo installation of `supplywatch run --demo` (`make run`):
// ingest tokens, and one console user per role, all of tenant acme. Their
// secrets derive from a random secret kept in the data directory (mode
// 0600), so they are different on every machine, stay the same across
// restarts while the data lives, and are never in the configuration or
// the logs. Without --demo nothing of this exists.
type Demo struct {
	Tenant string
	secret []byte
}

// DemoToken is a demo ingest token and what it is for.
type DemoToken struct {
	collector.Token
	Use string
}

// LoadDemo reads (or creates) the demo secret under dataDir.
func LoadDemo(dataDir string) (*Demo, error) {
	path := filepath.Join(dataDir, "demo-secret")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		b = make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return nil, fmt.Errorf("demo secret: %w", err)
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return nil, fmt.Errorf("demo secret: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("demo secret: %w", err)
	}
	if len(b) < 16 {
		return nil, fmt.Errorf("demo secret %s: too short (%d bytes); delete it to make a new one", path, len(b))
	}
	return &Demo{Tenant: "acme", secret: b}, nil
}

func (d *Demo) derive(name string, n int) string {
	m := hmac.New(sha256.New, d.secret)
	m.Write([]byte(name))
	return hex.EncodeToString(m.Sum(nil))[:n]
}

// Tokens are the demo ingest tokens: one for the ERP, one for the supplier
// portal (with an HMAC secret) and one for OTLP traces.
func (d *Demo) Tokens() []DemoToken {
	return []DemoToken{
		{collector.Token{Name: "demo-erp", Tenant: d.Tenant, Token: "demo-erp-" + d.derive("token/erp", 24)}, "events, B2B"},
		{collector.Token{Name: "demo-portal", Tenant: d.Tenant, Sources: []string{"portal"}, Token: "demo-portal-" + d.derive("token/portal", 24),
			HMACSecret: d.derive("hmac/portal", 32)}, "events of source portal, may sign"},
		{collector.Token{Name: "demo-otlp", Tenant: d.Tenant, Token: "demo-otlp-" + d.derive("token/otlp", 24)}, "OTLP traces"},
	}
}

// Apply adds the demo tokens to cfg and has the simulator's systems send
// their spans with the OTLP one.
func (d *Demo) Apply(cfg *Config) {
	for _, t := range d.Tokens() {
		cfg.Ingest.Tokens = append(cfg.Ingest.Tokens, t.Token)
		if t.Name == "demo-otlp" && cfg.SimulatorTraces.Token == "" {
			cfg.SimulatorTraces.Token = t.Token.Token
		}
	}
}

// SignIns creates (or finds) one demo user per role and returns their
// sign-ins. It needs a process with Postgres (the console or rules role).
func (d *Demo) SignIns(ctx context.Context, a *App) ([]console.SignIn, error) {
	if a.pg == nil {
		return nil, errors.New("demo users: this process has no Postgres (run the console role)")
	}
	return console.EnsureDemoUsers(ctx, postgres.NewConsoleStore(a.pg), d.Tenant, []string{"P01"}, d.derive("users", 32))
}
