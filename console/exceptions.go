package console

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/supplywatch/supplywatch/internal/httperr"
	"github.com/supplywatch/supplywatch/procure"
)

// parseDuration accepts Go durations and whole days ("3d").
func parseDuration(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q is not a number of days", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration like 4h or 3d", s)
	}
	return d, nil
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// queueFilter reads the queue's query parameters.
func (h *queueHandlers) queueFilter(g *gin.Context, p *Principal) (procure.QueueFilter, error) {
	now := h.now()
	f := procure.QueueFilter{Now: now, Rule: g.Query("rule"), Plant: g.Query("plant"), Supplier: g.Query("supplier"),
		Team: g.Query("team"), Assignee: g.Query("assignee"), GroupKey: g.Query("group"), SubjectKind: g.Query("subject_kind")}
	if f.Assignee == "me" {
		f.Assignee = p.Name()
	}
	for _, s := range splitList(g.Query("state")) {
		if !slices.Contains([]string{procure.ExceptionOpen, procure.ExceptionAcknowledged, procure.ExceptionResolved, procure.ExceptionIgnored}, s) {
			return f, invalid("state", "%q is not one of open, acknowledged, resolved, ignored", s)
		}
		f.States = append(f.States, s)
	}
	for _, s := range splitList(g.Query("severity")) {
		if !slices.Contains(procure.Severities, s) {
			return f, invalid("severity", "%q is not one of %s", s, strings.Join(procure.Severities, ", "))
		}
		f.Severities = append(f.Severities, s)
	}
	if v := g.Query("age"); v != "" {
		d, err := parseDuration(v)
		if err != nil {
			return f, invalid("age", "%v", err)
		}
		f.OlderThan = d
	}
	if v := g.Query("sla_due"); v != "" {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			f.SLADueBefore = t
		} else if d, err := parseDuration(v); err == nil {
			f.SLADueBefore = now.Add(d)
		} else {
			return f, invalid("sla_due", "%q is neither a time (RFC 3339) nor a duration like 4h", v)
		}
	}
	if v := g.Query("snoozed"); v != "" {
		if v != "include" && v != "exclude" {
			return f, invalid("snoozed", "must be include or exclude")
		}
		f.IncludeSnoozed = v == "include"
	}
	if v := g.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return f, invalid("limit", "must be 1 to 500")
		}
		f.Limit = n
	}
	if v := g.Query("cursor"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		var cur procure.Cursor
		if err != nil || json.Unmarshal(b, &cur) != nil {
			return f, invalid("cursor", "is not a cursor this API returned")
		}
		f.After = &cur
	}
	if q := strings.TrimSpace(g.Query("q")); q != "" {
		f.Documents = []string{q}
		docs, err := h.facts.CorrelatedDocuments(g.Request.Context(), p.Tenant, q)
		if err != nil {
			return f, err
		}
		for _, d := range docs {
			if !slices.Contains(f.Documents, d) {
				f.Documents = append(f.Documents, d)
			}
		}
	}
	return f, nil
}

