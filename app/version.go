package app

import "runtime/debug"

// Version is the release of this binary, set at build time:
//
//	go build -ldflags "-X github.com/supplywatch/supplywatch/app.Version=v0.2.0" ./cmd/supplywatch
//
// (`make build` sets it and Revision from git). Without it, "dev".
var Version = "dev"

// Revision is the VCS revision, set at build time like Version; without
// it, the revision the Go toolchain recorded (none with -buildvcs=false).
var Revision = ""

// BuildInfo says what a binary was built from.
type BuildInfo struct {
	Version   string `json:"version"`
	Revision  string `json:"revision"` // VCS revision, "unknown" outside a checkout
	Modified  bool   `json:"modified"` // built from a tree with uncommitted changes
	Time      string `json:"time"`     // commit time (RFC 3339), if known
	GoVersion string `json:"go_version"`
}

// Build returns this binary's BuildInfo, from Version and the build
// information the Go toolchain records.
func Build() BuildInfo {
	b := BuildInfo{Version: Version, Revision: Revision}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		info = &debug.BuildInfo{}
	}
	b.GoVersion = info.GoVersion
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			if b.Revision == "" {
				b.Revision = s.Value
			}
		case "vcs.modified":
			b.Modified = s.Value == "true"
		case "vcs.time":
			b.Time = s.Value
		}
	}
	if b.Revision == "" {
		b.Revision = "unknown"
	}
	return b
}
