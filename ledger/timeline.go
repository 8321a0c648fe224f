package ledger

import "time"

// The states of a Span.
const (
	SpanTraffic = "traffic" // entries appended
	SpanIdle    = "idle"    // the writer's heartbeats, no entry
	SpanDown    = "down"    // no checkpoint for more than one and a half heartbeats
)

// A Span is a stretch of a log's heartbeat timeline between two
// checkpoints (or the last one and now): SpanTraffic, SpanIdle or
// SpanDown (the writer was not running; Clean when the checkpoint before
// was written by its Close).
type Span struct {
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	State   string    `json:"state"`
	Clean   bool      `json:"clean,omitempty"`
	Entries uint64    `json:"entries,omitempty"` // appended in the span
	Beats   int       `json:"checkpoints"`       // checkpoints that end a stretch of the span
}

// Timeline merges checkpoints of one log, oldest first (as History
// returns them), into spans, as Verify finds gaps (Gap): consecutive
// stretches of the same state join, downtimes stay apart. If now is not
// zero the range runs to now, and a last checkpoint older than its
// heartbeat allows opens a final SpanDown to now.
func Timeline(cps []*Checkpoint, now time.Time) []Span {
	var spans []Span
	add := func(sp Span) {
		if n := len(spans); n > 0 && spans[n-1].State == sp.State && spans[n-1].Clean == sp.Clean && spans[n-1].To.Equal(sp.From) && sp.State != SpanDown {
			spans[n-1].To, spans[n-1].Entries, spans[n-1].Beats = sp.To, spans[n-1].Entries+sp.Entries, spans[n-1].Beats+sp.Beats
			return
		}
		spans = append(spans, sp)
	}
	for i := 1; i < len(cps); i++ {
		a, b := cps[i-1], cps[i]
		sp := Span{From: a.Time.UTC(), To: b.Time.UTC(), State: SpanIdle, Beats: 1}
		switch {
		case b.Time.Sub(a.Time) > HeartbeatOf(a)*3/2:
			sp.State, sp.Clean = SpanDown, a.Closed
		case b.Size > a.Size:
			sp.State = SpanTraffic
		}
		if b.Size > a.Size {
			sp.Entries = b.Size - a.Size
		}
		add(sp)
	}
	if n := len(cps); n > 0 && !now.IsZero() {
		last := cps[n-1]
		if now.Sub(last.Time) > HeartbeatOf(last)*3/2 {
			add(Span{From: last.Time.UTC(), To: now.UTC(), State: SpanDown, Clean: last.Closed})
		}
	}
	return spans
}

// HeartbeatOf returns the heartbeat interval c states, or
// DefaultHeartbeat if it states none.
func HeartbeatOf(c *Checkpoint) time.Duration {
	if c.Heartbeat > 0 {
		return c.Heartbeat
	}
	return DefaultHeartbeat
}
