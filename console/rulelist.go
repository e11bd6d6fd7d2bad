package console

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/supplywatch/supplywatch/internal/httperr"
	"github.com/supplywatch/supplywatch/procure"
)

// catalog is the rule catalog of this process, or nil when it loads no
// rules.
func (h *rulesHandlers) catalog() procure.RuleCatalog {
	rc, _ := h.rulebook.(procure.RuleCatalog)
	return rc
}

// listRules answers the rules and SLAs in force, each with the supplier
// segment it covers, and the segments of the caller's tenant.
func (h *rulesHandlers) listRules(g *gin.Context) {
	rc := h.catalog()
	if rc == nil {
		httperr.Abort(g, http.StatusServiceUnavailable, httperr.Detail{Code: "unavailable", Message: "this process does not load the rule files"})
		return
	}
	rs, segs := rc.ListRules(), rc.SegmentsFor(principalOf(g).Tenant)
	if rs == nil {
		rs = []procure.RuleInfo{}
	}
	if segs == nil {
		segs = []procure.SegmentInfo{}
	}
	g.JSON(http.StatusOK, gin.H{"rules": rs, "segments": segs})
}

// checkSegment checks the segment of a routing rule: "", NAME or !NAME of
// a segment defined for tenant.
func (h *rulesHandlers) checkSegment(tenant, seg string) error {
	if seg == "" {
		return nil
	}
	rc := h.catalog()
	if rc == nil {
		return invalid("segment", "this process does not load the rule files, so it cannot check segment %q", seg)
	}
	name := strings.TrimPrefix(seg, "!")
	var names []string
	for _, s := range rc.SegmentsFor(tenant) {
		if s.Name == name {
			return nil
		}
		names = append(names, s.Name)
	}
	if len(names) == 0 {
		return invalid("segment", "%q is not defined: the rule files define no segment", name)
	}
	return invalid("segment", "%q is not a segment of the rule files (defined: %s); write NAME, or !NAME for every supplier outside it", seg, strings.Join(names, ", "))
}
