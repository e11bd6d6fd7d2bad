package console

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/supplywatch/supplywatch/procure"
)

func (h *routingHandlers) listTeams(g *gin.Context) {
	ts, err := h.store.FindTeams(g.Request.Context(), principalOf(g).Tenant)
	if err != nil {
		h.fail(g, err)
		return
	}
	h.respond(g, http.StatusOK, gin.H{"teams": ts})
}

// saveTeam creates a team (no id) or updates one (id and version).
func (h *routingHandlers) saveTeam(g *gin.Context) {
	var in struct {
		ID              int64    `json:"id"`
		Version         int64    `json:"version"`
		Name            string   `json:"name"`
		Queue           string   `json:"queue"`
		DefaultAssignee string   `json:"default_assignee"`
		Members         []string `json:"members"`
	}
	if err := bind(g, &in); err != nil {
		h.fail(g, err)
		return
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 64 {
		h.fail(g, invalid("name", "must be 1 to 64 characters"))
		return
	}
	if in.ID != 0 && in.Version == 0 {
		h.fail(g, invalid("version", "send the version you read to update a team"))
		return
	}
	if in.DefaultAssignee != "" && len(in.Members) > 0 && !slices.Contains(in.Members, in.DefaultAssignee) {
		h.fail(g, invalid("default_assignee", "must be one of the members"))
		return
	}
	p := principalOf(g)
	t := &procure.Team{ID: in.ID, Version: in.Version, Tenant: p.Tenant, Name: in.Name, Queue: in.Queue, DefaultAssignee: in.DefaultAssignee, Members: in.Members}
	if err := h.store.SaveTeam(g.Request.Context(), t); err != nil {
		h.fail(g, err)
		return
	}
	h.audit(g, "team.save", fmt.Sprintf("team/%d", t.ID), in)
	h.respond(g, http.StatusOK, t)
}

func (h *routingHandlers) listRoutingRules(g *gin.Context) {
	rs, err := h.store.FindRoutingRules(g.Request.Context(), principalOf(g).Tenant)
	if err != nil {
		h.fail(g, err)
		return
	}
	h.respond(g, http.StatusOK, gin.H{"rules": rs})
}

func (h *routingHandlers) createRoutingRule(g *gin.Context) {
	var in struct {
		Position int    `json:"position"`
		Rule     string `json:"rule"`
		Plant    string `json:"plant"`
		Supplier string `json:"supplier"`
		Segment  string `json:"segment"`
		Severity string `json:"severity"`
		Team     string `json:"team"`
		Assignee string `json:"assignee"`
	}
	if err := bind(g, &in); err != nil {
		h.fail(g, err)
		return
	}
	if strings.TrimSpace(in.Team) == "" {
		h.fail(g, invalid("team", "is required"))
		return
	}
	if in.Severity != "" && !slices.Contains(procure.Severities, in.Severity) {
		h.fail(g, invalid("severity", "%q is not one of %s", in.Severity, strings.Join(procure.Severities, ", ")))
		return
	}
	if in.Position == 0 {
		in.Position = 100
	}
	p := principalOf(g)
	in.Segment = strings.TrimSpace(in.Segment)
	if err := h.checkSegment(p.Tenant, in.Segment); err != nil {
		h.fail(g, err)
		return
	}
	r := &procure.RoutingRule{Tenant: p.Tenant, Position: in.Position, Rule: in.Rule, Plant: in.Plant, Supplier: in.Supplier, Segment: in.Segment,
		Severity: in.Severity, Team: strings.TrimSpace(in.Team), Assignee: in.Assignee, CreatedBy: p.Name()}
	if err := h.store.CreateRoutingRule(g.Request.Context(), r); err != nil {
		h.fail(g, err)
		return
	}
	h.audit(g, "routing.create", fmt.Sprintf("routing_rule/%d", r.ID), r)
	h.respond(g, http.StatusCreated, r)
}

func (h *routingHandlers) deleteRoutingRule(g *gin.Context) {
	id, err := pathID(g, "id")
	if err != nil {
		h.fail(g, err)
		return
	}
	if err := h.store.DeleteRoutingRule(g.Request.Context(), principalOf(g).Tenant, id); err != nil {
		h.fail(g, err)
		return
	}
	h.audit(g, "routing.delete", fmt.Sprintf("routing_rule/%d", id), nil)
	g.Status(http.StatusNoContent)
}
