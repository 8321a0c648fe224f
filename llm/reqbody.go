package llm

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/andybalholm/brotli"

	"github.com/complyhq/comply"
)

// DefaultMaxBuffered bounds the request body bytes that all the calls of a
// Transport hold in memory at once.
const DefaultMaxBuffered = 256 << 20

// budget counts the request body bytes held in memory by the calls in
// flight.
type budget struct {
	mu   sync.Mutex
	used int64
}

// reserve takes n bytes of the budget of max, if they are free.
func (b *budget) reserve(n, max int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n < 0 || b.used+n > max {
		return false
	}
	b.used += n
	return true
}

func (b *budget) release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
}

func (b *budget) held() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// readStep is the reservation a body of unknown length grows by.
const readStep = 64 << 10

// errBudget ends a read that the memory budget cannot hold.
var errBudget = errors.New("memory budget exhausted")

// reservingBuffer is a buffer of at most max bytes whose growth is
// reserved from the Transport's budget, in steps.
type reservingBuffer struct {
	t        *Transport
	buf      []byte
	max      int64
	reserved *int64 // the call's reservation, released when its entry is written
	over     bool   // more than max bytes were written
}

func (w *reservingBuffer) Write(p []byte) (int, error) {
	if int64(len(w.buf)+len(p)) > w.max {
		w.over = true
		return 0, errBudget
	}
	for int64(len(w.buf)+len(p)) > *w.reserved {
		step := max(readStep, int64(len(p)))
		if !w.t.budget.reserve(step, w.t.maxBuffered()) {
			return 0, errBudget
		}
		*w.reserved += step
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// readBody reads the request body into memory, within MaxRequestBody and
// the memory budget. complete says whether it got the whole body; if not,
// body holds the first bytes and the rest is still in r, and tooLarge says
// whether the body is larger than MaxRequestBody (else the budget is
// short).
func (c *call) readBody(r io.Reader, size int64) (body []byte, complete, tooLarge bool, err error) {
	t := c.t
	limit := t.maxRequestBody()
	if size > limit {
		return nil, false, true, nil
	}
	w := &reservingBuffer{t: t, max: limit, reserved: &c.reserved}
	if size > 0 {
		// Reserve the declared length at once, or not at all.
		if !t.budget.reserve(size, t.maxBuffered()) {
			return nil, false, false, nil
		}
		c.reserved = size
		w.buf = make([]byte, 0, size)
	}
	var chunk [32 << 10]byte
	for {
		n, rerr := r.Read(chunk[:])
		if n > 0 {
			if _, werr := w.Write(chunk[:n]); werr != nil {
				// The rest goes upstream as it comes: keep this chunk in
				// front of it.
				return append(w.buf, chunk[:n]...), false, w.over, nil
			}
		}
		if rerr == io.EOF {
			return w.buf, true, false, nil
		}
		if rerr != nil {
			return nil, false, false, rerr
		}
	}
}

// release returns the call's reservation to the budget.
func (c *call) release() {
	c.t.budget.release(c.reserved)
	c.reserved = 0
}

// requestBody prepares the body of out, the request sent upstream: the
// body read into memory and parsed, or, past MaxRequestBody or the memory
// budget, the caller's body streamed and hashed as it goes.
func (c *call) requestBody(req, out *http.Request) error {
	t := c.t
	body, complete, tooLarge, err := c.readBody(req.Body, req.ContentLength)
	if err != nil {
		return err
	}
	enc := requestEncoding(req.Header)
	if complete {
		req.Body.Close()
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		data := body
		if enc != "" {
			dec, derr := c.decodeRequest(enc, body)
			if derr != nil {
				// Hash the bytes as sent, and say so.
				c.inputHash = t.Logger.Hash(string(body))
				c.alerts = append(c.alerts, fmt.Sprintf("request body (Content-Encoding %s) not decoded: %s; input_hash is the hash of the %d bytes as sent, input not parsed", enc, derr, len(body)))
				return nil
			}
			data = dec
		}
		c.req = parseRequest(c.api, data, t.Input)
		c.alerts = append(c.alerts, c.req.alerts...)
		return nil
	}
	// Too large to hold: send it on as it comes, hashing every byte.
	t.streamed.Add(1)
	c.streamBody = &hashingBody{h: t.Logger.NewContentHash(), r: io.MultiReader(bytes.NewReader(body), req.Body), c: req.Body}
	out.Body = c.streamBody
	out.GetBody = nil
	why := fmt.Sprintf("larger than %d bytes", t.maxRequestBody())
	if !tooLarge {
		why = fmt.Sprintf("over the memory budget of %d bytes for request bodies in flight", t.maxBuffered())
	}
	as := "as sent"
	if enc != "" {
		as += " (Content-Encoding " + enc + ", not decoded)"
	}
	c.alerts = append(c.alerts, "request body "+why+": streamed upstream unparsed; input_hash is the hash of the whole body "+as+"; model and input not recorded")
	return nil
}

// decodeRequest decodes a request body by its Content-Encoding, within
// MaxRequestBody and the memory budget.
func (c *call) decodeRequest(enc string, body []byte) ([]byte, error) {
	rd, err := decoder(enc, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	w := &reservingBuffer{t: c.t, max: c.t.maxRequestBody(), reserved: &c.reserved}
	if _, err := io.Copy(w, rd); err != nil {
		switch {
		case w.over:
			return nil, fmt.Errorf("it decodes to more than %d bytes", c.t.maxRequestBody())
		case errors.Is(err, errBudget):
			return nil, errors.New("its decoded size is over the memory budget")
		}
		return nil, err
	}
	return w.buf, nil
}

// requestEncoding returns the request's Content-Encoding, "" for none.
func requestEncoding(h http.Header) string {
	enc := strings.ToLower(strings.TrimSpace(h.Get("Content-Encoding")))
	if enc == "identity" {
		return ""
	}
	return enc
}

// decoder returns a reader of r decoded by the Content-Encoding enc: gzip,
// deflate (zlib, or raw deflate as some clients send) or br.
func decoder(enc string, r io.Reader) (io.Reader, error) {
	switch enc {
	case "gzip", "x-gzip":
		return gzip.NewReader(r)
	case "deflate":
		br := bufioPeek{r: r}
		if zr, err := zlib.NewReader(&br); err == nil {
			return zr, nil
		}
		return flate.NewReader(io.MultiReader(bytes.NewReader(br.seen), r)), nil
	case "br":
		return brotli.NewReader(r), nil
	}
	return nil, errors.New("unsupported Content-Encoding " + strings.ToValidUTF8(truncateUTF8(enc, 40), ""))
}

// bufioPeek remembers what was read from r, so that a failed attempt to
// decode can be replayed.
type bufioPeek struct {
	r    io.Reader
	seen []byte
}

func (p *bufioPeek) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.seen = append(p.seen, b[:n]...)
	return n, err
}

// hashingBody is a request body sent upstream as it comes, hashed on the
// way. The upstream transport's Close does not close the caller's body:
// the call drains what the upstream did not read into the hash, then
// closes it, so that the hash always covers the whole body.
type hashingBody struct {
	mu   sync.Mutex
	h    *comply.ContentHash
	r    io.Reader
	c    io.Closer
	err  error // the error that ended the body, io.EOF at its end
	done bool
}

func (b *hashingBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.r.Read(p)
	b.h.Write(p[:n])
	if err != nil {
		b.err = err
	}
	return n, err
}

func (b *hashingBody) Close() error { return nil }

// finish reads what is left of the body into the hash, closes the body and
// returns the hash, and an alert if the body ended in an error.
func (b *hashingBody) finish() (sum, alert string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.done {
		b.done = true
		if b.err == nil {
			_, err := io.Copy(b.h, b.r)
			if err == nil {
				err = io.EOF
			}
			b.err = err
		}
		b.c.Close()
	}
	if b.err != io.EOF {
		alert = fmt.Sprintf("request body ended early after %d bytes (%v): input_hash covers those bytes", b.h.Len(), b.err)
	}
	return b.h.Sum(), alert
}
