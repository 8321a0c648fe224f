package server_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/complyhq/comply"
)

// TestVerifyProgress: POST /v1/verify with Accept: application/x-ndjson
// streams progress lines, then the result; the access log has the start
// (count -1) and the end (the entries read). Without a ledger, 409.
func TestVerifyProgress(t *testing.T) {
	e := newEnv(t, envOpts{signed: true})
	ins := make([]comply.Interaction, 300)
	for i := range ins {
		ins[i] = comply.Interaction{Input: "q", Output: "a", Provider: "p", Model: "m"}
	}
	if _, err := e.l.LogBatch(t.Context(), ins...); err != nil {
		t.Fatal(err)
	}
	if _, err := e.l.Ledger().Checkpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	status, b, hdr := e.do("POST", "/v1/verify", "admin-secret", "", "Accept", "application/x-ndjson")
	if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/x-ndjson") {
		t.Fatalf("verify: %d %s %s", status, hdr.Get("Content-Type"), b)
	}
	type line struct {
		Progress *struct{ Read, Total int64 }
		Result   *struct {
			OK      bool
			Entries int64
		}
		Error string
	}
	var ls []line
	for _, raw := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var l line
		if err := json.Unmarshal(raw, &l); err != nil {
			t.Fatalf("line %q: %v", raw, err)
		}
		ls = append(ls, l)
	}
	if len(ls) < 2 || ls[0].Progress == nil || ls[0].Progress.Read != 0 || ls[0].Progress.Total != 300 {
		t.Fatalf("first line: %s", b)
	}
	last := ls[len(ls)-1]
	if last.Result == nil || !last.Result.OK || last.Result.Entries != 300 || last.Error != "" {
		t.Fatalf("last line: %s", b)
	}
	if p := ls[len(ls)-2].Progress; p == nil || p.Read != 300 {
		t.Errorf("the last progress line is not the entries read: %s", b)
	}
	var prev int64
	for _, l := range ls[:len(ls)-1] {
		if l.Progress == nil || l.Progress.Read < prev || l.Progress.Read > l.Progress.Total {
			t.Fatalf("progress lines: %s", b)
		}
		prev = l.Progress.Read
	}
	var counts []int64
	for _, r := range e.access.all() {
		if r.Route == "POST /v1/verify" {
			counts = append(counts, r.Count)
		}
	}
	if len(counts) != 2 || counts[0] != -1 || counts[1] != 300 {
		t.Errorf("access records of the verify: counts %v, want [-1 300]", counts)
	}

	// The last verify is the integrity page's; without a ledger, 409.
	if status, b, _ := e.do("GET", "/v1/integrity", "read-secret", ""); status != 200 || !strings.Contains(string(b), `"ok":true`) {
		t.Errorf("integrity: %d %s", status, b)
	}
	plain := newEnv(t, envOpts{})
	if status, _, _ := plain.do("POST", "/v1/verify", "admin-secret", "", "Accept", "application/x-ndjson"); status != 409 {
		t.Errorf("verify without a ledger: %d, want 409", status)
	}
}
