package console

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/supplywatch/supplywatch/procure"
)

// hub fans outbox events out to live-update subscribers. A subscriber that
// cannot keep up loses events (it is told to reload), never blocks others.
type hub struct {
	mu   sync.Mutex
	subs map[*subscriber]struct{}
}

type subscriber struct {
	scope procure.Scope
	ch    chan *procure.OutboxEvent
	lost  atomic.Bool
}

func newHub() *hub { return &hub{subs: map[*subscriber]struct{}{}} }

func (h *hub) subscribe(sc procure.Scope) *subscriber {
	s := &subscriber{scope: sc, ch: make(chan *procure.OutboxEvent, 256)}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}

// visible reports whether an outbox event is within a scope.
func visible(sc procure.Scope, ev *procure.OutboxEvent) bool {
	if ev.Tenant != sc.Tenant {
		return false
	}
	if ev.Exception == nil {
		return sc.AllPlants() && sc.Supplier == ""
	}
	return sc.HasPlant(ev.Exception.Plant) && (sc.Supplier == "" || sc.Supplier == ev.Exception.Supplier)
}

func (h *hub) publish(ev *procure.OutboxEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if !visible(s.scope, ev) {
			continue
		}
		select {
		case s.ch <- ev:
		default:
			s.lost.Store(true)
		}
	}
}

// follow reads the outbox from its current end and publishes what comes.
func (h *liveHandlers) follow(ctx context.Context) error {
	last, err := h.store.LastOutboxID(ctx)
	if err != nil {
		return fmt.Errorf("console live: %w", err)
	}
	t := time.NewTicker(h.poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		for {
			evs, err := h.store.OutboxAfter(ctx, last, 500)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				h.log.Warn("console live: read outbox", "err", err)
				break
			}
			for _, ev := range evs {
				last = ev.ID
				if h.routeNew && ev.Kind == procure.OutboxOpened && ev.ExceptionID != 0 {
					if _, err := h.store.Route(ctx, ev.ExceptionID, h.now()); err != nil && ctx.Err() == nil {
						h.log.Warn("console routing", "exception", ev.ExceptionID, "err", err)
					}
				}
				h.live.publish(ev)
			}
			if len(evs) < 500 {
				break
			}
		}
	}
}

// liveUpdates streams the caller's exception changes as server-sent
// events: "exception" events carry the outbox event (kind, exception);
// "reload" says events were lost and the view must be reloaded.
func (h *liveHandlers) liveUpdates(g *gin.Context) {
	p := principalOf(g)
	s := h.live.subscribe(p.Scope())
	defer h.live.unsubscribe(s)
	g.Header("Content-Type", "text/event-stream")
	g.Header("Cache-Control", "no-store")
	g.Header("X-Accel-Buffering", "no")
	g.Status(http.StatusOK)
	fmt.Fprint(g.Writer, "retry: 3000\n: connected\n\n")
	g.Writer.Flush()
	beat := time.NewTicker(15 * time.Second)
	defer beat.Stop()
	ctx := g.Request.Context()
	for {
		select {
		case <-ctx.Done():
			return
		case <-beat.C:
			fmt.Fprint(g.Writer, ": keep-alive\n\n")
		case ev := <-s.ch:
			if s.lost.Swap(false) {
				fmt.Fprint(g.Writer, "event: reload\ndata: {}\n\n")
			}
			b, err := marshalAPI(ev)
			if err != nil {
				h.log.Error("live update not encoded", "event", ev.ID, "err", err)
				continue
			}
			fmt.Fprintf(g.Writer, "id: %d\nevent: exception\ndata: %s\n\n", ev.ID, b)
		}
		g.Writer.Flush()
	}
}