func encodeCursor(cur *procure.Cursor) string {
	if cur == nil {
		return ""
	}
	b, _ := json.Marshal(cur)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (h *queueHandlers) listExceptions(g *gin.Context) {
	p := principalOf(g)
	f, err := h.queueFilter(g, p)
	if err != nil {
		h.fail(g, err)
		return
	}
	if g.Query("kpi") != "" && h.drill == nil {
		h.respond(g, http.StatusServiceUnavailable, gin.H{"error": gin.H{"code": "unavailable", "message": "this process cannot read the KPI figures"}})
		return
	}
	drill, err := h.drillFilter(g, p, &f)
	if err != nil {
		h.fail(g, err)
		return
	}
	if drill != nil && len(f.Documents)+len(f.IDs) == 0 {
		// Nothing behind the figure: no exception either (an empty set
		// must not mean "no filter").
		h.respond(g, http.StatusOK, gin.H{"items": []any{}, "next_cursor": "", "drill": drill})
		return
	}
	items, next, err := h.store.FindQueue(g.Request.Context(), p.Scope(), f)
	if err != nil {
		h.fail(g, err)
		return
	}
	out := gin.H{"items": items, "next_cursor": encodeCursor(next)}
	if drill != nil {
		out["drill"] = drill
	}
	h.respond(g, http.StatusOK, out)
}

// detail is the exception detail: what, why, the document chain, the
// activity and the retries.
type detail struct {
	Exception *procure.QueueItem      `json:"exception"`
	Rule      *procure.RuleInfo       `json:"rule"`
	Chain     *procure.Chain          `json:"chain"`
	Documents []*procure.Document     `json:"documents"`
	Timers    []*procure.Timer        `json:"timers"`
	Activity  []*procure.Activity     `json:"activity"`
	Retries   []*procure.Retry        `json:"retries"`
	Delivery  *procure.FailedDelivery `json:"delivery,omitempty"`
}

// subjectDoc splits a subject (po/4500012345/10) into kind and id.
func subjectDoc(subject string) (kind, id string) {
	parts := strings.SplitN(subject, "/", 3)
	if len(parts) < 2 {
		return "", ""
	}
	return parts[0], parts[1]
}

func (h *queueHandlers) getException(g *gin.Context) {
	id, err := pathID(g, "id")
	if err != nil {
		h.fail(g, err)
		return
	}
	p := principalOf(g)
	ctx, sc := g.Request.Context(), p.Scope()
	it, err := h.store.FindException(ctx, sc, id, h.now())
	if err != nil {
		h.fail(g, err)
		return
	}
	d := &detail{Exception: it, Timers: []*procure.Timer{}, Documents: []*procure.Document{}}
	if h.rulebook != nil {
		if ri, ok := h.rulebook.Describe(it.Rule); ok {
			d.Rule = &ri
		}
	}
	if d.Rule == nil {
		d.Rule = &procure.RuleInfo{ID: it.Rule, Kind: it.Kind, Title: it.Title}
	}
	if d.Activity, err = h.store.FindActivity(ctx, sc, id); err != nil {
		h.fail(g, err)
		return
	}
	if d.Chain, d.Documents, err = h.chainOf(ctx, sc, &it.Exception); err != nil {
		h.fail(g, err)
		return
	}
	kind, docID := subjectDoc(it.Subject)
	if kind != "" {
		if d.Timers, err = h.store.FindTimers(ctx, sc, kind+"/"+docID); err != nil {
			h.fail(g, err)
			return
		}
	}
	if d.Retries, err = h.retriesOf(ctx, sc, id); err != nil {
		h.fail(g, err)
		return
	}
	if kind == "message" {
		fd, err := h.facts.FailedDelivery(ctx, p.Tenant, docID)
		if err != nil && procure.ErrorCode(err) != procure.ENOTFOUND {
			h.fail(g, err)
			return
		}
		d.Delivery = fd
	}
	g.Header("ETag", etag(it.Version))
	h.respond(g, http.StatusOK, d)
}

func etag(v int64) string { return fmt.Sprintf(`"%d"`, v) }

// timelineQuery is the timeline of an exception: its PO, its subject
// document, the order's ASNs and invoices.
func (h *queueHandlers) exceptionTimeline(g *gin.Context) {
	id, err := pathID(g, "id")
	if err != nil {
		h.fail(g, err)
		return
	}
	p := principalOf(g)
	ctx, sc := g.Request.Context(), p.Scope()
	it, err := h.store.FindException(ctx, sc, id, h.now())
	if err != nil {
		h.fail(g, err)
		return
	}
	docs := documentsOf(&it.Exception)
	// A transaction's events lie within weeks of the exception: the window
	// prunes partitions.
	// A plant user sees the events of their plants only (and the spans
	// of those), even about an exception they may see.
	q := procure.TimelineQuery{Documents: docs, Plants: p.Plants, Since: it.FirstSeen.AddDate(0, 0, -90)}
	if until := it.LastSeen.AddDate(0, 0, 30); until.Before(h.now()) {
		q.Until = until
	}
	entries, err := h.facts.Timeline(ctx, p.Tenant, q)
	if err != nil {
		h.fail(g, err)
		return
	}
	h.respond(g, http.StatusOK, gin.H{"documents": docs, "entries": entries})
}

// documentsOf is the document ids an exception is about.
func documentsOf(x *procure.Exception) []string {
	var docs []string
	if x.PO != "" {
		docs = append(docs, x.PO)
	}
	if _, id := subjectDoc(x.Subject); id != "" && !slices.Contains(docs, id) {
		docs = append(docs, id)
	}
	return docs
}

func (h *queueHandlers) timeline(g *gin.Context) {
	p := principalOf(g)
	q := procure.TimelineQuery{Plants: p.Plants}
	if v := g.Query("correlation_id"); v != "" {
		q.Correlations = []string{v}
	}
	if v := g.Query("document_id"); v != "" {
		q.Documents = []string{v}
	}
	if len(q.Correlations)+len(q.Documents) == 0 {
		h.fail(g, invalid("correlation_id", "give correlation_id or document_id"))
		return
	}
	if v := g.Query("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			h.fail(g, invalid("since", "must be an RFC 3339 time"))
			return
		}
		q.Since = t
	}
	entries, err := h.facts.Timeline(g.Request.Context(), p.Tenant, q)
	if err != nil {
		h.fail(g, err)
		return
	}
	h.respond(g, http.StatusOK, gin.H{"entries": entries})
}

