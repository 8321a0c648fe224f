package proxysdk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/llm"
	"github.com/complyhq/comply/llm/llmtest"
	"github.com/complyhq/comply/proxy"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/filestore"
)

// The shared helpers live in llmtest.
var (
	memLogger   = llmtest.MemLogger
	allEntries  = llmtest.Entries
	callError   = llmtest.Failure
	waitEntries = llmtest.WaitEntries
)

const apiKey = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"

// The helpers below are those of package proxy's own tests that the SDK
// tests share.

func get(u string) (*http.Response, []byte, error) {
	resp, err := http.Get(u)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// failStore is a store whose every Append fails.
type failStore struct{ store.Store }

func (failStore) Append(context.Context, ...store.Record) error { return errors.New("disk full") }
func (failStore) Scan(context.Context, store.Query) iter.Seq2[store.Record, error] {
	return func(func(store.Record, error) bool) {}
}
func (failStore) Close() error { return nil }

// TestSDKsThroughProxy points the official SDKs at the proxy: they get
// their answers, each call is logged once, the API key reaches the
// upstream and never the audit log's files.
func TestSDKsThroughProxy(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := filestore.Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	logger, err := comply.New(st, nil)
	if err != nil {
		t.Fatal(err)
	}
	up := llmtest.NewServer()
	defer up.Close()
	u, _ := url.Parse(up.URL)
	tr := &llm.Transport{Logger: logger, Base: proxy.UpstreamTransport(), OnError: func(err error) { t.Error(err) }}
	p := httptest.NewServer(proxy.New(u, tr))
	defer p.Close()

	oc := openai.NewClient(option.WithBaseURL(p.URL+"/v1"), option.WithAPIKey(apiKey), option.WithMaxRetries(0),
		option.WithHeader(llm.HeaderConversationID, "conv-p"), option.WithHeader(llm.HeaderMetadata, `{"app":"billing"}`))
	ac := anthropic.NewClient(aoption.WithoutEnvironmentDefaults(), aoption.WithBaseURL(p.URL), aoption.WithAPIKey(apiKey), aoption.WithMaxRetries(0),
		aoption.WithHeader(llm.HeaderConversationID, "conv-p"), aoption.WithHeader(llm.HeaderMetadata, `{"app":"billing"}`))
	msgs := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello!")}
	aparams := anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 64,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hello!"))}}

	calls := []struct {
		name, provider string
		call           func() (string, error)
	}{
		{"openai/chat", "openai", func() (string, error) {
			r, err := oc.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4.1", Messages: msgs})
			if err != nil {
				return "", err
			}
			return r.Choices[0].Message.Content, nil
		}},
		{"openai/chat/stream", "openai", func() (string, error) {
			s := oc.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "gpt-4.1", Messages: msgs,
				StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}})
			defer s.Close()
			var acc openai.ChatCompletionAccumulator
			for s.Next() {
				acc.AddChunk(s.Current())
			}
			if s.Err() != nil {
				return "", s.Err()
			}
			return acc.Choices[0].Message.Content, nil
		}},
		{"openai/responses/stream", "openai", func() (string, error) {
			s := oc.Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: "gpt-4.1",
				Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Hello!")}})
			defer s.Close()
			var text string
			for s.Next() {
				if ev := s.Current(); ev.Type == "response.output_text.delta" {
					text += ev.Delta
				}
			}
			return text, s.Err()
		}},
		{"anthropic/messages", "anthropic", func() (string, error) {
			m, err := ac.Messages.New(ctx, aparams)
			if err != nil {
				return "", err
			}
			return m.Content[0].Text, nil
		}},
		{"anthropic/messages/stream", "anthropic", func() (string, error) {
			s := ac.Messages.NewStreaming(ctx, aparams)
			defer s.Close()
			var m anthropic.Message
			for s.Next() {
				m.Accumulate(s.Current())
			}
			if s.Err() != nil {
				return "", s.Err()
			}
			return m.Content[0].Text, nil
		}},
	}
	for i, c := range calls {
		got, err := c.call()
		if err != nil || got != llmtest.DefaultText {
			t.Fatalf("%s: got %q, %v", c.name, got, err)
		}
		es := waitEntries(t, logger, i+1)
		e := es[len(es)-1]
		if e.Provider != c.provider || !e.SafetyPassed || e.ConversationID != "conv-p" ||
			e.InputHash != logger.Hash("Hello!") || e.OutputHash != logger.Hash(llmtest.DefaultText) ||
			e.InputTokens == nil || *e.InputTokens != llmtest.DefaultInputTokens {
			t.Errorf("%s: entry %+v", c.name, e)
		}
		if !strings.Contains(string(e.Metadata), `"app": "billing"`) {
			t.Errorf("%s: metadata %s", c.name, e.Metadata)
		}
	}
	for _, r := range up.Requests() {
		for k := range r.Header {
			if strings.HasPrefix(strings.ToLower(k), "x-comply-") {
				t.Errorf("header %s reached the upstream", k)
			}
		}
		if r.Header.Get("Authorization") != "Bearer "+apiKey && r.Header.Get("X-Api-Key") != apiKey {
			t.Errorf("the client's API key did not reach the upstream: %v", r.Header)
		}
	}
	if err := logger.Close(); err != nil {
		t.Fatal(err)
	}
	// The key is nowhere in the audit log's files.
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(apiKey)) || bytes.Contains(b, []byte(apiKey[8:])) {
			t.Errorf("%s holds the API key", path)
		}
		return nil
	})
}

