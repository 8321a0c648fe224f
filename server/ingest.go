package server

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
	"unsafe"

	"github.com/complyhq/comply"
)

// MaxIdempotencyKey bounds the length of an Idempotency-Key.
const MaxIdempotencyKey = 256

// postEntries is POST /v1/entries.
func (s *Server) postEntries(c *call) {
	ct, _, _ := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if ct != "application/json" && ct != "application/x-ndjson" {
		c.fail(http.StatusUnsupportedMediaType, "Content-Type must be application/json (an array of interactions) or application/x-ndjson (one per line)")
		return
	}
	key := c.r.Header.Get("Idempotency-Key")
	if len(key) > MaxIdempotencyKey {
		c.fail(http.StatusBadRequest, fmt.Sprintf("Idempotency-Key longer than %d bytes", MaxIdempotencyKey))
		return
	}
	if !s.acquireIngest(c) {
		return
	}
	defer func() { <-s.ingest }()

	body, ok := s.readBody(c)
	if !ok {
		return
	}
	// The body is this handler's own and is never written again: the
	// interactions' strings share its memory instead of copying 2 KB of
	// content per entry (the copy cost a tenth of the ingest's CPU).
	text := unsafe.String(unsafe.SliceData(body), len(body))
	var ins []comply.Interaction
	var idx int
	var err error
	if ct == "application/json" {
		ins, idx, err = decodeArray(text)
	} else {
		ins, idx, err = decodeNDJSON(text)
	}
	if err != nil {
		c.reply(http.StatusBadRequest, errorBody(err.Error(), map[string]any{"index": idx}))
		return
	}

	var pending *idemEntry
	if key != "" {
		sum := sha256.Sum256(body)
		e, status := s.idem.begin(c.r.Context(), hashKey(c.tok.Name, key), sum)
		switch status {
		case idemReplay:
			c.w.Header().Set("Idempotent-Replayed", "true")
			c.replyJSON(http.StatusOK, map[string]any{"ids": e.ids})
			return
		case idemMismatch:
			c.fail(http.StatusUnprocessableEntity, "Idempotency-Key already used with another body")
			return
		case idemCanceled:
			c.fail(http.StatusServiceUnavailable, "gave up waiting for the request with the same Idempotency-Key")
			return
		}
		pending = e
	}
	ids, err := s.logBatch(context.WithoutCancel(c.r.Context()), "api", ins)
	if err != nil {
		if pending != nil {
			s.idem.abandon(pending)
		}
		var ie *comply.InvalidError
		var be *comply.BatchError
		switch {
		case errors.As(err, &ie) || errors.Is(err, comply.ErrEntryTooLarge) || errors.Is(err, comply.ErrMissingMetadata):
			i := 0
			if errors.As(err, &be) {
				i = be.Index
			}
			c.reply(http.StatusBadRequest, errorBody(trimComply(err), map[string]any{"index": i}))
		default:
			s.log.Error("ingest: write failed", "err", err)
			c.fail(http.StatusServiceUnavailable, "the entries could not be written: "+trimComply(err))
		}
		return
	}
	if pending != nil {
		if err := s.idem.commit(c.r.Context(), pending, ids); err != nil {
			// The entries are durable; a retry with this key would store
			// them again. Answer with the ids all the same.
			s.log.Error("idempotency: key not recorded", "err", err)
		}
	}
	c.replyJSON(http.StatusOK, map[string]any{"ids": ids})
}

