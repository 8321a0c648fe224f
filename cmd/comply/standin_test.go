package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"syscall"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// Stand-ins for the outside world of the README's proxy example: the
// OpenAI API, and an app that calls it through the proxy.

// standInAnswer is what the stand-in upstream answers every chat
// completion with.
const standInAnswer = "Hello from the stand-in."

// standInKey is the API key the chat command sends; the stand-in upstream
// checks that the proxy passed it on.
const standInKey = "sk-stand-in"

func cmdFreeport(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: freeport VAR")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	addr := ln.Addr().String()
	ts.Check(ln.Close())
	ts.Setenv(args[0], addr)
}

func cmdUpstream(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: upstream VAR")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+standInKey {
			http.Error(w, `{"error": {"message": "no API key"}}`, http.StatusUnauthorized)
			return
		}
		var req struct {
			Model string `json:"model"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, `{"error": {"message": "bad request"}}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"id": "chatcmpl-stand-in", "object": "chat.completion", "created": 1767225600, "model": req.Model,
			"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": standInAnswer}}},
			"usage": map[string]any{"prompt_tokens": 9, "completion_tokens": 6, "total_tokens": 15},
		})
	}))
	ts.Defer(srv.Close)
	ts.Setenv(args[0], srv.URL)
}

func cmdChat(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: chat BASEURL")
	}
	body := []byte(`{"model": "gpt-4", "messages": [{"role": "user", "content": "Hello!"}]}`)
	// The proxy starts in the background: wait for it to listen.
	var resp *http.Response
	for deadline := time.Now().Add(10 * time.Second); ; {
		req, err := http.NewRequest(http.MethodPost, args[0]+"/chat/completions", bytes.NewReader(body))
		ts.Check(err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+standInKey)
		resp, err = http.DefaultClient.Do(req)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.ECONNREFUSED) || time.Now().After(deadline) {
			ts.Fatalf("chat: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	ts.Check(err)
	if resp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte(standInAnswer)) {
		ts.Fatalf("chat: status %d, body %s", resp.StatusCode, b)
	}
}
