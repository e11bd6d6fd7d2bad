package console

import (
	"github.com/gin-gonic/gin"
	"github.com/supplywatch/supplywatch/procure"
)

// Guard is the console's authentication and role check for routes that
// other packages serve under /api (the KPI API): the session or API token
// must belong to one of roles; cookie sessions need the CSRF header on
// unsafe methods.
func (c *Console) Guard(roles ...string) gin.HandlerFunc {
	return func(g *gin.Context) {
		c.guard(route{roles: roles, method: g.Request.Method, path: g.FullPath()})(g)
	}
}

// TenantOf is the tenant of the principal Guard admitted ("" if none).
func TenantOf(g *gin.Context) string {
	if p := principalOf(g); p != nil {
		return p.Tenant
	}
	return ""
}

// TenantWide are the roles that see a whole tenant (no plant or supplier
// scope): the ones that may read tenant-wide KPIs.
var TenantWide = []string{procure.RoleProcurement, procure.RoleExecutive, procure.RoleOncall, procure.RoleAdmin}
