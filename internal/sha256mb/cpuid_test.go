//go:build linux && amd64 && !purego

package sha256mb

import (
	"os"
	"regexp"
	"testing"
)

// TestCPUID holds hasSHA and genuineIntel to what Linux reports of the
// processor.
func TestCPUID(t *testing.T) {
	info, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		t.Skip(err)
	}
	sha := regexp.MustCompile(`(?m)^flags\t*:.* sha_ni( |$)`).Match(info)
	if got := hasSHA(); got != sha {
		t.Errorf("hasSHA() = %v; /proc/cpuinfo says sha_ni: %v", got, sha)
	}
	intel := regexp.MustCompile(`(?m)^vendor_id\t*: GenuineIntel$`).Match(info)
	if got := genuineIntel(); got != intel {
		t.Errorf("genuineIntel() = %v; /proc/cpuinfo says GenuineIntel: %v", got, intel)
	}
}
