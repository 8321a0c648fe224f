package comply

import (
	"bytes"
	"encoding/json"
	"slices"
)

// callFacts are the facts an llm.Transport records in an entry's metadata
// that Stats sums up: whether the call failed (an "error" object with a
// "type"), its time to first token ("ttft_ms") and its cost ("cost_usd").
type callFacts struct {
	failed           bool
	ttft, cost       float64
	hasTTFT, hasCost bool
}

var (
	errorKey = []byte(`"error"`)
	ttftKey  = []byte(`"ttft_ms"`)
	costKey  = []byte(`"cost_usd"`)
)

// factsOf reads the callFacts of an entry's metadata. It decodes the
// metadata only when one of the keys appears in it, and ignores values of
// another shape (a caller's own "error" string is not a failed call).
func factsOf(md json.RawMessage) callFacts {
	var f callFacts
	if !bytes.Contains(md, errorKey) && !bytes.Contains(md, ttftKey) && !bytes.Contains(md, costKey) {
		return f
	}
	var m struct {
		Error json.RawMessage `json:"error"`
		TTFT  json.RawMessage `json:"ttft_ms"`
		Cost  json.RawMessage `json:"cost_usd"`
	}
	if json.Unmarshal(md, &m) != nil {
		return f
	}
	var e struct {
		Type string `json:"type"`
	}
	f.failed = len(m.Error) > 0 && json.Unmarshal(m.Error, &e) == nil && e.Type != ""
	f.hasTTFT = len(m.TTFT) > 0 && json.Unmarshal(m.TTFT, &f.ttft) == nil && f.ttft >= 0
	f.hasCost = len(m.Cost) > 0 && json.Unmarshal(m.Cost, &f.cost) == nil && f.cost >= 0
	return f
}

// percentiles returns the 50th and 95th percentiles (nearest rank) of v,
// sorting it in place.
func percentiles(v []float64) (p50, p95 float64) {
	if len(v) == 0 {
		return 0, 0
	}
	slices.Sort(v)
	return v[(50*len(v)+99)/100-1], v[(95*len(v)+99)/100-1]
}
