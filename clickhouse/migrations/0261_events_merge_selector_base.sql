-- Events and event_ids: fewer merges, as 0260 for the spans (docs/storage.md,
-- "Events: fewer merges"). An insert of the writer's batch (10,000 events)
-- is a part in each; with merge_selector_base 20 instead of the default 5
-- a merge takes more parts at once and an event is rewritten fewer times.
-- `supplywatch-bench -only chcost_event_merges` (500,000 events, every
-- view): the merged rows per event over the insert's tables 9.6 to 9.8
-- against 5.5 to 5.6, the server's CPU per million events 31.7 to 34.3
-- against 25.1 to 32.5 in four runs each on the shared machine. The KPI
-- fact tables keep the default: they are the kpi role's (the same setting
-- on every table of the insert measured 23.7 and 24.3).
ALTER TABLE {db}.events MODIFY SETTING merge_selector_base = 20;
ALTER TABLE {db}.event_ids MODIFY SETTING merge_selector_base = 20;