// TestUpstreamDownSDK: the SDKs report the proxy's 502 as an API error,
// and each call is an entry. Package proxy's TestUpstreamDown checks the
// 502 itself.
func TestUpstreamDownSDK(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	u, _ := url.Parse("http://" + addr)
	logger := memLogger(t)
	p := httptest.NewServer(proxy.New(u, &llm.Transport{Logger: logger}))
	defer p.Close()

	oc := openai.NewClient(option.WithBaseURL(p.URL+"/v1"), option.WithAPIKey(apiKey), option.WithMaxRetries(0))
	_, err := oc.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: "gpt-4.1",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello!")}})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 502 || !strings.Contains(apiErr.Message, "upstream could not be reached") {
		t.Errorf("SDK error %v", err)
	}
	ac := anthropic.NewClient(aoption.WithoutEnvironmentDefaults(), aoption.WithBaseURL(p.URL), aoption.WithAPIKey(apiKey), aoption.WithMaxRetries(0))
	_, err = ac.Messages.New(t.Context(), anthropic.MessageNewParams{Model: "claude-sonnet-4-5", MaxTokens: 64,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hello!"))}})
	var aErr *anthropic.Error
	if !errors.As(err, &aErr) || aErr.StatusCode != 502 {
		t.Errorf("SDK error %v", err)
	}
	// A transport error, not a safety outcome: the entry passes the safety
	// checks and says what failed in its "error" metadata.
	for _, e := range waitEntries(t, logger, 2) {
		var md struct {
			Error struct{ Type, Message string } `json:"error"`
		}
		json.Unmarshal(e.Metadata, &md)
		if !e.SafetyPassed || e.BlockReason != "" || md.Error.Type != llm.ErrorTransport || !strings.HasPrefix(md.Error.Message, "upstream error: ") {
			t.Errorf("entry safety=%v reason=%q metadata %s", e.SafetyPassed, e.BlockReason, e.Metadata)
		}
	}
}

// TestWriteModesSDK: fail-closed, the SDK reports the failure to write the
// entry; fail-open, it gets its answer, and /healthz counts. Package
// proxy's TestWriteModes checks raw clients.
func TestWriteModesSDK(t *testing.T) {
	for _, failOpen := range []bool{false, true} {
		t.Run(fmt.Sprintf("failOpen=%v", failOpen), func(t *testing.T) {
			logger, err := comply.New(failStore{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			up := llmtest.NewServer()
			defer up.Close()
			u, _ := url.Parse(up.URL)
			var mu sync.Mutex
			var reported int
			tr := &llm.Transport{Logger: logger, Base: proxy.UpstreamTransport(), FailOpen: failOpen,
				OnError: func(error) { mu.Lock(); reported++; mu.Unlock() }}
			p := httptest.NewServer(proxy.New(u, tr))
			defer p.Close()
			oc := openai.NewClient(option.WithBaseURL(p.URL+"/v1"), option.WithAPIKey(apiKey), option.WithMaxRetries(0))
			_, err = oc.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: "gpt-4.1",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello!")}})
			if (err == nil) != failOpen {
				t.Errorf("SDK error %v", err)
			}
			const n = 1
			deadline := time.Now().Add(5 * time.Second)
			for tr.Stats().WriteFailed < n && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			resp, body, err := get(p.URL + proxy.HealthPath)
			if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("healthz after write failures: %v %v", resp, err)
			}
			var h map[string]any
			json.Unmarshal(body, &h)
			wantOpen := 0.0
			if failOpen {
				wantOpen = n
			}
			if h["status"] != "degraded" || h["audited"] != float64(n) || h["write_failed"] != float64(n) || h["failed_open"] != wantOpen {
				t.Errorf("healthz %s", body)
			}
			mu.Lock()
			if reported != n {
				t.Errorf("OnError called %d times, want %d", reported, n)
			}
			mu.Unlock()
		})
	}
}
