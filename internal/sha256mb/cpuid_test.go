//go:build linux && amd64 && !purego

package sha256mb

import (
	"os"
	"regexp"
	"testing"
)

// TestHasSHA holds hasSHA to the flags Linux reports for the processor.
func TestHasSHA(t *testing.T) {
	info, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		t.Skip(err)
	}
	want := regexp.MustCompile(`(?m)^flags\t*:.* sha_ni( |$)`).Match(info)
	if got := hasSHA(); got != want {
		t.Fatalf("hasSHA() = %v; /proc/cpuinfo says sha_ni: %v", got, want)
	}
}
