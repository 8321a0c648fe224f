package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/internal/line"
	"google.golang.org/protobuf/encoding/protowire"
)

// DefaultMaxBody is the default bound of a request body, compressed and
// decompressed alike.
const DefaultMaxBody = 16 << 20

// Content types of OTLP/HTTP.
const (
	ContentTypeProtobuf = "application/x-protobuf"
	ContentTypeJSON     = "application/json"
)

// A Handler serves OTLP/HTTP trace exports (POST /v1/traces, whatever the
// path it is mounted on): it decodes the export (protobuf or JSON, by
// Content-Type; gzip Content-Encoding too), converts its GenAI spans with
// Convert, logs them with one call of Log, and answers as the OTLP/HTTP
// specification says, in the request's encoding:
//
//   - 200 with an ExportTraceServiceResponse once the entries are durable;
//     its partial_success has rejected_spans and an error_message when
//     some GenAI spans could not be entries (spans that are not GenAI
//     spans are dropped, not rejected);
//   - 400 with a google.rpc.Status for a body that does not decode;
//   - 405 for another method, 413 for a body (compressed or not) past
//     MaxBody, 415 for another Content-Type or Content-Encoding;
//   - 503 with a google.rpc.Status when Log fails, which the exporter
//     retries: nothing of the export is stored then.
//
// Set the fields before serving; ServeHTTP may be called concurrently.
type Handler struct {
	// Log stores the interactions of one export, all or nothing, and
	// returns once they are durable: a Logger's LogBatch,
	//
	//	Log: func(ctx context.Context, ins []comply.Interaction) ([]string, error) {
	//		return logger.LogBatch(ctx, ins...)
	//	}
	//
	// It is required. An interaction that Log refuses as invalid (an
	// error wrapping *comply.InvalidError or comply.ErrEntryTooLarge) is
	// rejected alone and the others are logged again without it.
	Log func(ctx context.Context, ins []comply.Interaction) ([]string, error)

	// MaxBody bounds a request body, and its decompressed size; zero means
	// DefaultMaxBody.
	MaxBody int64

	// Options are passed to Convert.
	Options Options

	// OnResult, if set, is called with the Result of every export that
	// decoded, after it was answered (for metrics). Converted counts the
	// entries stored: 0 when Log failed.
	OnResult func(Result)
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	isJSON := mt == ContentTypeJSON
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeStatus(w, isJSON, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed: POST an export")
		return
	}
	if mt != ContentTypeProtobuf && !isJSON {
		writeStatus(w, false, http.StatusUnsupportedMediaType, "Content-Type must be application/x-protobuf or application/json")
		return
	}
	body, code, err := h.readBody(w, r)
	if err != nil {
		writeStatus(w, isJSON, code, err.Error())
		return
	}
	decode := DecodeProtobuf
	if isJSON {
		decode = DecodeJSON
	}
	td, err := decode(body)
	if err != nil {
		writeStatus(w, isJSON, http.StatusBadRequest, err.Error())
		return
	}
	ins, _, res := convert(td, h.Options)
	ins, err = h.log(r.Context(), ins, &res)
	if err != nil {
		writeStatus(w, isJSON, http.StatusServiceUnavailable, "the entries could not be stored; retry")
		if h.OnResult != nil {
			res.Converted = 0 // nothing stored
			h.OnResult(res)
		}
		return
	}
	writeResponse(w, isJSON, res)
	if h.OnResult != nil {
		h.OnResult(res)
	}
}

// readBody reads the request body within MaxBody, decompressed when its
// Content-Encoding is gzip. It returns the HTTP status of a failure.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, int, error) {
	limit := h.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	var gz bool
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		gz = true
	default:
		return nil, http.StatusUnsupportedMediaType, fmt.Errorf("Content-Encoding %q not supported: use gzip or none", enc)
	}
	if r.ContentLength > limit {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("body of %d bytes exceeds the limit of %d", r.ContentLength, limit)
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("body exceeds the limit of %d bytes", limit)
		}
		return nil, http.StatusBadRequest, fmt.Errorf("read body: %w", err)
	}
	if !gz {
		return raw, 0, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("gzip body: %w", err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("gzip body: %w", err)
	}
	if int64(len(out)) > limit {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("decompressed body exceeds the limit of %d bytes", limit)
	}
	return out, 0, nil
}

