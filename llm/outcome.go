package llm

import (
	"cmp"
	"context"
	"errors"
	"fmt"
)

// Error types of the "error" metadata of an entry: why the call failed, as
// opposed to a safety outcome, which is recorded by safety_passed=false.
const (
	ErrorHTTP       = "http"       // the upstream answered with an HTTP error status
	ErrorTransport  = "transport"  // the upstream could not be reached, or the response broke off
	ErrorTimeout    = "timeout"    // the same, from a timeout
	ErrorCanceled   = "canceled"   // the client canceled the call or closed the response early
	ErrorAPI        = "api"        // a successful status, with an error in the body or stream
	ErrorIncomplete = "incomplete" // the response ended before its final event
	ErrorMalformed  = "malformed"  // the response could not be parsed
	ErrorRequest    = "request"    // the request body could not be read
)

// An outcome is how a call ended: a failure of the call (errType, with
// errMsg and the HTTP status) and a safety outcome (block, with the
// detector that fired), each empty when there is none. Both may be set:
// an HTTP 400 for a content policy is an error and a safety outcome.
type outcome struct {
	errType, errMsg string
	status          int
	block, detector string
}

// metadata returns the "error" metadata value of o, or nil.
func (o outcome) metadata(scrub func(string) string) map[string]any {
	if o.errType == "" {
		return nil
	}
	m := map[string]any{"type": o.errType, "message": scrub(o.errMsg)}
	if o.status != 0 {
		m["status"] = o.status
	}
	return m
}

// transportError returns the outcome of a round trip or body read that
// failed with err: a timeout, a cancellation or another transport error.
func transportError(err error, canceled bool, prefix string) outcome {
	switch {
	case canceled:
		return outcome{errType: ErrorCanceled, errMsg: "canceled by the client: " + err.Error()}
	case isTimeout(err):
		return outcome{errType: ErrorTimeout, errMsg: prefix + err.Error()}
	}
	return outcome{errType: ErrorTransport, errMsg: prefix + err.Error()}
}

// isTimeout reports whether err comes from a timeout: a deadline, or an
// error whose Timeout method says so (net.Error, the proxy's timeouts).
func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &te) && te.Timeout()
}

// outcome returns how an exchange ended. status is the HTTP status;
// readErr the error that ended the body early; closed says whether the
// caller closed it before its end, canceled whether the request's context
// was done.
func (r *result) outcome(status int, readErr error, closed, canceled bool) outcome {
	var o outcome
	switch {
	case status >= 300:
		o = outcome{errType: ErrorHTTP, status: status, errMsg: fmt.Sprintf("http %d: %s", status, r.errMsg)}
		if r.filtered {
			o.block, o.detector = o.errMsg, "content_filter"
		}
		return o
	case readErr != nil:
		o = transportError(readErr, canceled, "incomplete: response interrupted: ")
	case r.errMsg != "":
		o = outcome{errType: ErrorAPI, errMsg: "error: " + r.errMsg}
	case closed && !r.complete:
		o = outcome{errType: ErrorCanceled, errMsg: "incomplete: closed by the client before the end of the response"}
	case r.malformed != "":
		o = outcome{errType: ErrorMalformed, errMsg: "malformed response: " + r.malformed}
	case !r.complete:
		o = outcome{errType: ErrorIncomplete, errMsg: "incomplete: the stream ended before its final event"}
	}
	switch {
	case r.refused:
		s := r.refusal.String()
		if s == "" {
			s = r.answerText() // Anthropic: the refusal is the text
		}
		if s == "" {
			s = "stop_reason " + r.finish
		}
		o.block, o.detector = "refusal: "+s, "refusal"
	case r.filtered:
		o.block, o.detector = "finish_reason: "+cmp.Or(r.finish, "content_filter"), "content_filter"
	}
	return o
}