// actionBody is an action on an exception. The version comes from If-Match
// or the body; one of them is required.
type actionBody struct {
	Action   string     `json:"action"`
	Version  int64      `json:"version"`
	Assignee *string    `json:"assignee"`
	Until    *time.Time `json:"until"`
	For      string     `json:"for"`
	Reason   string     `json:"reason"`
}

func (h *queueHandlers) actionOf(p *Principal, in actionBody, version int64) (procure.Action, error) {
	a := procure.Action{Kind: in.Action, Version: version, Reason: strings.TrimSpace(in.Reason), Actor: p.Actor(), At: h.now()}
	if !slices.Contains(procure.ActionKinds, a.Kind) {
		return a, invalid("action", "%q is not one of %s", in.Action, strings.Join(procure.ActionKinds, ", "))
	}
	if version <= 0 {
		return a, invalid("version", "send the version you read (If-Match header or version field)")
	}
	switch a.Kind {
	case procure.ActAssign:
		if in.Assignee == nil {
			return a, invalid("assignee", "is required (empty to unassign)")
		}
		a.Assignee = strings.TrimSpace(*in.Assignee)
		if a.Assignee == "me" {
			a.Assignee = p.Name()
		}
	case procure.ActSnooze:
		switch {
		case in.Until != nil:
			a.Until = *in.Until
		case in.For != "":
			d, err := parseDuration(in.For)
			if err != nil {
				return a, invalid("for", "%v", err)
			}
			a.Until = a.At.Add(d)
		default:
			return a, invalid("until", "give until (a time) or for (a duration like 4h)")
		}
	case procure.ActResolve:
		if a.Reason == "" {
			return a, invalid("reason", "a resolution needs a reason")
		}
	}
	return a, nil
}

func ifMatch(g *gin.Context) int64 {
	h := strings.Trim(strings.TrimPrefix(g.GetHeader("If-Match"), "W/"), `"`)
	v, _ := strconv.ParseInt(h, 10, 64)
	return v
}

func (h *queueHandlers) act(g *gin.Context) {
	id, err := pathID(g, "id")
	if err != nil {
		h.fail(g, err)
		return
	}
	var in actionBody
	if err := bind(g, &in); err != nil {
		h.fail(g, err)
		return
	}
	version := ifMatch(g)
	if version == 0 {
		version = in.Version
	} else if in.Version != 0 && in.Version != version {
		h.fail(g, invalid("version", "differs from If-Match"))
		return
	}
	p := principalOf(g)
	a, err := h.actionOf(p, in, version)
	if err != nil {
		h.fail(g, err)
		return
	}
	it, err := h.store.Act(g.Request.Context(), p.Scope(), id, a)
	if err != nil {
		if it != nil {
			g.Header("ETag", etag(it.Version))
			h.fail(g, err, it)
			return
		}
		h.fail(g, err)
		return
	}
	h.audit(g, "exception."+a.Kind, fmt.Sprintf("exception/%d", id), gin.H{"version": a.Version, "assignee": a.Assignee, "reason": a.Reason, "until": a.Until})
	g.Header("ETag", etag(it.Version))
	h.respond(g, http.StatusOK, it)
}

func (h *queueHandlers) comment(g *gin.Context) {
	id, err := pathID(g, "id")
	if err != nil {
		h.fail(g, err)
		return
	}
	var in struct {
		Note string `json:"note"`
	}
	if err := bind(g, &in); err != nil {
		h.fail(g, err)
		return
	}
	note := strings.TrimSpace(in.Note)
	if note == "" || len(note) > 4000 {
		h.fail(g, invalid("note", "must be 1 to 4000 characters"))
		return
	}
	p := principalOf(g)
	a, err := h.store.AddNote(g.Request.Context(), p.Scope(), id, p.Actor(), "comment", note, h.now())
	if err != nil {
		h.fail(g, err)
		return
	}
	h.audit(g, "exception.comment", fmt.Sprintf("exception/%d", id), gin.H{"activity": a.ID})
	h.respond(g, http.StatusCreated, a)
}

// bulkResult is the outcome of one exception of a bulk action.
type bulkResult struct {
	ID        int64              `json:"id"`
	OK        bool               `json:"ok"`
	Error     *httperr.Body      `json:"error,omitempty"`
	Exception *procure.QueueItem `json:"exception,omitempty"`
}

// bulkAct applies one action to several exceptions, each with the version
// the person read; each succeeds or fails on its own.
func (h *queueHandlers) bulkAct(g *gin.Context) {
	var in struct {
		actionBody
		Items []struct {
			ID      int64 `json:"id"`
			Version int64 `json:"version"`
		} `json:"items"`
	}
	if err := bind(g, &in); err != nil {
		h.fail(g, err)
		return
	}
	if len(in.Items) == 0 || len(in.Items) > 500 {
		h.fail(g, invalid("items", "give 1 to 500 items with id and version"))
		return
	}
	p := principalOf(g)
	out := h.actOnMany(g, p, in.actionBody, func(yield func(id, version int64) bool) {
		for _, it := range in.Items {
			if !yield(it.ID, it.Version) {
				return
			}
		}
	})
	if out == nil {
		return
	}
	h.respond(g, http.StatusOK, gin.H{"results": out})
}

