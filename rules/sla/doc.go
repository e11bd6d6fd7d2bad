// Package sla runs SLA timers: the Scheduler that starts, stops, pauses,
// resumes, resets and cancels timers as events are observed, and fires due
// timers from the store, raising breach exceptions and warnings. Timers
// count business time in the plants' calendars (procure.Calendar).
//
// It leaves deciding which condition holds for an event to the rules engine
// (package rules evaluates the expressions and hands the Scheduler an
// Observation), and storage to a procure.StateStore.
package sla
