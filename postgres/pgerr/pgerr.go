// Package pgerr classifies Postgres and pgx errors into the failure classes
// of procure.Classify, for the users of a pgx pool (the postgres adapter's
// stores, its alert store among them). It leaves what to do about a failure
// to its caller.
package pgerr

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/supplywatch/supplywatch/procure"
)

// Classify marks err with its failure class (procure.Classify) by the
// SQLSTATE class of a server error, or as transient when the server could
// not be reached or answered too late. Errors classified already are kept.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	var ce *procure.ClassifiedError
	if errors.As(err, &ce) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "40001" || pe.Code == "40P01":
			return procure.Transient("serialization", err)
		case pe.Code == "57014":
			return procure.Transient("timeout", err)
		case pe.Code == "22021" || pe.Code == "22P05": // bad byte sequence, untranslatable character
			return procure.Deterministic("encoding", err)
		}
		switch pe.Code[:2] {
		case "08", "57", "58": // connection, operator intervention, system
			return procure.Transient("unavailable", err)
		case "53": // insufficient resources
			return procure.Transient("overload", err)
		case "22": // data exception
			return procure.Deterministic("encoding", err)
		case "23": // integrity constraint
			return procure.Deterministic("constraint", err)
		}
		return procure.Deterministic("statement", err)
	}
	// pgx refuses a value it cannot encode for its column (an int above
	// int4) before sending: the same value fails every time. It has no
	// error type for it, only this wording (extended_query_builder.go).
	if strings.Contains(err.Error(), "failed to encode args[") {
		return procure.Deterministic("encoding", err)
	}
	var ne net.Error
	var conn *pgconn.ConnectError
	switch {
	case pgconn.Timeout(err), errors.Is(err, context.DeadlineExceeded):
		return procure.Transient("timeout", err)
	case errors.As(err, &conn), errors.As(err, &ne), pgconn.SafeToRetry(err):
		return procure.Transient("unavailable", err)
	}
	if class, reason := procure.Classify(err); reason != "unknown" {
		return &procure.ClassifiedError{Class: class, Reason: reason, Err: err}
	}
	return err
}
