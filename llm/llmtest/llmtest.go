// Package llmtest is a fake LLM API server for tests: it speaks the wire
// formats of the OpenAI Chat Completions and Responses APIs, of the
// Anthropic Messages API and of Gemini's generateContent and
// streamGenerateContent, as plain JSON and as server-sent event streams,
// and of the OpenAI and Gemini embeddings APIs, so that real SDK clients
// can be tested offline against 127.0.0.1.
//
//	srv := llmtest.NewServer()
//	defer srv.Close()
//	client := openai.NewClient(option.WithBaseURL(srv.URL+"/v1"), option.WithAPIKey("test"))
//
// The answers are deterministic: fixed ids, the model that was asked for,
// the configured text and token counts.
package llmtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
)

// Default answer of a Handler.
const (
	DefaultText         = "Hello! How can I help you today?"
	DefaultInputTokens  = 9
	DefaultOutputTokens = 12
	// EmbeddingDimensions is the length of the vectors an embeddings
	// call gets: vector i (from 0) is [i+0.125, i+0.25, ..., i+1].
	EmbeddingDimensions = 8
)

// A Handler answers LLM API requests: POST .../chat/completions,
// .../responses, .../messages and .../embeddings, with or without a /v1
// prefix, streamed when the request asks for it; and Gemini's
// .../models/MODEL:generateContent, :streamGenerateContent (server-sent
// events with ?alt=sse, a JSON array of chunks without), :embedContent
// and :batchEmbedContents. Set its fields before serving.
type Handler struct {
	// Text is the answer; "" means DefaultText.
	Text string
	// Refusal, if set, makes every answer a refusal with this text (for
	// Messages, stop_reason "refusal").
	Refusal string
	// FinishReason overrides the finish or stop reason ("content_filter",
	// "length"); "" means the normal one.
	FinishReason string
	// InputTokens and OutputTokens are the usage reported; zero means the
	// defaults.
	InputTokens, OutputTokens int
	// ModelSuffix is appended to the requested model in answers, as the
	// real APIs name the snapshot that answered ("-2025-04-14").
	ModelSuffix string
	// Record, if set, is called with every request before it is answered.
	Record func(Request)
}

// A Request is a request a Handler received.
type Request struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

// A Server is an httptest server on 127.0.0.1 running a Handler, which
// keeps the requests it received.
type Server struct {
	*httptest.Server
	*Handler

	mu   sync.Mutex
	reqs []Request
}

