package comply_test

import (
	"testing"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/store/memstore"
)

// TestQuerySafetyAndDetector: Query.SafetyPassed, SafetyFailed and
// Detector select by the safety outcome and the detectors that fired.
func TestQuerySafetyAndDetector(t *testing.T) {
	l, err := comply.New(memstore.New(0), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, in := range []comply.Interaction{
		{Input: "a", Output: "a"},
		{Input: "b", Output: "b", SafetyFailed: true, DetectorsTriggered: []string{"pii"}},
		{Input: "c", Output: "c", SafetyFailed: true, DetectorsTriggered: []string{"toxicity", "pii"}},
		{Input: "d", Output: "d", SafetyFailed: true, DetectorsTriggered: []string{"toxicity"}},
	} {
		if _, err := l.Log(t.Context(), in); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name    string
		q       comply.Query
		want    int
		wantErr bool
	}{
		{"passed", comply.Query{SafetyPassed: true}, 1, false},
		{"failed", comply.Query{SafetyFailed: true}, 3, false},
		{"detector pii", comply.Query{Detector: "pii"}, 2, false},
		{"detector toxicity, failed", comply.Query{Detector: "toxicity", SafetyFailed: true}, 2, false},
		{"detector, passed", comply.Query{Detector: "pii", SafetyPassed: true}, 0, false},
		{"unknown detector", comply.Query{Detector: "jailbreak"}, 0, false},
		{"passed and failed", comply.Query{SafetyPassed: true, SafetyFailed: true}, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, gotErr := 0, false
			for _, err := range l.Query(t.Context(), tc.q) {
				if err != nil {
					gotErr = true
					break
				}
				n++
			}
			if gotErr != tc.wantErr || n != tc.want {
				t.Errorf("%d entries (error %v), want %d (error %v)", n, gotErr, tc.want, tc.wantErr)
			}
		})
	}
}
