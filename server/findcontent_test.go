package server_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/complyhq/comply/server"
)

func TestFindByContent(t *testing.T) {
	var logBuf bytes.Buffer
	e := newEnv(t, envOpts{opts: func(o *server.Options) {
		o.Log = slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}})
	const secretIn, secretOut = "my secret prompt 4711", "a private answer 0815"
	ids := e.post(
		`{"input": "`+secretIn+`", "output": "`+secretOut+`", "provider": "p", "model": "m"}`,
		`{"input": "other", "output": "`+secretOut+`", "provider": "p", "model": "m"}`,
		`{"input": "other", "output": "another", "provider": "p", "model": "m"}`,
	)
	inHash, outHash := e.l.Hash(secretIn), e.l.Hash(secretOut)
	tests := []struct {
		name    string
		query   url.Values
		status  int
		wantIDs []string // newest first
	}{
		{"input text", url.Values{"input_text": {secretIn}}, 200, ids[:1]},
		{"output text", url.Values{"output_text": {secretOut}}, 200, []string{ids[1], ids[0]}},
		{"input hash", url.Values{"input_hash": {inHash}}, 200, ids[:1]},
		{"output hash", url.Values{"output_hash": {outHash}}, 200, []string{ids[1], ids[0]}},
		{"both", url.Values{"input_text": {"other"}, "output_hash": {outHash}}, 200, ids[1:2]},
		{"absent text", url.Values{"input_text": {"never said"}}, 200, nil},
		{"text and hash", url.Values{"input_text": {secretIn}, "input_hash": {inHash}}, 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, b, _ := e.do("GET", "/v1/entries?"+tt.query.Encode(), "read-secret", "")
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, b)
			}
			if status != 200 {
				if bytes.Contains(b, []byte(secretIn)) {
					t.Errorf("the error quotes the text: %s", b)
				}
				return
			}
			var got struct{ Entries []struct{ ID string } }
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			var gotIDs []string
			for _, x := range got.Entries {
				gotIDs = append(gotIDs, x.ID)
			}
			if strings.Join(gotIDs, ",") != strings.Join(tt.wantIDs, ",") {
				t.Errorf("ids %v, want %v", gotIDs, tt.wantIDs)
			}
		})
	}
	recs := e.access.all()
	var found bool
	for _, r := range recs {
		j, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(j, []byte(secretIn)) || bytes.Contains(j, []byte(secretOut)) || bytes.Contains(j, []byte("never said")) {
			t.Errorf("access record holds the text: %s", j)
		}
		if r.Filters["input_text"] == inHash {
			found = true
		}
	}
	if !found {
		t.Errorf("no access record keeps the input text's hash: %+v", recs)
	}
	if s := logBuf.String(); strings.Contains(s, secretIn) || strings.Contains(s, secretOut) || strings.Contains(s, "never said") {
		t.Errorf("the server log holds the text: %s", s)
	}
}
