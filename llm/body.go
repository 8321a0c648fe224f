package llm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
)

// body is an audited response body. It passes the upstream's bytes to the
// caller unchanged while parsing them, and writes the call's entry once,
// when the response is complete (see the package documentation).
type body struct {
	c      *call
	rc     io.ReadCloser
	ctx    context.Context
	status int

	// Exactly one of sse and keep is in use: sse parses an uncompressed
	// event stream as it passes; keep gathers a body to parse at its end
	// (JSON, errors, and compressed bodies).
	sse      *sseParser
	keep     []byte
	keepMax  int
	encoding string // the Content-Encoding of kept bytes, "" for none

	// holdBack is set for every body but streams: the final byte is
	// passed on only once the end of the body is known. hb and pend are
	// touched only by Read.
	holdBack bool
	bufSize  int
	length   int64 // the body's length, -1 if unknown
	got      int64 // bytes read from the body so far
	hb       []byte
	pend     []byte
	srcErr   error

	mu   sync.Mutex
	res  result
	done bool  // the entry has been handled
	err  error // the write failure every later Read returns (fail-closed)
}

func newBody(ctx context.Context, c *call, resp *http.Response) *body {
	b := &body{
		c:       c,
		rc:      resp.Body,
		ctx:     ctx,
		status:  resp.StatusCode,
		keepMax: c.t.maxResponseBody(),
		length:  resp.ContentLength,
	}
	b.res = result{api: c.api, max: b.keepMax, requestID: requestID(resp.Header)}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	b.res.stream = mt == "text/event-stream"
	enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding")))
	if enc == "identity" {
		enc = ""
	}
	switch {
	case b.res.stream && resp.StatusCode < 300 && enc == "":
		b.sse = &sseParser{max: b.keepMax, onEvent: b.res.event}
		b.res.live = true
	case b.res.stream:
		// A compressed stream is parsed at its end; its bytes are not held.
		b.encoding = enc
	default:
		b.encoding = enc
		b.holdBack = true
	}
	if b.rc == nil {
		b.rc = http.NoBody
	}
	// Size the buffers by the body when its length is known: most answers
	// are small.
	b.bufSize = 32 << 10
	if n := resp.ContentLength; n >= 0 && n < int64(b.bufSize) {
		b.bufSize = max(int(n)+1, 512)
	}
	if n := resp.ContentLength; b.sse == nil && n > 0 && n <= int64(b.keepMax) {
		b.keep = make([]byte, 0, n)
	}
	return b
}

func requestID(h http.Header) string {
	for _, k := range []string{"X-Request-Id", "Request-Id"} {
		if v := h.Get(k); v != "" {
			return truncateUTF8(strings.ToValidUTF8(v, ""), 200)
		}
	}
	return ""
}

// Read implements io.Reader.
func (b *body) Read(p []byte) (int, error) {
	if b.holdBack {
		return b.readHeld(p)
	}
	b.mu.Lock()
	err := b.err
	b.mu.Unlock()
	if err != nil {
		return 0, err
	}
	n, err := b.rc.Read(p)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return n, err
	}
	if b.sse != nil {
		if cut, last := b.sse.feed(p[:n]); last {
			if werr := b.finish(nil, false); werr != nil {
				b.err = werr
				return cut, werr
			}
			return n, err
		}
	} else {
		b.gather(p[:n])
	}
	switch {
	case err == io.EOF:
		if werr := b.finish(nil, false); werr != nil {
			b.err = werr
			return n, werr
		}
	case err != nil:
		b.finish(err, false)
	}
	return n, err
}