// log logs ins with one call of h.Log. An interaction that Log refuses as
// invalid is rejected (counted in res) and the others are logged again,
// so that one bad span does not cost the export. It returns the
// interactions it tried last, and Log's error if it failed otherwise.
func (h *Handler) log(ctx context.Context, ins []comply.Interaction, res *Result) ([]comply.Interaction, error) {
	if comply.RouteFrom(ctx) == "" {
		ctx = comply.WithRoute(ctx, "otlp") // the Logger's policy matches it
	}
	for len(ins) > 0 {
		_, err := h.Log(ctx, ins)
		if err == nil {
			return ins, nil
		}
		var ie *comply.InvalidError
		why := ""
		switch {
		case errors.As(err, &ie):
			why = "a GenAI span cannot be an entry: invalid " + ie.Field
		case errors.Is(err, comply.ErrEntryTooLarge):
			why = "a GenAI span is too large for an entry"
		case errors.Is(err, comply.ErrMissingMetadata):
			why = "a GenAI span lacks metadata the logging policy requires"
		default:
			return ins, err
		}
		var be *comply.BatchError
		if !errors.As(err, &be) || be.Index < 0 || be.Index >= len(ins) { // cannot tell which: reject them all
			for range ins {
				res.reject(why)
			}
			res.Converted = 0
			return nil, nil
		}
		i := be.Index
		res.reject(why)
		res.Converted--
		ins = append(ins[:i:i], ins[i+1:]...)
	}
	return ins, nil
}

// writeResponse writes the ExportTraceServiceResponse of res.
func writeResponse(w http.ResponseWriter, isJSON bool, res Result) {
	msg := ""
	if res.Rejected > 0 {
		msg = fmt.Sprintf("%d GenAI span(s) rejected: %s", res.Rejected, res.RejectedWhy)
	}
	if isJSON {
		w.Header().Set("Content-Type", ContentTypeJSON)
		w.WriteHeader(http.StatusOK)
		if res.Rejected == 0 {
			_, _ = io.WriteString(w, "{}")
			return
		}
		var b []byte
		b = append(b, `{"partialSuccess":{"rejectedSpans":"`...)
		b = strconv.AppendInt(b, int64(res.Rejected), 10)
		b = append(b, `","errorMessage":`...)
		b = appendJSONString(b, msg)
		b = append(b, "}}"...)
		_, _ = w.Write(b)
		return
	}
	var b []byte
	if res.Rejected > 0 {
		var ps []byte
		ps = protowire.AppendTag(ps, 1, protowire.VarintType) // rejected_spans
		ps = protowire.AppendVarint(ps, uint64(res.Rejected))
		ps = protowire.AppendTag(ps, 2, protowire.BytesType) // error_message
		ps = protowire.AppendString(ps, msg)
		b = protowire.AppendTag(b, 1, protowire.BytesType) // partial_success
		b = protowire.AppendBytes(b, ps)
	}
	w.Header().Set("Content-Type", ContentTypeProtobuf)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// writeStatus writes an error answer: a google.rpc.Status with the
// message, in the request's encoding.
func writeStatus(w http.ResponseWriter, isJSON bool, code int, msg string) {
	rpc := int32(3) // INVALID_ARGUMENT
	if code == http.StatusServiceUnavailable {
		rpc = 14 // UNAVAILABLE
	}
	if isJSON {
		w.Header().Set("Content-Type", ContentTypeJSON)
		w.WriteHeader(code)
		b := []byte(`{"code":`)
		b = strconv.AppendInt(b, int64(rpc), 10)
		b = append(b, `,"message":`...)
		b = appendJSONString(b, msg)
		_, _ = w.Write(append(b, '}'))
		return
	}
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(rpc))
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendString(b, msg)
	w.Header().Set("Content-Type", ContentTypeProtobuf)
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	return line.AppendString(b, s)
}
