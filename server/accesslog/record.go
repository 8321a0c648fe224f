package accesslog

import (
	"context"
	"time"
)

// A Record is one access to the evidence, granted or refused.
type Record struct {
	Time    time.Time         `json:"time"`              // when the request arrived (UTC)
	Token   string            `json:"token,omitempty"`   // the token's name; "" when none was given or it was unknown
	Role    string            `json:"role,omitempty"`    // the token's role
	Method  string            `json:"method"`            // GET, POST
	Route   string            `json:"route"`             // the route pattern, e.g. "GET /v1/entries/{id}"
	Filters map[string]string `json:"filters,omitempty"` // the query's filters, as given
	IDs     []string          `json:"ids,omitempty"`     // the entries read one by one (get, decrypt, proof)
	Count   int64             `json:"count"`             // how many entries were returned
	Remote  string            `json:"remote"`            // the client's address
	Status  int               `json:"status"`            // the HTTP status answered
	Denied  bool              `json:"denied,omitempty"`  // refused: no token, an unknown token, or the wrong role
	Reason  string            `json:"reason,omitempty"`  // why it was refused, or the error
}

// A Recorder keeps access records durably; Record returns once the record
// is as durable as an entry.
type Recorder interface {
	Record(ctx context.Context, r Record) error
}
