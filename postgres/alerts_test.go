package postgres_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/postgres"
	"github.com/supplywatch/supplywatch/postgres/pgtest"
	"github.com/supplywatch/supplywatch/procure"
)

func outboxEvents(ids ...int64) []*procure.OutboxEvent {
	var out []*procure.OutboxEvent
	for _, id := range ids {
		out = append(out, &procure.OutboxEvent{ID: id, Tenant: "acme", Kind: procure.OutboxOpened,
			At: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), Exception: &procure.Exception{ID: id * 10, Tenant: "acme", Title: "x"}})
	}
	return out
}

// claimAll claims consumer's feed in batches of limit and returns the
// exception ids handed over, in order.
func claimAll(t *testing.T, s *postgres.AlertStore, consumer string, limit int) []int64 {
	t.Helper()
	var got []int64
	for {
		n, err := s.ClaimFeed(context.Background(), consumer, limit, func(evs []*procure.OutboxEvent) error {
			for _, ev := range evs {
				got = append(got, ev.Exception.ID)
			}
			return nil
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return got
		}
	}
}

// TestAlertFeedFansOutOncePerConsumer: events appended twice are queued
// once for each consumer; each consumer claims its own, oldest first; a
// failing handler leaves the batch queued; an event that does not decode
// is reported and removed, not handed over.
func TestAlertFeedFansOutOncePerConsumer(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	s := postgres.NewAlertStore(db)
	consumers := []string{"alerts", "clickhouse"}
	if err := s.AppendFeed(ctx, outboxEvents(3, 1, 2), consumers); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendFeed(ctx, outboxEvents(2, 3), consumers); err != nil { // a claim retried
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if _, err := s.ClaimFeed(ctx, "alerts", 2, func([]*procure.OutboxEvent) error { return boom }, nil); !errors.Is(err, boom) {
		t.Fatalf("failing handler: err = %v, want boom", err)
	}
	if got := claimAll(t, s, "alerts", 2); !slices.Equal(got, []int64{10, 20, 30}) {
		t.Fatalf("alerts consumer got %v, want [10 20 30] once each, oldest first", got)
	}
	if got := claimAll(t, s, "alerts", 2); len(got) != 0 {
		t.Fatalf("alerts consumer got %v again", got)
	}
	if got := claimAll(t, s, "clickhouse", 10); !slices.Equal(got, []int64{10, 20, 30}) {
		t.Fatalf("clickhouse consumer got %v, want its own copy [10 20 30]", got)
	}

	if _, err := db.Pool.Exec(ctx, `INSERT INTO alert_feed (outbox_id, tenant, at, payload) VALUES (4, 'acme', now(), '{"at": 7}');
		INSERT INTO alert_feed_pending (consumer, outbox_id) VALUES ('alerts', 4)`); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendFeed(ctx, outboxEvents(5), consumers); err != nil {
		t.Fatal(err)
	}
	var dropped []int64
	var handed []int64
	n, err := s.ClaimFeed(ctx, "alerts", 10, func(evs []*procure.OutboxEvent) error {
		for _, ev := range evs {
			handed = append(handed, ev.ID)
		}
		return nil
	}, func(id int64, err error) { dropped = append(dropped, id) })
	if err != nil || n != 2 || !slices.Equal(dropped, []int64{4}) || !slices.Equal(handed, []int64{5}) {
		t.Fatalf("claim = %d, %v; dropped %v, handed %v; want 2, nil, [4], [5]", n, err, dropped, handed)
	}
	if got := claimAll(t, s, "alerts", 10); len(got) != 0 {
		t.Fatalf("after the drop the alerts consumer still has %v", got)
	}
}

// TestAlertGroupsAreEditedAndNotified: EditGroups makes the groups edit
// returns without an id and updates the others; NotifyGroups hands over
// only the groups that may need a message and stores the deliveries and
// group changes decide returns.
func TestAlertGroupsAreEditedAndNotified(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	s := postgres.NewAlertStore(db)
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	k1 := procure.AlertGroupKey{Route: "root", Key: "root|supplier=S1"}
	k2 := procure.AlertGroupKey{Route: "root", Key: "root|supplier=S2"}
	member := procure.AlertMember{Key: "x:1", ExceptionID: 1, Title: "Late", State: procure.ExceptionOpen, FirstSeen: t0}
	err := s.EditGroups(ctx, []procure.AlertGroupKey{k1, k2}, func(have map[procure.AlertGroupKey]*procure.AlertGroup) ([]*procure.AlertGroup, error) {
		if len(have) != 0 {
			t.Errorf("groups before any were made: %v", have)
		}
		var out []*procure.AlertGroup
		for _, k := range []procure.AlertGroupKey{k1, k2} {
			out = append(out, &procure.AlertGroup{Route: k.Route, GroupKey: k.Key, Channel: "C1", Labels: map[string]string{"tenant": "acme"},
				Members: map[string]procure.AlertMember{member.Key: member}, State: procure.AlertFiring, FirstAt: t0, ChangedAt: t0})
		}
		return out, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// k2 is notified and quiet: resolved, not changed since.
	var id1, id2 int64
	err = s.EditGroups(ctx, []procure.AlertGroupKey{k1, k2}, func(have map[procure.AlertGroupKey]*procure.AlertGroup) ([]*procure.AlertGroup, error) {
		g1, g2 := have[k1], have[k2]
		if g1 == nil || g2 == nil || g1.ID == 0 || g1.Members["x:1"].Title != "Late" || g1.Labels["tenant"] != "acme" || !g1.FirstAt.Equal(t0) {
			t.Fatalf("groups read back: %+v %+v", g1, g2)
		}
		id1, id2 = g1.ID, g2.ID
		g2.State, g2.NotifiedAt, g2.ChangedAt = procure.AlertResolved, t0.Add(time.Minute), t0.Add(time.Second)
		return []*procure.AlertGroup{g2}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = s.NotifyGroups(ctx, func(gs []*procure.AlertGroup) ([]*procure.AlertGroup, []procure.AlertDelivery, error) {
		if len(gs) != 1 || gs[0].ID != id1 {
			t.Fatalf("groups that may need a message: %d, want only group %d", len(gs), id1)
		}
		g := gs[0]
		g.NotifiedAt, g.Changes = t0.Add(time.Minute), []string{"po/1 acknowledged"}
		return gs, []procure.AlertDelivery{{GroupID: g.ID, Channel: g.Channel, Kind: procure.DeliveryPost, CreatedAt: t0.Add(time.Minute)}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	g, err := s.AlertGroup(ctx, id1)
	if err != nil || !g.NotifiedAt.Equal(t0.Add(time.Minute)) || !slices.Equal(g.Changes, []string{"po/1 acknowledged"}) {
		t.Fatalf("group after NotifyGroups: %+v, %v", g, err)
	}
	ds, err := s.ClaimDeliveries(ctx, t0.Add(time.Hour), time.Minute, time.Second)
	if err != nil || len(ds) != 1 || ds[0].GroupID != id1 || ds[0].Kind != procure.DeliveryPost || ds[0].Channel != "C1" || ds[0].Attempts != 1 {
		t.Fatalf("deliveries queued: %+v, %v", ds, err)
	}
	// A group made by another process since EditGroups looked (the edit
	// brings a new group under an existing key): nothing is stored, and the
	// error is transient so that the caller retries with the group.
	err = s.EditGroups(ctx, []procure.AlertGroupKey{k1}, func(map[procure.AlertGroupKey]*procure.AlertGroup) ([]*procure.AlertGroup, error) {
		return []*procure.AlertGroup{{Route: k1.Route, GroupKey: k1.Key, Channel: "C9", Labels: map[string]string{},
			Members: map[string]procure.AlertMember{"x:9": {Key: "x:9", State: procure.ExceptionOpen}}, State: procure.AlertFiring, FirstAt: t0, ChangedAt: t0}}, nil
	})
	if class, reason := procure.Classify(err); err == nil || class != procure.FailTransient || reason != "conflict" {
		t.Fatalf("edit racing another's new group: err = %v (%s, %s), want a transient conflict", err, class, reason)
	}
	if g, err := s.AlertGroup(ctx, id1); err != nil || g.Channel != "C1" || len(g.Members) != 1 {
		t.Fatalf("group after the refused race: %+v, %v; want it unchanged", g, err)
	}
	if err := s.UpdateAlertGroup(ctx, id2, func(g *procure.AlertGroup) error {
		g.SnoozedUntil = t0.Add(4 * time.Hour)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if g, err := s.AlertGroup(ctx, id2); err != nil || !g.SnoozedUntil.Equal(t0.Add(4*time.Hour)) {
		t.Fatalf("snoozed group: %+v, %v", g, err)
	}
	if _, err := s.AlertGroup(ctx, 999999); procure.ErrorCode(err) != procure.ENOTFOUND {
		t.Fatalf("unknown group: err = %v, want ENOTFOUND", err)
	}
	if err := s.UpdateAlertGroup(ctx, 999999, func(*procure.AlertGroup) error { return nil }); procure.ErrorCode(err) != procure.ENOTFOUND {
		t.Fatalf("update of an unknown group: err = %v, want ENOTFOUND", err)
	}
}

// TestAlertDeliveriesArePacedOrderedAndRecovered: one delivery per channel
// per interval, a group's deliveries in order, an attempt in flight is
// left alone until its lease expires, a post gives its group the message
// ts, a rate limit pauses the channel, a failure is recorded.
func TestAlertDeliveriesArePacedOrderedAndRecovered(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	s := postgres.NewAlertStore(db)
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var groups []int64
	err := s.EditGroups(ctx, nil, func(map[procure.AlertGroupKey]*procure.AlertGroup) ([]*procure.AlertGroup, error) {
		var out []*procure.AlertGroup
		for _, ch := range []string{"C1", "C1", "C2"} {
			out = append(out, &procure.AlertGroup{Route: "root", GroupKey: "g" + string(rune('a'+len(out))), Channel: ch, Labels: map[string]string{},
				Members: map[string]procure.AlertMember{}, State: procure.AlertFiring, FirstAt: t0, ChangedAt: t0})
		}
		return out, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Pool.QueryRow(ctx, `SELECT array_agg(id ORDER BY id) FROM alert_groups`).Scan(&groups); err != nil {
		t.Fatal(err)
	}
	// Group a (C1): post, then reply; group b (C1): post; group c (C2): post.
	err = s.NotifyGroups(ctx, func(gs []*procure.AlertGroup) ([]*procure.AlertGroup, []procure.AlertDelivery, error) {
		d := func(g int, kind string) procure.AlertDelivery {
			return procure.AlertDelivery{GroupID: groups[g], Kind: kind, Body: kind, CreatedAt: t0}
		}
		return nil, []procure.AlertDelivery{d(0, procure.DeliveryPost), d(0, procure.DeliveryReply), d(1, procure.DeliveryPost), d(2, procure.DeliveryPost)}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	claim := func(now time.Time) []procure.AlertDelivery {
		t.Helper()
		ds, err := s.ClaimDeliveries(ctx, now, 30*time.Second, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	kinds := func(ds []procure.AlertDelivery) (out []string) {
		for _, d := range ds {
			out = append(out, d.Channel+" "+d.Kind)
		}
		return out
	}
	first := claim(t0)
	if got := kinds(first); !slices.Equal(got, []string{"C1 post", "C2 post"}) {
		t.Fatalf("first claim: %v, want one per channel: [C1 post C2 post]", got)
	}
	if got := claim(t0.Add(500 * time.Millisecond)); len(got) != 0 {
		t.Fatalf("claim within the channel interval: %v, want none", kinds(got))
	}
	// C1's post is still in flight: the channel's next is group b's post;
	// group a's reply waits for its post.
	next := claim(t0.Add(time.Second))
	if len(next) != 1 || next[0].GroupID != groups[1] {
		t.Fatalf("second claim: %+v, want group b's post", next)
	}
	if err := s.DeliverySent(ctx, first[0], "111.1"); err != nil {
		t.Fatal(err)
	}
	if g, err := s.AlertGroup(ctx, groups[0]); err != nil || g.SlackTS != "111.1" {
		t.Fatalf("posted group: %+v, %v; want ts 111.1", g, err)
	}
	// A rate limit on group b's post: the channel pauses a minute.
	if err := s.RetryDelivery(ctx, next[0], t0.Add(time.Minute), "rate_limited", true); err != nil {
		t.Fatal(err)
	}
	// C1 is paused; C2's post was never settled (a crash) and is within
	// its lease.
	if got := claim(t0.Add(20 * time.Second)); len(got) != 0 {
		t.Fatalf("claim while C1 is paused and C2's post in flight: %v", kinds(got))
	}
	// After the pause C1 takes group a's reply (the oldest due); C2's post
	// is claimed again after its lease, with its first attempt time and
	// the attempts counted.
	got := claim(t0.Add(time.Minute))
	if len(got) != 2 || got[0].GroupID != groups[0] || got[0].Kind != procure.DeliveryReply {
		t.Fatalf("claim after the pause: %+v, want group a's reply and C2's post", got)
	}
	again := got[1]
	if again.ID != first[1].ID || again.Attempts != 2 || !again.AttemptedAt.Equal(t0) {
		t.Fatalf("recovered delivery: %+v, want C2's post, attempt 2, first attempted at %v", again, t0)
	}
	if err := s.DeliverySent(ctx, got[0], "111.2"); err != nil {
		t.Fatal(err)
	}
	if g, err := s.AlertGroup(ctx, groups[0]); err != nil || g.SlackTS != "111.1" {
		t.Fatalf("group after its reply: %+v, %v; want the post's ts kept", g, err)
	}
	if err := s.DeliveryFailed(ctx, again, "channel_not_found"); err != nil {
		t.Fatal(err)
	}
	var status, lastError string
	if err := db.Pool.QueryRow(ctx, `SELECT status, last_error FROM alert_deliveries WHERE id = $1`, again.ID).Scan(&status, &lastError); err != nil {
		t.Fatal(err)
	}
	if status != "failed" || lastError != "channel_not_found" {
		t.Fatalf("failed delivery: %s %q", status, lastError)
	}
	if got := claim(t0.Add(time.Hour)); len(got) != 1 || got[0].GroupID != groups[1] {
		t.Fatalf("last claim: %+v, want group b's post retried", got)
	}
}

// TestAlertDigestIsQueuedOncePerTeamAndDay: the second AddDigest of a
// team's day neither calls build nor queues anything; a failing build
// records nothing.
func TestAlertDigestIsQueuedOncePerTeamAndDay(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t)
	s := postgres.NewAlertStore(db)
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	builds := 0
	build := func() (procure.AlertDelivery, error) {
		builds++
		return procure.AlertDelivery{Channel: "C-DIGEST", Kind: procure.DeliveryDigest, Body: "digest", CreatedAt: t0}, nil
	}
	boom := errors.New("exceptions unavailable")
	if _, err := s.AddDigest(ctx, "procurement", "2026-03-02", func() (procure.AlertDelivery, error) { return procure.AlertDelivery{}, boom }); !errors.Is(err, boom) {
		t.Fatalf("failing build: err = %v", err)
	}
	for i, want := range []bool{true, false} {
		added, err := s.AddDigest(ctx, "procurement", "2026-03-02", build)
		if err != nil || added != want {
			t.Fatalf("AddDigest #%d = %v, %v; want %v", i+1, added, err, want)
		}
	}
	if added, err := s.AddDigest(ctx, "procurement", "2026-03-03", build); err != nil || !added {
		t.Fatalf("next day: %v, %v", added, err)
	}
	if builds != 2 {
		t.Fatalf("build called %d times, want 2 (once per day)", builds)
	}
	ds, err := s.ClaimDeliveries(ctx, t0, time.Minute, time.Second)
	if err != nil || len(ds) != 1 || ds[0].Kind != procure.DeliveryDigest || ds[0].Channel != "C-DIGEST" || ds[0].Body != "digest" || ds[0].GroupID != 0 {
		t.Fatalf("digest delivery: %+v, %v", ds, err)
	}
}