// NewServer starts a Server.
func NewServer() *Server {
	s := &Server{Handler: &Handler{}}
	s.Handler.Record = func(r Request) {
		s.mu.Lock()
		s.reqs = append(s.reqs, r)
		s.mu.Unlock()
	}
	s.Server = httptest.NewServer(s.Handler)
	return s
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	if h.Record != nil {
		h.Record(Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
	}
	var req struct {
		Model         string          `json:"model"`
		Stream        bool            `json:"stream"`
		Input         json.RawMessage `json:"input"`    // embeddings
		Requests      []any           `json:"requests"` // batchEmbedContents
		StreamOptions *struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
	}
	if r.Method != http.MethodPost {
		writeError(w, r.URL.Path, http.StatusMethodNotAllowed, "invalid_request_error", "method not allowed")
		return
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeError(w, r.URL.Path, http.StatusBadRequest, "invalid_request_error", "We could not parse the JSON body of your request.")
		return
	}
	a := answer{h: h, model: req.Model + h.ModelSuffix}
	path := strings.TrimSuffix(r.URL.Path, "/")
	if i := strings.LastIndexByte(path, ':'); i >= 0 && strings.Contains(path, "/models/") {
		model := path[strings.LastIndex(path[:i], "/models/")+len("/models/") : i]
		a.model = model + h.ModelSuffix
		switch path[i+1:] {
		case "generateContent":
			writeJSON(w, a.gemini(true))
			return
		case "streamGenerateContent":
			a.geminiStream(w, r.URL.Query().Get("alt") == "sse")
			return
		case "embedContent":
			writeJSON(w, obj{"embedding": obj{"values": vector(0)}})
			return
		case "batchEmbedContents":
			embs := make([]any, len(req.Requests))
			for i := range embs {
				embs[i] = obj{"values": vector(i)}
			}
			writeJSON(w, obj{"embeddings": embs})
			return
		}
	}
	switch {
	case strings.HasSuffix(path, "/embeddings"):
		writeJSON(w, a.embeddings(req.Input))
	case strings.HasSuffix(path, "/chat/completions"):
		if req.Stream {
			a.chatStream(w, req.StreamOptions != nil && req.StreamOptions.IncludeUsage)
		} else {
			writeJSON(w, a.chat())
		}
	case strings.HasSuffix(path, "/responses"):
		if req.Stream {
			a.responsesStream(w)
		} else {
			writeJSON(w, a.response("completed"))
		}
	case strings.HasSuffix(path, "/messages"):
		if req.Stream {
			a.messagesStream(w)
		} else {
			writeJSON(w, a.message())
		}
	default:
		writeError(w, r.URL.Path, http.StatusNotFound, "not_found_error", "Not found: "+r.URL.Path)
	}
}

// writeError writes an error body in the format of the API of path.
func writeError(w http.ResponseWriter, path string, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if strings.HasSuffix(path, "/messages") {
		fmt.Fprintf(w, `{"type":"error","error":{"type":%q,"message":%q}}`, typ, msg)
		return
	}
	fmt.Fprintf(w, `{"error":{"message":%q,"type":%q,"param":null,"code":null}}`, msg, typ)
}

func writeJSON(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Request-Id", "req_0123456789abcdef")
	w.Write(b)
}

// answer builds the bodies of one answer.
type answer struct {
	h     *Handler
	model string
}

func (a answer) text() string {
	if a.h.Text == "" {
		return DefaultText
	}
	return a.h.Text
}

func (a answer) usage() (in, out int) {
	in, out = a.h.InputTokens, a.h.OutputTokens
	if in == 0 {
		in = DefaultInputTokens
	}
	if out == 0 {
		out = DefaultOutputTokens
	}
	return in, out
}

// words splits s into stream deltas, each word with the space before it.
func words(s string) []string {
	var out []string
	for len(s) > 0 {
		i := strings.IndexByte(s[1:], ' ')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}

type sse struct {
	w http.ResponseWriter
	f http.Flusher
}

func newSSE(w http.ResponseWriter) *sse {
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Request-Id", "req_0123456789abcdef")
	w.WriteHeader(http.StatusOK)
	f, _ := w.(http.Flusher)
	return &sse{w: w, f: f}
}

// send writes one event (no event line if name is "") and flushes it.
func (s *sse) send(name string, v any) {
	var data []byte
	if b, ok := v.(string); ok {
		data = []byte(b)
	} else {
		data, _ = json.Marshal(v)
	}
	if name != "" {
		fmt.Fprintf(s.w, "event: %s\n", name)
	}
	fmt.Fprintf(s.w, "data: %s\n\n", data)
	if s.f != nil {
		s.f.Flush()
	}
}

type obj = map[string]any

// Chat Completions.

const chatID = "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"

func (a answer) chatUsage() obj {
	in, out := a.usage()
	return obj{
		"prompt_tokens": in, "completion_tokens": out, "total_tokens": in + out,
		"prompt_tokens_details":     obj{"cached_tokens": 0, "audio_tokens": 0},
		"completion_tokens_details": obj{"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
	}
}

func (a answer) finish(normal string) string {
	if a.h.FinishReason != "" {
		return a.h.FinishReason
	}
	return normal
}

func (a answer) chat() obj {
	msg := obj{"role": "assistant", "content": a.text(), "refusal": nil, "annotations": []any{}}
	if a.h.Refusal != "" {
		msg["content"], msg["refusal"] = nil, a.h.Refusal
	}
	return obj{
		"id": chatID, "object": "chat.completion", "created": 1741569952, "model": a.model,
		"choices":            []any{obj{"index": 0, "message": msg, "logprobs": nil, "finish_reason": a.finish("stop")}},
		"usage":              a.chatUsage(),
		"service_tier":       "default",
		"system_fingerprint": "fp_ee1d74bde0",
	}
}

func (a answer) chunk(delta obj, finish any, usage any) obj {
	choices := []any{}
	if delta != nil {
		choices = append(choices, obj{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish})
	}
	c := obj{
		"id": chatID, "object": "chat.completion.chunk", "created": 1741569952, "model": a.model,
		"service_tier": "default", "system_fingerprint": "fp_ee1d74bde0", "choices": choices,
	}
	c["usage"] = usage
	return c
}

func (a answer) chatStream(w http.ResponseWriter, includeUsage bool) {
	s := newSSE(w)
	s.send("", a.chunk(obj{"role": "assistant", "content": "", "refusal": nil}, nil, nil))
	if a.h.Refusal != "" {
		for _, wd := range words(a.h.Refusal) {
			s.send("", a.chunk(obj{"refusal": wd}, nil, nil))
		}
	} else {
		for _, wd := range words(a.text()) {
			s.send("", a.chunk(obj{"content": wd}, nil, nil))
		}
	}
	s.send("", a.chunk(obj{}, a.finish("stop"), nil))
	if includeUsage {
		s.send("", a.chunk(nil, nil, a.chatUsage()))
	}
	s.send("", "[DONE]")
}

// Responses.

const (
	respID = "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b"
	itemID = "msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b"
)

func (a answer) outputItem(status string) obj {
	content := []any{obj{"type": "output_text", "text": a.text(), "annotations": []any{}}}
	if a.h.Refusal != "" {
		content = []any{obj{"type": "refusal", "refusal": a.h.Refusal}}
	}
	return obj{"type": "message", "id": itemID, "status": status, "role": "assistant", "content": content}
}

func (a answer) response(status string) obj {
	in, out := a.usage()
	r := obj{
		"id": respID, "object": "response", "created_at": 1741476542, "status": status,
		"error": nil, "incomplete_details": nil, "instructions": nil, "max_output_tokens": nil,
		"model": a.model, "output": []any{}, "parallel_tool_calls": true, "previous_response_id": nil,
		"reasoning": obj{"effort": nil, "summary": nil}, "store": true, "temperature": 1.0,
		"text": obj{"format": obj{"type": "text"}}, "tool_choice": "auto", "tools": []any{}, "top_p": 1.0,
		"truncation": "disabled", "usage": nil, "user": nil, "metadata": obj{},
	}
	if status != "in_progress" {
		r["output"] = []any{a.outputItem("completed")}
		r["usage"] = obj{
			"input_tokens": in, "input_tokens_details": obj{"cached_tokens": 0},
			"output_tokens": out, "output_tokens_details": obj{"reasoning_tokens": 0},
			"total_tokens": in + out,
		}
	}
	if a.h.FinishReason != "" && status != "in_progress" {
		r["status"] = "incomplete"
		r["incomplete_details"] = obj{"reason": a.h.FinishReason}
	}
	return r
}

func (a answer) responsesStream(w http.ResponseWriter) {
	s := newSSE(w)
	seq := 0
	send := func(typ string, ev obj) {
		ev["type"], ev["sequence_number"] = typ, seq
		seq++
		s.send(typ, ev)
	}
	send("response.created", obj{"response": a.response("in_progress")})
	send("response.in_progress", obj{"response": a.response("in_progress")})
	item := a.outputItem("in_progress")
	item["content"] = []any{}
	send("response.output_item.added", obj{"output_index": 0, "item": item})
	pos := obj{"item_id": itemID, "output_index": 0, "content_index": 0}
	with := func(kv obj) obj {
		m := obj{}
		for k, v := range pos {
			m[k] = v
		}
		for k, v := range kv {
			m[k] = v
		}
		return m
	}
	if a.h.Refusal != "" {
		send("response.content_part.added", with(obj{"part": obj{"type": "refusal", "refusal": ""}}))
		for _, wd := range words(a.h.Refusal) {
			send("response.refusal.delta", with(obj{"delta": wd}))
		}
		send("response.refusal.done", with(obj{"refusal": a.h.Refusal}))
		send("response.content_part.done", with(obj{"part": obj{"type": "refusal", "refusal": a.h.Refusal}}))
	} else {
		send("response.content_part.added", with(obj{"part": obj{"type": "output_text", "text": "", "annotations": []any{}}}))
		for _, wd := range words(a.text()) {
			send("response.output_text.delta", with(obj{"delta": wd, "logprobs": []any{}}))
		}
		send("response.output_text.done", with(obj{"text": a.text(), "logprobs": []any{}}))
		send("response.content_part.done", with(obj{"part": obj{"type": "output_text", "text": a.text(), "annotations": []any{}}}))
	}
	send("response.output_item.done", obj{"output_index": 0, "item": a.outputItem("completed")})
	final := a.response("completed")
	if final["status"] == "incomplete" {
		send("response.incomplete", obj{"response": final})
	} else {
		send("response.completed", obj{"response": final})
	}
}

// Messages.

const messageID = "msg_01XFDUDYJgAACzvnptvVoYEL"

func (a answer) stopReason() any {
	if a.h.Refusal != "" {
		return "refusal"
	}
	return a.finish("end_turn")
}

func (a answer) msgText() string {
	if a.h.Refusal != "" {
		return a.h.Refusal
	}
	return a.text()
}

func (a answer) message() obj {
	in, out := a.usage()
	return obj{
		"id": messageID, "type": "message", "role": "assistant", "model": a.model,
		"content":     []any{obj{"type": "text", "text": a.msgText()}},
		"stop_reason": a.stopReason(), "stop_sequence": nil,
		"usage": obj{
			"input_tokens": in, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
			"output_tokens": out, "service_tier": "standard",
		},
	}
}

func (a answer) messagesStream(w http.ResponseWriter) {
	in, out := a.usage()
	s := newSSE(w)
	start := a.message()
	start["content"], start["stop_reason"] = []any{}, nil
	start["usage"] = obj{"input_tokens": in, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 1, "service_tier": "standard"}
	s.send("message_start", obj{"type": "message_start", "message": start})
	s.send("content_block_start", obj{"type": "content_block_start", "index": 0, "content_block": obj{"type": "text", "text": ""}})
	s.send("ping", obj{"type": "ping"})
	for _, wd := range words(a.msgText()) {
		s.send("content_block_delta", obj{"type": "content_block_delta", "index": 0, "delta": obj{"type": "text_delta", "text": wd}})
	}
	s.send("content_block_stop", obj{"type": "content_block_stop", "index": 0})
	s.send("message_delta", obj{"type": "message_delta", "delta": obj{"stop_reason": a.stopReason(), "stop_sequence": nil}, "usage": obj{"output_tokens": out}})
	s.send("message_stop", obj{"type": "message_stop"})
}

// Gemini.

const geminiResponseID = "wLZxaL6_J8yZ1dkP5tXr2A0"

func (a answer) geminiFinish() string {
	if a.h.Refusal != "" || a.h.FinishReason == "content_filter" {
		return "SAFETY"
	}
	if a.h.FinishReason != "" {
		return a.h.FinishReason
	}
	return "STOP"
}

// gemini returns a GenerateContentResponse: the whole answer, or (whole
// false) a chunk without finish reason or usage, to which the caller adds
// the text.
func (a answer) gemini(whole bool) obj {
	in, out := a.usage()
	text := a.text()
	if a.h.Refusal != "" {
		text = a.h.Refusal
	}
	cand := obj{"content": obj{"role": "model", "parts": []any{obj{"text": text}}}, "index": 0}
	r := obj{"candidates": []any{cand}, "modelVersion": a.model, "responseId": geminiResponseID}
	if whole {
		cand["finishReason"] = a.geminiFinish()
		r["usageMetadata"] = obj{"promptTokenCount": in, "candidatesTokenCount": out, "totalTokenCount": in + out}
	}
	return r
}

func (a answer) geminiStream(w http.ResponseWriter, sse bool) {
	text := a.text()
	if a.h.Refusal != "" {
		text = a.h.Refusal
	}
	ws := words(text)
	chunks := make([]obj, len(ws))
	for i, wd := range ws {
		c := a.gemini(i == len(ws)-1)
		c["candidates"].([]any)[0].(obj)["content"] = obj{"role": "model", "parts": []any{obj{"text": wd}}}
		chunks[i] = c
	}
	if !sse {
		writeJSON(w, chunks)
		return
	}
	s := newSSE(w)
	for _, c := range chunks {
		s.send("", c)
	}
}

// Embeddings.

// vector returns the i-th embedding of an answer.
func vector(i int) []float64 {
	v := make([]float64, EmbeddingDimensions)
	for j := range v {
		v[j] = float64(i) + float64(j+1)/EmbeddingDimensions
	}
	return v
}

// embeddings answers an OpenAI embeddings request: one vector per input.
func (a answer) embeddings(input json.RawMessage) obj {
	n := 1
	var list []json.RawMessage
	if json.Unmarshal(input, &list) == nil && len(list) > 0 {
		if json.Unmarshal(list[0], new(float64)) != nil {
			n = len(list) // an array of inputs, not of tokens
		}
	}
	data := make([]any, n)
	for i := range data {
		data[i] = obj{"object": "embedding", "index": i, "embedding": vector(i)}
	}
	in, _ := a.usage()
	return obj{"object": "list", "data": data, "model": a.model, "usage": obj{"prompt_tokens": in, "total_tokens": in}}
}
