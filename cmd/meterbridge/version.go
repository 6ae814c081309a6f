package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime/debug"
	"strings"

	"go.temporal.io/sdk/temporal"
)

// revision is the VCS commit when the build could not stamp one itself (a container build
// without .git passes it with -ldflags "-X main.revision=..."); the build's own VCS stamp
// wins.
var revision string

// buildVersion is what `meterbridge version` reports.
type buildVersion struct {
	// Version is the module version ("v1.2.3", or "(devel)" for a build from a work tree).
	Version string `json:"version"`
	// Commit is the VCS revision the binary was built from; Modified marks uncommitted
	// changes in that work tree; CommitTime is the commit's time.
	Commit     string `json:"commit,omitempty"`
	CommitTime string `json:"commit_time,omitempty"`
	Modified   bool   `json:"modified,omitempty"`
	Go         string `json:"go"`
	// TemporalSDK is the Temporal Go SDK version the binary speaks to Temporal with.
	TemporalSDK string `json:"temporal_sdk"`
}

// readVersion reads the build information the Go toolchain stamps into every binary.
func readVersion(bi *debug.BuildInfo, ok bool) buildVersion {
	v := buildVersion{Version: "unknown", Commit: revision, TemporalSDK: "v" + temporal.SDKVersion}
	if !ok || bi == nil {
		return v
	}
	v.Go = bi.GoVersion
	if bi.Main.Version != "" {
		v.Version = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Commit = s.Value
		case "vcs.time":
			v.CommitTime = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

func (v buildVersion) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "meterbridge %s", v.Version)
	if v.Commit != "" {
		fmt.Fprintf(&b, " (commit %s", v.Commit)
		if v.CommitTime != "" {
			fmt.Fprintf(&b, ", %s", v.CommitTime)
		}
		if v.Modified {
			b.WriteString(", modified")
		}
		b.WriteString(")")
	} else {
		b.WriteString(" (commit unknown: built without VCS information)")
	}
	if v.Go != "" {
		fmt.Fprintf(&b, "\n%s", v.Go)
	}
	fmt.Fprintf(&b, "\nTemporal Go SDK %s", v.TemporalSDK)
	return b.String()
}

func runVersion(args []string) error {
	fs := newFlags("version", "", "Print meterbridge's module version, the VCS commit it was built from, the Go version and the Temporal Go SDK version.")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	v := readVersion(debug.ReadBuildInfo())
	if *asJSON {
		return json.NewEncoder(os.Stdout).Encode(v)
	}
	fmt.Println(v)
	return nil
}
