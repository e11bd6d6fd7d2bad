package postgres_test

import (
	"context"
	"sync"
	"testing"

	"github.com/supplywatch/supplywatch/postgres"
	"github.com/supplywatch/supplywatch/postgres/pgtest"
)

func TestControlNumbersArePerPartnerUniqueAndWrap(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	c := postgres.NewControlNumbers(db)
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 25 {
				n, err := c.Next(ctx, "widget-buyer")
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[n] {
					t.Errorf("control number %d handed out twice", n)
				}
				seen[n] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for i := int64(1); i <= 200; i++ {
		if !seen[i] {
			t.Fatalf("control number %d skipped", i)
		}
	}
	if n, err := c.Next(ctx, "other-partner"); err != nil || n != 1 {
		t.Fatalf("another partner starts at 1: %d %v", n, err)
	}
	if _, err := db.Pool.Exec(ctx, `UPDATE b2b_control_numbers SET last = 999999999 WHERE partner_id = 'other-partner'`); err != nil {
		t.Fatal(err)
	}
	if n, err := postgres.NewControlNumbers(db).Next(ctx, "other-partner"); err != nil || n != 1 {
		t.Fatalf("after 999999999: %d %v", n, err)
	}
}
