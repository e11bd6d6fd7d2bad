package kafka

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestEmbeddedBrokerExpiresAMemberThatDiedInItsJoin reproduces the stall of
// the SIGKILL roles test in one process: a consumer dies while its first
// JoinGroup is parked in a rebalance, and the rebalance still gives it a
// partition. Whether kfake then times it out is a coin toss (its reply goes
// either to the dead connection's buffer, which arms the session timer, or
// nowhere, which does not), so the test runs groups in parallel: with 8 of
// them, the chance that none loses the toss is 1 in 256. In every group the
// live member must take the dead member's partition over and read what is
// produced to it; without the session reaper, a group whose dead member
// lost the toss never does.
func TestEmbeddedBrokerExpiresAMemberThatDiedInItsJoin(t *testing.T) {
	const topic, groups = "reaped", 8
	b, err := StartEmbedded("127.0.0.1:0", "", 2, topic)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	addrs := b.Addrs()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	w := &kafkago.Writer{Addr: kafkago.TCP(addrs...), Topic: topic, BatchTimeout: time.Millisecond,
		Balancer: kafkago.BalancerFunc(func(m kafkago.Message, _ ...int) int { return int(m.Key[0] - '0') })}
	defer w.Close()
	produce := func(values ...string) {
		t.Helper()
		msgs := make([]kafkago.Message, len(values))
		for i, v := range values {
			msgs[i] = kafkago.Message{Key: []byte{byte('0' + i%2)}, Value: []byte(v)}
		}
		if err := w.WriteMessages(ctx, msgs...); err != nil {
			t.Fatal(err)
		}
	}
	admin, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()

	produce("p0-a", "p1-a")
	ready, errs := make(chan struct{}, groups), make(chan error, groups)
	phase2 := make(chan struct{})
	for g := range groups {
		group := fmt.Sprintf("reaped-%d", g)
		go func() {
			errs <- func() error {
				// The live member, with the shortest session kfake accepts.
				live := kafkago.NewReader(kafkago.ReaderConfig{Brokers: addrs, GroupID: group, Topic: topic,
					SessionTimeout: 6 * time.Second, RebalanceTimeout: time.Second, HeartbeatInterval: 200 * time.Millisecond,
					StartOffset: kafkago.FirstOffset, MaxWait: 200 * time.Millisecond})
				defer live.Close()
				if err := readAll(ctx, live, "p0-a", "p1-a"); err != nil {
					return fmt.Errorf("%s before the dead member: %w", group, err)
				}
				if err := joinAndDie(addrs[0], group, topic); err != nil {
					return err
				}
				if err := waitAssignedTo(ctx, admin, group, 2); err != nil {
					return err
				}
				ready <- struct{}{}
				<-phase2
				start := time.Now()
				if err := readAll(ctx, live, "p0-b", "p1-b"); err != nil {
					return fmt.Errorf("%s after the dead member: %w", group, err)
				}
				t.Logf("%s: the live member read both partitions %s after the dead member got one", group, time.Since(start).Round(time.Millisecond))
				return nil
			}()
		}()
	}
	for range groups {
		select {
		case <-ready:
		case err := <-errs:
			t.Fatal(err)
		}
	}
	produce("p0-b", "p1-b")
	close(phase2)
	for range groups {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// readAll reads (and commits) until it has every one of want, within 40 s.
func readAll(ctx context.Context, r *kafkago.Reader, want ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 40*time.Second)
	defer cancel()
	got := map[string]bool{}
	for len(got) < len(want) {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			return fmt.Errorf("read %d of %v: %w", len(got), want, err)
		}
		got[string(m.Value)] = true
	}
	return nil
}

// joinAndDie joins group as a new member (JoinGroup v1, as kafka-go does)
// and closes its connection before the broker can answer: the broker is
// waiting for the group's live member to rejoin.
func joinAndDie(addr, group, topic string) error {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	join := kmsg.NewPtrJoinGroupRequest()
	join.Version = 1
	join.Group, join.SessionTimeoutMillis, join.RebalanceTimeoutMillis, join.ProtocolType = group, 6000, 1000, "consumer"
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = []string{topic}
	proto := kmsg.NewJoinGroupRequestProtocol()
	proto.Name, proto.Metadata = "range", meta.AppendTo(nil)
	join.Protocols = []kmsg.JoinGroupRequestProtocol{proto}
	if _, err := conn.Write(kmsg.NewRequestFormatter(kmsg.FormatterClientID("dies-in-join")).AppendRequest(nil, join, 1)); err != nil {
		return err
	}
	time.Sleep(20 * time.Millisecond) // let the broker read it
	return nil
}

// waitAssignedTo waits until group is stable with n members that each hold
// a partition.
func waitAssignedTo(ctx context.Context, admin *kgo.Client, group string, n int) error {
	var last string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		req := kmsg.NewPtrDescribeGroupsRequest()
		req.Groups = []string{group}
		resp, err := req.RequestWith(ctx, admin)
		if err != nil {
			last = err.Error()
			continue
		}
		g := resp.Groups[0]
		assigned := 0
		for _, m := range g.Members {
			var a kmsg.ConsumerMemberAssignment
			if a.ReadFrom(m.MemberAssignment) == nil && len(a.Topics) == 1 && len(a.Topics[0].Partitions) > 0 {
				assigned++
			}
		}
		if g.State == "Stable" && assigned == n {
			return nil
		}
		last = fmt.Sprintf("state %s, %d members, %d with partitions", g.State, len(g.Members), assigned)
	}
	return fmt.Errorf("%s never became stable with %d members holding partitions: %s", group, n, last)
}
