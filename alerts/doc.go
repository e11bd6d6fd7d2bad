// Package alerts turns exception changes into Slack messages: a pipeline
// in the manner of Alertmanager, fed from the Postgres exception outbox.
//
//	outbox ─► Feeder ─► alert_feed ─► route ─► group/dedup ─► throttle ─► escalate ─► notify ─► alert_deliveries ─► Sender ─► Poster
//
// Each stage is a file: route.go (the routing tree), group.go (one group
// per route and group key, members deduplicated by exception), throttle.go
// (group_wait, group_interval, repeat_interval, mute/active time intervals,
// snooze), escalate.go (business-calendar-aware escalation steps),
// notify.go (what to send: the group message, updated in place, and thread
// replies) and send.go (the durable delivery outbox: per-channel pacing,
// retries with backoff, Retry-After, crash recovery without duplicates).
// digest.go sends a daily digest per team; act.go performs the actions of
// Slack buttons; watch.go raises alerts on the pipeline itself from
// Prometheus-style samples.
//
// The stages decide over literal groups and deliveries
// (procure.AlertGroup, procure.AlertDelivery); what they read and write is
// kept by a Store (postgres.AlertStore), made of the one- or two-method
// interfaces each stage declares where it uses them (FeedStore,
// GroupEditor, GroupNotifier, DigestRecorder, GroupReader, GroupUpdater,
// DeliveryQueue, DeliveryRetrier). It holds no driver and no SQL.
//
// It leaves Slack to a Poster (package alerts/slack renders Block Kit and
// verifies Slack's signatures), users and roles to a UserResolver of the
// console, and exception changes to an ExceptionActor.
package alerts