func (h *queueHandlers) actOnMany(g *gin.Context, p *Principal, in actionBody, items func(func(id, version int64) bool)) []bulkResult {
	if _, err := h.actionOf(p, in, 1); err != nil {
		h.fail(g, err)
		return nil
	}
	out := []bulkResult{}
	var ok []int64
	for id, version := range items {
		a, _ := h.actionOf(p, in, version)
		r := bulkResult{ID: id}
		it, err := h.store.Act(g.Request.Context(), p.Scope(), id, a)
		if err != nil {
			r.Error, r.Exception = errorOf(err), it
			if procure.ErrorCode(err) == procure.EINTERNAL {
				h.log.Error("bulk action failed", "exception", id, "err", err)
			}
		} else {
			r.OK, r.Exception = true, it
			ok = append(ok, id)
		}
		out = append(out, r)
	}
	h.audit(g, "exception.bulk_"+in.Action, "exceptions", gin.H{"ids": ok, "reason": in.Reason, "assignee": in.Assignee})
	return out
}

func (h *queueHandlers) listGroups(g *gin.Context) {
	gs, err := h.store.FindGroups(g.Request.Context(), principalOf(g).Scope())
	if err != nil {
		h.fail(g, err)
		return
	}
	h.respond(g, http.StatusOK, gin.H{"groups": gs})
}

// groupAct acts on every active exception of a group within the scope, at
// the versions read now: a group is acted on as one.
func (h *queueHandlers) groupAct(g *gin.Context) {
	var in struct {
		actionBody
		Group string `json:"group"`
	}
	if err := bind(g, &in); err != nil {
		h.fail(g, err)
		return
	}
	if in.Group == "" {
		h.fail(g, invalid("group", "is required"))
		return
	}
	p := principalOf(g)
	var items []*procure.QueueItem
	f := procure.QueueFilter{GroupKey: in.Group, Limit: 500, Now: h.now(), IncludeSnoozed: true}
	for {
		page, next, err := h.store.FindQueue(g.Request.Context(), p.Scope(), f)
		if err != nil {
			h.fail(g, err)
			return
		}
		items = append(items, page...)
		if next == nil || len(items) >= 5000 {
			break
		}
		f.After = next
	}
	if len(items) == 0 {
		h.fail(g, procure.Errorf(procure.ENOTFOUND, "group %q has no active exceptions you can see", in.Group))
		return
	}
	out := h.actOnMany(g, p, in.actionBody, func(yield func(id, version int64) bool) {
		for _, it := range items {
			if !yield(it.ID, it.Version) {
				return
			}
		}
	})
	if out == nil {
		return
	}
	h.respond(g, http.StatusOK, gin.H{"results": out})
}

func (h *queueHandlers) listViews(g *gin.Context) {
	vs, err := h.store.FindViews(g.Request.Context(), principalOf(g).User.ID)
	respondList(h.kit, g, "views", vs, err)
}

func (h *queueHandlers) saveView(g *gin.Context) {
	var in struct {
		Name  string `json:"name"`
		Query string `json:"query"`
	}
	if err := bind(g, &in); err != nil {
		h.fail(g, err)
		return
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 80 {
		h.fail(g, invalid("name", "must be 1 to 80 characters"))
		return
	}
	if len(in.Query) > 2000 {
		h.fail(g, invalid("query", "is too long"))
		return
	}
	v := &procure.SavedView{UserID: principalOf(g).User.ID, Name: in.Name, Query: strings.TrimPrefix(in.Query, "?")}
	if err := h.store.SaveView(g.Request.Context(), v); err != nil {
		h.fail(g, err)
		return
	}
	h.audit(g, "view.save", fmt.Sprintf("view/%d", v.ID), gin.H{"name": v.Name, "query": v.Query})
	h.respond(g, http.StatusCreated, v)
}

func (h *queueHandlers) deleteView(g *gin.Context) {
	id, err := pathID(g, "id")
	if err != nil {
		h.fail(g, err)
		return
	}
	if err := h.store.DeleteView(g.Request.Context(), principalOf(g).User.ID, id); err != nil {
		h.fail(g, err)
		return
	}
	h.audit(g, "view.delete", fmt.Sprintf("view/%d", id), nil)
	g.Status(http.StatusNoContent)
}

func (h *queueHandlers) kpis(g *gin.Context) {
	k, err := h.store.KPIs(g.Request.Context(), principalOf(g).Scope(), h.now())
	if err != nil {
		h.fail(g, err)
		return
	}
	h.respond(g, http.StatusOK, k)
}