// readHeld reads a kept body, holding back its final byte until the end of
// the body is known, so that a fail-closed write failure can withhold it.
// When the body's length is known, the end is known as soon as its last
// byte arrives, and the bytes go out in one piece.
func (b *body) readHeld(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if b.srcErr == nil && len(b.pend) > 1 && !b.endKnown() {
			n := copy(p, b.pend[:len(b.pend)-1])
			b.pend = b.pend[n:]
			return n, nil
		}
		if b.srcErr != nil {
			// The end is known: handle the entry before the last bytes go.
			b.mu.Lock()
			if b.err != nil {
				b.mu.Unlock()
				return 0, b.err
			}
			if !b.done {
				var werr error
				if b.srcErr == io.EOF {
					werr = b.finish(nil, false)
				} else {
					b.finish(b.srcErr, false)
				}
				if werr != nil {
					b.err = werr
					b.mu.Unlock()
					return 0, werr
				}
			}
			b.mu.Unlock()
			n := copy(p, b.pend)
			b.pend = b.pend[n:]
			if len(b.pend) > 0 {
				return n, nil
			}
			return n, b.srcErr
		}
		if b.hb == nil {
			b.hb = make([]byte, b.bufSize)
		}
		k := copy(b.hb, b.pend)
		m, err := b.rc.Read(b.hb[k:])
		b.pend, b.srcErr = b.hb[:k+m], err
		b.got += int64(m)
		if m > 0 {
			b.mu.Lock()
			if !b.done {
				b.gather(b.hb[k : k+m])
			}
			b.mu.Unlock()
		}
	}
}

// endKnown reports whether every byte of a body of known length has
// arrived, so that the next read returns io.EOF at once, without waiting
// for the network: then the held bytes go out in one piece, with the end.
func (b *body) endKnown() bool {
	return b.srcErr == nil && b.length >= 0 && b.got >= b.length && len(b.pend) < len(b.hb)
}

// Close implements io.Closer. Closing a body before its end logs the call
// as incomplete, unless what was read is already a complete response.
func (b *body) Close() error {
	err := b.rc.Close()
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.done {
		if werr := b.finish(nil, true); werr != nil {
			b.err = werr
			if err == nil {
				err = werr
			}
		}
	}
	return err
}

// gather keeps p for parsing at the end, within the bound.
func (b *body) gather(p []byte) {
	if len(b.keep)+len(p) > b.keepMax {
		b.res.cut = true
		p = p[:max(0, b.keepMax-len(b.keep))]
	}
	b.keep = append(b.keep, p...)
}

// finish writes the call's entry; it returns the error for the caller if
// the write failed and the Transport is fail-closed. b.mu is held.
func (b *body) finish(readErr error, closed bool) error {
	b.done = true
	r := &b.res
	if b.sse == nil {
		b.parseKept(readErr != nil || closed)
	} else if readErr == nil && !closed && b.c.api.endsAtEOF() && r.sawFinish {
		r.complete = true // a chat stream without data: [DONE]
	}
	if b.sse != nil && b.sse.dropped > 0 {
		r.alerts = append(r.alerts, "events larger than the response bound were not parsed")
	}
	if r.cut {
		r.alerts = append(r.alerts, "response larger than the response bound: output truncated")
	}
	canceled := readErr != nil && (errors.Is(readErr, context.Canceled) || b.ctx.Err() != nil)
	in := b.c.interaction(r, b.status, r.outcome(b.status, readErr, closed, canceled))
	b.keep = nil
	return b.c.write(b.ctx, in)
}

// parseKept parses the kept body. partial says the body did not end well,
// so a parse failure is expected and not worth an alert of its own.
func (b *body) parseKept(partial bool) {
	r := &b.res
	data := b.keep
	if b.encoding != "" && len(data) > 0 {
		dec, err := decompress(b.encoding, data, b.keepMax)
		if err != nil {
			if !partial {
				r.alerts = append(r.alerts, "response not decoded: "+err.Error())
				r.complete = true // nothing to judge it by
			}
			return
		}
		data = dec
	}
	if b.status >= 300 {
		// A client that retries may close the body unread: then the
		// status text says what happened.
		if r.errMsg, r.filtered = errorBody(data); r.errMsg == "" {
			r.errMsg = http.StatusText(b.status)
		}
		return
	}
	if r.stream {
		p := &sseParser{max: b.keepMax, onEvent: r.event}
		p.feed(data)
		p.feed([]byte("\n\n")) // dispatch an unterminated final event
		if !partial && r.api.endsAtEOF() && r.sawFinish {
			r.complete = true
		}
		return
	}
	if len(bytes.TrimSpace(data)) == 0 {
		r.malformed = "empty body"
		return
	}
	r.parseJSON(data)
}

// decompress decodes a kept body by its Content-Encoding, up to limit
// bytes.
func decompress(enc string, data []byte, limit int) ([]byte, error) {
	rd, err := decoder(enc, bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(rd, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(out) > limit {
		return nil, fmt.Errorf("it decodes to more than %d bytes", limit)
	}
	return out, nil
}
