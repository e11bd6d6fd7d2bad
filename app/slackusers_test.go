package app_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/supplywatch/supplywatch/app"
	"github.com/supplywatch/supplywatch/console"
	"github.com/supplywatch/supplywatch/postgres"
	"github.com/supplywatch/supplywatch/postgres/pgtest"
	"github.com/supplywatch/supplywatch/procure"
)

func TestSlackUsersMapToConsoleUsersByEmail(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	if err := db.Migrate(ctx, discardLog()); err != nil {
		t.Fatal(err)
	}
	store := postgres.NewConsoleStore(db)
	if _, err := console.AddUser(ctx, store, console.NewUser{Tenant: "acme", Login: "ana", Name: "Ana", Email: "ana@acme.test", Role: procure.RoleOncall, Password: "a long enough password"}); err != nil {
		t.Fatal(err)
	}
	emails := map[string]string{"U1": "ana@acme.test", "U2": "bob@acme.test", "U3": ""}
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		id := r.Form.Get("user")
		email, ok := emails[id]
		if !ok {
			fmt.Fprint(w, `{"ok":false,"error":"user_not_found"}`)
			return
		}
		fmt.Fprintf(w, `{"ok":true,"user":{"id":%q,"name":"x","profile":{"email":%q}}}`, id, email)
	}))
	t.Cleanup(fake.Close)
	users := &app.SlackUsers{API: app.SlackClient("xoxb-test", fake.URL+"/"), Users: store}

	u, err := users.ResolveSlackUser(ctx, "T1", "U1")
	if err != nil || u.Name != "Ana" || u.Role != procure.RoleOncall || u.Login != "ana" || u.Tenant != "acme" {
		t.Fatalf("U1 = %+v, %v; want Ana (login ana, tenant acme), oncall", u, err)
	}
	for _, id := range []string{"U2", "U3", "U9"} {
		if _, err := users.ResolveSlackUser(ctx, "T1", id); procure.ErrorCode(err) != procure.EUNAUTHORIZED {
			t.Errorf("%s: err = %v, want unauthorized", id, err)
		}
	}
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
