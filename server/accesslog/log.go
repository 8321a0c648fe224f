package accesslog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/complyhq/comply"
)

// The provider and model of every access entry: what tells an access
// record from any other entry.
const (
	Provider = "comply"
	Model    = "access"
)

// metaVersion is the version of the metadata object of an access entry.
const metaVersion = 1

// A FormatError says that an access entry's metadata is not an access
// record this package reads.
type FormatError struct {
	ID  string // the entry's id
	Why string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("access entry %s: %s", e.ID, e.Why)
}

// A Log is the access log: a Recorder that writes each Record as one entry
// of a comply.Logger over a store of its own, and reads them back.
//
// Its methods may be called concurrently. The Log does not own the Logger:
// the caller closes it, after the last Record.
type Log struct {
	l *comply.Logger
}

var _ Recorder = (*Log)(nil)

// New returns the access log written to and read from l, a Logger over the
// access store (not the entries' store: access entries would mix with the
// evidence they describe).
func New(l *comply.Logger) *Log { return &Log{l: l} }

// meta is the metadata object of an access entry; its field order is the
// order of the keys in the file (docs/format.md, section 6).
type meta struct {
	V       int               `json:"v"`
	Token   string            `json:"token,omitempty"`
	Role    string            `json:"role,omitempty"`
	Method  string            `json:"method"`
	Route   string            `json:"route"`
	Filters map[string]string `json:"filters,omitempty"` // keys sorted, as encoding/json writes maps
	IDs     []string          `json:"ids,omitempty"`
	Count   int64             `json:"count"`
	Remote  string            `json:"remote"`
	Status  int               `json:"status"`
	Denied  bool              `json:"denied"`
	Reason  string            `json:"reason,omitempty"`
}

// Describe returns the one-line description of the request that an access
// entry hashes as its input: the method, the route's path, the filters as a
// query string (sorted by key) and the ids, separated by spaces, e.g.
//
//	GET /v1/entries provider=openai&since=24h
//	POST /v1/entries/{id}/decrypt ids=0190...
//
// A route that begins with its method ("GET /v1/entries") is not given it
// twice.
func Describe(r Record) string {
	var b strings.Builder
	b.WriteString(r.Method)
	route := r.Route
	if r.Method != "" {
		route = strings.TrimPrefix(route, r.Method+" ")
	}
	if route != "" {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(route)
	}
	if len(r.Filters) > 0 {
		v := make(url.Values, len(r.Filters))
		for k, x := range r.Filters {
			v.Set(k, x)
		}
		b.WriteByte(' ')
		b.WriteString(v.Encode()) // sorted by key
	}
	if len(r.IDs) > 0 {
		b.WriteString(" ids=")
		b.WriteString(strings.Join(r.IDs, ","))
	}
	return b.String()
}

// outcome returns what an access entry hashes as its output: the status
// and the count, e.g. "status=200 count=3".
func outcome(r Record) string {
	return "status=" + strconv.Itoa(r.Status) + " count=" + strconv.FormatInt(r.Count, 10)
}

// Record writes r as one entry of the access log, and returns once the
// entry is as durable as the Logger's store makes entries. A zero r.Time
// means now. The entry's time is r.Time in UTC to the microsecond; see
// docs/format.md (section 6) for the rest of the mapping.
func (a *Log) Record(ctx context.Context, r Record) error {
	md, err := json.Marshal(meta{
		V:       metaVersion,
		Token:   r.Token,
		Role:    r.Role,
		Method:  r.Method,
		Route:   r.Route,
		Filters: r.Filters,
		IDs:     r.IDs,
		Count:   r.Count,
		Remote:  r.Remote,
		Status:  r.Status,
		Denied:  r.Denied,
		Reason:  r.Reason,
	})
	if err != nil {
		return fmt.Errorf("access log: %w", err)
	}
	in := comply.Interaction{
		Input:        Describe(r),
		Output:       outcome(r),
		Provider:     Provider,
		Model:        Model,
		SafetyFailed: r.Denied,
		Time:         r.Time,
		Metadata:     json.RawMessage(md),
	}
	if r.Denied {
		in.BlockReason = r.Reason
		if in.BlockReason == "" {
			in.BlockReason = "denied"
		}
	}
	if _, err := a.l.Log(ctx, in); err != nil {
		return fmt.Errorf("access log: %w", err)
	}
	return nil
}

// A Query selects access records: a time range, inclusive on both ends (a
// zero bound is unbounded), and filters that must all match.
type Query struct {
	Start, End time.Time
	Token      string // only the records of this token's name, if set
	DeniedOnly bool   // only refused requests
}

// Records streams the access records that match q, oldest first (in the
// order they were written). Entries of the store that are not access
// records (another provider or model) are skipped; an access entry whose
// metadata cannot be read is yielded as a *FormatError, and a damaged line
// as the store's error, and the stream goes on if the caller continues.
func (a *Log) Records(ctx context.Context, q Query) iter.Seq2[Record, error] {
	cq := comply.Query{Start: q.Start, End: q.End, Provider: Provider, Model: Model, SafetyFailed: q.DeniedOnly}
	if q.Token != "" {
		cq.Metadata = map[string]string{"token": q.Token}
	}
	return func(yield func(Record, error) bool) {
		for e, err := range a.l.Query(ctx, cq) {
			if err != nil {
				if !yield(Record{}, fmt.Errorf("access log: %w", err)) {
					return
				}
				continue
			}
			r, err := decode(&e)
			if !yield(r, err) {
				return
			}
		}
	}
}

// decode returns the access record of an access entry.
func decode(e *comply.Entry) (Record, error) {
	var m meta
	dec := json.NewDecoder(bytes.NewReader(e.Metadata))
	if err := dec.Decode(&m); err != nil {
		return Record{}, &FormatError{ID: e.ID, Why: "metadata: " + err.Error()}
	}
	if m.V != metaVersion {
		return Record{}, &FormatError{ID: e.ID, Why: fmt.Sprintf("metadata version %d; this comply reads version %d", m.V, metaVersion)}
	}
	if m.Denied == e.SafetyPassed {
		return Record{}, &FormatError{ID: e.ID, Why: "denied and safety_passed disagree"}
	}
	return Record{
		Time:    e.Timestamp,
		Token:   m.Token,
		Role:    m.Role,
		Method:  m.Method,
		Route:   m.Route,
		Filters: m.Filters,
		IDs:     m.IDs,
		Count:   m.Count,
		Remote:  m.Remote,
		Status:  m.Status,
		Denied:  m.Denied,
		Reason:  m.Reason,
	}, nil
}
