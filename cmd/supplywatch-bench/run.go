package main

import (
	"context"
	"strings"
	"time"
)

func run(ctx context.Context, events, mixed int, only string, backlog int, outage time.Duration, costEvents, costSpans int, costEachView bool, spanVariant string) error {
	e, err := newBenchEnv(ctx)
	if e != nil {
		defer e.close()
	}
	if err != nil {
		return err
	}
	want := func(name string) bool { return only == "" || strings.Contains(name, only) }
	if want("collector") {
		if err := collectorBench(ctx, e, events, mixed); err != nil {
			return err
		}
	}
	if want("outage") {
		if err := outageBench(ctx, e, backlog, outage); err != nil {
			return err
		}
	}
	if want("chcost_events") {
		if err := chCostBench(ctx, e, costEvents, costEachView); err != nil {
			return err
		}
	}
	if only == "chcost_event_merges" {
		if err := chCostEventMerges(ctx, e, costEvents); err != nil {
			return err
		}
	}
	if only == "chcost_event_batches" {
		if err := chCostEventBatches(ctx, e, costEvents); err != nil {
			return err
		}
	}
	if want("chcost_spans") {
		if err := chCostSpans(ctx, e, costSpans, spanVariant); err != nil {
			return err
		}
	}
	if want("otlp") {
		if err := otlpBench(ctx, e); err != nil {
			return err
		}
	}
	return nil
}
