package s3store

import (
	"errors"
	"strings"
	"testing"
)

// TestURLErrorsKeepTheQuery: no error about the store URL repeats a value
// of its query (finding 9 of the adversarial review: the endpoint, writer
// and layout values were echoed).
func TestURLErrorsKeepTheQuery(t *testing.T) {
	const v = "Zq7secretValue"
	for _, q := range []string{
		"layout=" + v, "object_lock=" + v, "retain_days=" + v, "flush_ms=" + v, "flush_bytes=" + v,
		"writer=" + v + "!", "writer=-" + v, "durability=" + v, "endpoint=ftp://" + v, "region=x&" + v + "=1",
	} {
		_, err := parseURL("s3://bucket-1/p/?" + q)
		if err == nil {
			t.Errorf("%s: accepted", q)
			continue
		}
		if strings.Contains(err.Error(), v) && !strings.HasPrefix(q, "region=x&") {
			t.Errorf("%s: the error repeats the value: %v", q, err)
		}
	}
	// An SDK error naming the endpoint is scrubbed and still unwraps.
	base := errors.New(`Get "http://10.9.8.7:9000/bucket-1": dial tcp: refused`)
	err := scrubEndpoint(base, "http://10.9.8.7:9000")
	if strings.Contains(err.Error(), "10.9.8.7") || !errors.Is(err, base) {
		t.Errorf("scrubbed %v", err)
	}
}
