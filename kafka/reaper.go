package kafka

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// sessionReaper makes the embedded broker expire the session of a
// consumer-group member that has stopped talking to it, as a Kafka broker
// does.
//
// kfake arms a member's session timer when it delivers the member's
// JoinGroup reply. A process that dies while its first JoinGroup is parked
// in a rebalance never gets that reply, so kfake keeps it as a member with
// no session timer: after the leader's SyncGroup it holds its assigned
// partitions for ever and nobody consumes them (issues 9 and 11: the killed
// collector's partitions stalled from their committed offset in about one
// run in three of the SIGKILL test). A Kafka broker schedules the session
// expiry of every member when a join completes, delivered or not.
//
// The reaper watches the group requests that carry a member id (JoinGroup,
// SyncGroup, Heartbeat, OffsetCommit) through kfake's control hooks, which
// only observe, and asks the broker every second to describe the groups it
// has seen joined. A member that has sent nothing for longer than its
// session timeout plus its rebalance timeout (the longest a live member may
// wait parked in a join), counted from when it was first described, is
// removed with a LeaveGroup on its behalf, which rebalances its partitions
// to the live members. That is later than kfake's own session expiry of a
// member it does time out, so the reaper only ever acts on the members kfake
// forgot.
type sessionReaper struct {
	client *kgo.Client
	log    *slog.Logger
	stop   context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	seen    map[groupMember]time.Time
	timeout map[string]time.Duration // per group: the longest session + rebalance timeout its members joined with
}

type groupMember struct{ group, member string }

// reapEvery is how often the reaper describes the groups.
const reapEvery = time.Second

// startSessionReaper installs the observing hooks on c and starts the loop.
func startSessionReaper(c *kfake.Cluster, log *slog.Logger) (*sessionReaper, error) {
	client, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ClientID("supplywatch-embedded-session-reaper"))
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	r := &sessionReaper{client: client, log: log, stop: stop, done: make(chan struct{}),
		seen: map[groupMember]time.Time{}, timeout: map[string]time.Duration{}}
	for _, key := range []kmsg.Key{kmsg.JoinGroup, kmsg.SyncGroup, kmsg.Heartbeat, kmsg.OffsetCommit} {
		c.ControlKey(int16(key), func(req kmsg.Request) (kmsg.Response, error, bool) {
			r.observe(req, time.Now())
			return nil, nil, false // observe only: the broker handles the request
		})
	}
	go func() {
		defer close(r.done)
		t := time.NewTicker(reapEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				r.reap(ctx, time.Now())
			}
		}
	}()
	return r, nil
}

// Close stops the loop and its client.
func (r *sessionReaper) Close() {
	r.stop()
	<-r.done
	r.client.Close()
}

// observe records that a member was heard from.
func (r *sessionReaper) observe(req kmsg.Request, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch q := req.(type) {
	case *kmsg.JoinGroupRequest:
		d := time.Duration(q.SessionTimeoutMillis) * time.Millisecond
		if q.Version >= 1 {
			d += time.Duration(q.RebalanceTimeoutMillis) * time.Millisecond
		} else {
			d *= 2
		}
		r.timeout[q.Group] = max(r.timeout[q.Group], d)
		r.heard(q.Group, q.MemberID, now)
	case *kmsg.SyncGroupRequest:
		r.heard(q.Group, q.MemberID, now)
	case *kmsg.HeartbeatRequest:
		r.heard(q.Group, q.MemberID, now)
	case *kmsg.OffsetCommitRequest:
		r.heard(q.Group, q.MemberID, now)
	}
}

func (r *sessionReaper) heard(group, member string, now time.Time) {
	if member != "" {
		r.seen[groupMember{group, member}] = now
	}
}

// reap describes the groups and removes their silent members.
func (r *sessionReaper) reap(ctx context.Context, now time.Time) {
	r.mu.Lock()
	groups := make([]string, 0, len(r.timeout))
	for g := range r.timeout {
		groups = append(groups, g)
	}
	r.mu.Unlock()
	if len(groups) == 0 {
		return
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups = groups
	resp, err := req.RequestWith(dctx, r.client)
	if err != nil {
		return // the next tick asks again
	}
	type silent struct {
		groupMember
		for_ time.Duration
	}
	var expired []silent
	r.mu.Lock()
	present := map[groupMember]bool{}
	for _, g := range resp.Groups {
		if g.ErrorCode != 0 {
			continue
		}
		for _, m := range g.Members {
			k := groupMember{g.Group, m.MemberID}
			present[k] = true
			last, ok := r.seen[k]
			if !ok {
				// Described before it sent anything with its id: a join
				// in progress. Count from now.
				r.seen[k] = now
				continue
			}
			if d := now.Sub(last); d > r.timeout[g.Group] {
				expired = append(expired, silent{k, d})
			}
		}
	}
	for k := range r.seen {
		if !present[k] {
			delete(r.seen, k)
		}
	}
	r.mu.Unlock()
	for _, s := range expired {
		leave := kmsg.NewPtrLeaveGroupRequest()
		leave.Group = s.group
		leave.MemberID = s.member // v0-2
		m := kmsg.NewLeaveGroupRequestMember()
		m.MemberID = s.member
		leave.Members = []kmsg.LeaveGroupRequestMember{m} // v3+
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := leave.RequestWith(lctx, r.client)
		cancel()
		r.log.Warn("embedded kafka: removed a consumer-group member silent for longer than its session (kfake kept it after its process died)",
			"group", s.group, "member", s.member, "silent", s.for_.Round(time.Millisecond), "err", err)
		if err == nil {
			r.mu.Lock()
			delete(r.seen, s.groupMember)
			r.mu.Unlock()
		}
	}
}