// readBody reads the request's body within MaxBody and BodyReadTimeout,
// answering 413 or 400 itself when it cannot.
func (s *Server) readBody(c *call) ([]byte, bool) {
	rc := http.NewResponseController(c.w)
	rc.SetReadDeadline(time.Now().Add(s.opts.BodyReadTimeout))
	defer rc.SetReadDeadline(time.Time{})
	if c.r.ContentLength > s.opts.MaxBody {
		c.fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", s.opts.MaxBody))
		return nil, false
	}
	body := http.MaxBytesReader(c.w, c.r.Body, s.opts.MaxBody)
	var b []byte
	var err error
	if n := c.r.ContentLength; n > 0 {
		// The length is known (and within MaxBody): one allocation.
		b = make([]byte, n)
		if _, err = io.ReadFull(body, b); err == nil {
			var extra [1]byte
			if k, _ := body.Read(extra[:]); k > 0 {
				err = errors.New("body longer than its Content-Length")
			}
		}
	} else {
		b, err = io.ReadAll(body)
	}
	if err != nil {
		var me *http.MaxBytesError
		if errors.As(err, &me) {
			c.fail(http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", s.opts.MaxBody))
		} else {
			c.fail(http.StatusBadRequest, "reading the body failed")
		}
		return nil, false
	}
	return b, true
}

// decodeArray decodes a JSON array of interactions; on error it returns
// the index of the bad one. The array is split into its items by a scan
// that tracks only strings and nesting; each item is then decoded (and
// validated) on its own by comply.DecodeInteractionString, whose strings
// share b's memory: the body is read once and copied never again.
func decodeArray(b string) ([]comply.Interaction, int, error) {
	b = strings.TrimSpace(b)
	if len(b) == 0 || b[0] != '[' {
		return nil, 0, errors.New("want a JSON array of interactions")
	}
	rest := strings.TrimSpace(b[1:])
	ins := make([]comply.Interaction, 0, strings.Count(rest, `"input"`))
	if len(rest) > 0 && rest[0] == ']' {
		rest = rest[1:]
	} else {
		for i := 0; ; i++ {
			n := valueEnd(rest)
			in, err := comply.DecodeInteractionString(rest[:n])
			if err != nil {
				return nil, i, fmt.Errorf("item %d: %w", i, err)
			}
			ins = append(ins, in)
			rest = strings.TrimSpace(rest[n:])
			if len(rest) == 0 {
				return nil, i, errors.New("invalid JSON: the array does not end")
			}
			if rest[0] == ']' {
				rest = rest[1:]
				break
			}
			rest = rest[1:] // the ','
		}
	}
	if len(strings.TrimSpace(rest)) > 0 {
		return nil, len(ins), errors.New("data after the JSON array")
	}
	return ins, 0, nil
}

// valueEnd returns the length of the JSON value that b starts with, as far
// as strings and nesting tell: up to the ',' or the array's ']' that
// follows it, or the whole of b. The value's decoder checks it.
func valueEnd(b string) int {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			i = stringEnd(b, i+1)
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i
			}
			depth--
		case ',':
			if depth == 0 {
				return i
			}
		}
	}
	return len(b)
}

// stringEnd returns the index of the '"' that ends the string whose
// content starts at b[i:], or len(b). It jumps from quote to quote; a
// quote after an odd number of backslashes is escaped.
func stringEnd(b string, i int) int {
	for {
		j := strings.IndexByte(b[i:], '"')
		if j < 0 {
			return len(b)
		}
		q := i + j
		k := q
		for k > i && b[k-1] == '\\' {
			k--
		}
		if (q-k)%2 == 0 {
			return q
		}
		i = q + 1
	}
}

// decodeNDJSON decodes one interaction per non-blank line.
func decodeNDJSON(b string) ([]comply.Interaction, int, error) {
	var ins []comply.Interaction
	for ln := range strings.Lines(b) {
		ln = strings.TrimSpace(ln)
		if len(ln) == 0 {
			continue
		}
		in, err := comply.DecodeInteractionString(ln)
		if err != nil {
			return nil, len(ins), fmt.Errorf("item %d: %w", len(ins), err)
		}
		ins = append(ins, in)
	}
	return ins, 0, nil
}

// trimComply removes the "comply: " prefix of library errors.
func trimComply(err error) string {
	msg := err.Error()
	if len(msg) > 8 && msg[:8] == "comply: " {
		return msg[8:]
	}
	return msg
}
