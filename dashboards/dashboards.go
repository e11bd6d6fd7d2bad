// Package dashboards holds the Grafana dashboards of supplywatch (JSON for
// the grafana-clickhouse-datasource plugin, datasource uid
// supplywatch-clickhouse) and their provisioning files, embedded so the app
// or a deploy tool can write them out. The panels read the KPI rollup and
// counting tables of package kpi's migrations.
//
// It leaves serving them to Grafana; ExpandMacros mirrors the plugin's
// macros so tests can run every panel's SQL against ClickHouse.
package dashboards

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// DatasourceUID is the fixed uid of the ClickHouse datasource.
const DatasourceUID = "supplywatch-clickhouse"

// FS holds json/*.json and provisioning/**.yaml.
//
//go:embed json/*.json provisioning
var FS embed.FS

// Panel is one query of a dashboard panel.
type Panel struct {
	Dashboard string
	Title     string
	SQL       string
	// DatasourceUID is the panel's (or target's) datasource uid.
	DatasourceUID string
}

type dashboardJSON struct {
	UID    string `json:"uid"`
	Panels []struct {
		Title      string `json:"title"`
		Datasource struct {
			UID string `json:"uid"`
		} `json:"datasource"`
		Targets []struct {
			RawSQL     string `json:"rawSql"`
			Datasource struct {
				UID string `json:"uid"`
			} `json:"datasource"`
		} `json:"targets"`
	} `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Query string `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

// Panels returns every panel query and every template-variable query of
// the embedded dashboards.
func Panels() ([]Panel, error) {
	var out []Panel
	err := fs.WalkDir(FS, "json", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := FS.ReadFile(path)
		if err != nil {
			return err
		}
		var dj dashboardJSON
		if err := json.Unmarshal(b, &dj); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for _, p := range dj.Panels {
			for _, t := range p.Targets {
				uid := t.Datasource.UID
				if uid == "" {
					uid = p.Datasource.UID
				}
				out = append(out, Panel{Dashboard: dj.UID, Title: p.Title, SQL: t.RawSQL, DatasourceUID: uid})
			}
		}
		for _, v := range dj.Templating.List {
			out = append(out, Panel{Dashboard: dj.UID, Title: "variable " + v.Name, SQL: v.Query, DatasourceUID: DatasourceUID})
		}
		return nil
	})
	return out, err
}

var (
	timeFilterRE   = regexp.MustCompile(`\$__timeFilter\(([^)]+)\)`)
	dateFilterRE   = regexp.MustCompile(`\$__dateFilter\(([^)]+)\)`)
	timeIntervalRE = regexp.MustCompile(`\$__timeInterval\(([^)]+)\)`)
	variableRE     = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)`)
)

// ExpandMacros replaces the grafana-clickhouse-datasource macros as the
// plugin does ($__timeFilter, $__dateFilter, $__fromTime, $__toTime,
// $__interval_s, $__timeInterval) and then the template variables vars.
func ExpandMacros(sql string, from, to time.Time, interval time.Duration, vars map[string]string) string {
	f, t := strconv.FormatInt(from.Unix(), 10), strconv.FormatInt(to.Unix(), 10)
	is := strconv.FormatInt(max(int64(interval/time.Second), 1), 10)
	sql = timeFilterRE.ReplaceAllString(sql, "$1 >= toDateTime("+f+") AND $1 <= toDateTime("+t+")")
	sql = dateFilterRE.ReplaceAllString(sql, "$1 >= toDate(toDateTime("+f+")) AND $1 <= toDate(toDateTime("+t+"))")
	sql = timeIntervalRE.ReplaceAllString(sql, "toStartOfInterval(toDateTime($1), INTERVAL "+is+" second)")
	sql = strings.NewReplacer("$__fromTime", "toDateTime("+f+")", "$__toTime", "toDateTime("+t+")", "$__interval_s", is).Replace(sql)
	return variableRE.ReplaceAllStringFunc(sql, func(m string) string {
		sub := variableRE.FindStringSubmatch(m)
		name := sub[1] + sub[2]
		if v, ok := vars[name]; ok {
			return v
		}
		return m
	})
}
