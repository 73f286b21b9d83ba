package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"qianliyan/detect"
	"qianliyan/task"
)

// bus carries the incident and task events of this member to the
// server-sent-event clients of the other members of the cluster, and
// theirs to this member's: each member publishes what its own stores
// emit, with its node name, on the Redis pub/sub channel <prefix>events
// (PUBLISH reaches the subscribers of every node of a Redis Cluster), and
// hands what the others publish to its own subscribers, skipping its own,
// which they got at once. Camera changes need no bus: every member reads
// the health of the cameras others own from Redis (cameraList).
//
// Pub/sub is at most once: a member cut from Redis for a moment misses
// what was published meanwhile. When it subscribes again it ends its
// clients' event streams, and they reconnect and reload (as a client too
// slow for its stream does), so no page stays behind unawares.
type bus struct {
	rdb     redis.UniversalClient
	channel string
	node    string
	events  *events
	log     *slog.Logger
	out     chan []byte // to the publisher; full: dropped and counted
	dropped atomic.Int64
	resubs  atomic.Int64 // subscriptions made again after a lost connection

	mu       sync.Mutex
	taskSubs []func(task.Event) // OnOtherMembersTask
}

// busMsg is what goes on the channel.
type busMsg struct {
	Node string          `json:"node"`
	Kind string          `json:"kind"` // "incident" (detect.Incident) or "task" (task.Event)
	Data json.RawMessage `json:"data"`
}

// busQueue bounds the events waiting for PUBLISH: they are made in the
// goroutine of a store's change, which must not wait for Redis.
const busQueue = 1024

func newBus(rdb redis.UniversalClient, prefix, node string, ev *events, log *slog.Logger) *bus {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &bus{rdb: rdb, channel: prefix + "events", node: node, events: ev, log: log, out: make(chan []byte, busQueue)}
}

// sendIncident is a detect.Store.OnChange subscriber.
func (b *bus) sendIncident(in detect.Incident) { b.send("incident", mustJSON(in)) }

// sendTask is a task.Store.OnChange subscriber.
func (b *bus) sendTask(ev task.Event) {
	if ev.Task != nil {
		b.send("task", mustJSON(ev))
	}
}

func (b *bus) send(kind string, data []byte) {
	select {
	case b.out <- mustJSON(busMsg{Node: b.node, Kind: kind, Data: data}):
	default:
		if n := b.dropped.Add(1); n%100 == 1 {
			b.log.Warn("event bus: Redis does not keep up; other members' clients miss events", "dropped", n)
		}
	}
}

// run publishes this member's events and applies the others' until ctx
// ends.
func (b *bus) run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { b.publish(ctx) })
	ps := b.rdb.Subscribe(ctx, b.channel)
	defer ps.Close()
	// the subscription is made once Receive confirms it; Redis may be away
	for {
		_, err := ps.Receive(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		b.log.Warn("event bus: cannot subscribe; trying again", "channel", b.channel, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
	// go-redis subscribes again after a lost connection, and says so
	ch := ps.ChannelWithSubscriptions()
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			switch m := m.(type) {
			case *redis.Message:
				b.apply(m.Payload)
			case *redis.Subscription:
				b.resubscribed(m)
			}
		}
	}
}

// resubscribed hears that the subscription was made again after a lost
// connection: what the other members published meanwhile is lost, so this
// member's event streams are ended, and their clients reconnect and
// reload what they show.
func (b *bus) resubscribed(m *redis.Subscription) {
	if m.Kind != "subscribe" {
		return
	}
	b.resubs.Add(1)
	b.log.Warn("event bus: subscribed again after losing Redis; the event streams restart so that pages reload", "channel", m.Channel)
	b.events.closeAll()
}

func (b *bus) publish(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case msg := <-b.out:
			if err := b.rdb.Publish(ctx, b.channel, msg).Err(); err != nil && ctx.Err() == nil {
				if n := b.dropped.Add(1); n%100 == 1 {
					b.log.Warn("event bus: publish failed; other members' clients miss the event", "dropped", n, "err", err)
				}
			}
		}
	}
}

// apply hands another member's event to this member's subscribers.
func (b *bus) apply(payload string) {
	var m busMsg
	if err := json.Unmarshal([]byte(payload), &m); err != nil || m.Node == b.node {
		return
	}
	switch m.Kind {
	case "incident":
		var in detect.Incident
		if json.Unmarshal(m.Data, &in) == nil {
			b.events.publishIncident(in)
		}
	case "task":
		var ev task.Event
		if json.Unmarshal(m.Data, &ev) == nil && ev.Task != nil {
			b.events.publishTask(ev)
			b.mu.Lock()
			subs := b.taskSubs
			b.mu.Unlock()
			for _, fn := range subs {
				fn(ev)
			}
		}
	}
}

// OnOtherMembersTask adds fn to the functions given the task changes the
// other members of the cluster make (as task.Store.OnChange gives this
// member's), in the bus's goroutine; fn must not block. The confirmer
// takes them, so the owner of a camera watches a task claimed through
// another member at once. Without a cluster there are none.
func (s *Server) OnOtherMembersTask(fn func(task.Event)) {
	if s.bus == nil {
		return
	}
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	s.bus.taskSubs = append(s.bus.taskSubs, fn)
}
