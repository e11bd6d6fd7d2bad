package console

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/supplywatch/supplywatch/procure"
)

func (c *Console) listTeams(g *gin.Context) {
	ts, err := c.store.FindTeams(g.Request.Context(), principalOf(g).Tenant)
	if err != nil {
		c.fail(g, err)
		return
	}
	c.respond(g, http.StatusOK, gin.H{"teams": ts})
}

// saveTeam creates a team (no id) or updates one (id and version).
func (c *Console) saveTeam(g *gin.Context) {
	var in struct {
		ID              int64    `json:"id"`
		Version         int64    `json:"version"`
		Name            string   `json:"name"`
		Queue           string   `json:"queue"`
		DefaultAssignee string   `json:"default_assignee"`
		Members         []string `json:"members"`
	}
	if err := bind(g, &in); err != nil {
		c.fail(g, err)
		return
	}
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 64 {
		c.fail(g, invalid("name", "must be 1 to 64 characters"))
		return
	}
	if in.ID != 0 && in.Version == 0 {
		c.fail(g, invalid("version", "send the version you read to update a team"))
		return
	}
	if in.DefaultAssignee != "" && len(in.Members) > 0 && !slices.Contains(in.Members, in.DefaultAssignee) {
		c.fail(g, invalid("default_assignee", "must be one of the members"))
		return
	}
	p := principalOf(g)
	t := &procure.Team{ID: in.ID, Version: in.Version, Tenant: p.Tenant, Name: in.Name, Queue: in.Queue, DefaultAssignee: in.DefaultAssignee, Members: in.Members}
	if err := c.store.SaveTeam(g.Request.Context(), t); err != nil {
		c.fail(g, err)
		return
	}
	c.audit(g, "team.save", fmt.Sprintf("team/%d", t.ID), in)
	c.respond(g, http.StatusOK, t)
}

func (c *Console) listRoutingRules(g *gin.Context) {
	rs, err := c.store.FindRoutingRules(g.Request.Context(), principalOf(g).Tenant)
	if err != nil {
		c.fail(g, err)
		return
	}
	c.respond(g, http.StatusOK, gin.H{"rules": rs})
}

func (c *Console) createRoutingRule(g *gin.Context) {
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
		c.fail(g, err)
		return
	}
	if strings.TrimSpace(in.Team) == "" {
		c.fail(g, invalid("team", "is required"))
		return
	}
	if in.Severity != "" && !slices.Contains(procure.Severities, in.Severity) {
		c.fail(g, invalid("severity", "%q is not one of %s", in.Severity, strings.Join(procure.Severities, ", ")))
		return
	}
	if in.Position == 0 {
		in.Position = 100
	}
	p := principalOf(g)
	in.Segment = strings.TrimSpace(in.Segment)
	if err := c.checkSegment(p.Tenant, in.Segment); err != nil {
		c.fail(g, err)
		return
	}
	r := &procure.RoutingRule{Tenant: p.Tenant, Position: in.Position, Rule: in.Rule, Plant: in.Plant, Supplier: in.Supplier, Segment: in.Segment,
		Severity: in.Severity, Team: strings.TrimSpace(in.Team), Assignee: in.Assignee, CreatedBy: p.Name()}
	if err := c.store.CreateRoutingRule(g.Request.Context(), r); err != nil {
		c.fail(g, err)
		return
	}
	c.audit(g, "routing.create", fmt.Sprintf("routing_rule/%d", r.ID), r)
	c.respond(g, http.StatusCreated, r)
}

func (c *Console) deleteRoutingRule(g *gin.Context) {
	id, err := pathID(g, "id")
	if err != nil {
		c.fail(g, err)
		return
	}
	if err := c.store.DeleteRoutingRule(g.Request.Context(), principalOf(g).Tenant, id); err != nil {
		c.fail(g, err)
		return
	}
	c.audit(g, "routing.delete", fmt.Sprintf("routing_rule/%d", id), nil)
	g.Status(http.StatusNoContent)
}
