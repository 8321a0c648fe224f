package llmsdk_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/complyhq/comply/llm"
	"github.com/complyhq/comply/llm/llmtest"
)

const apiKey = "sk-test-0123456789abcdefghijklmnop"

// An sdkCase calls a fake server through an SDK audited by tr and returns
// the text the SDK gave back.
type sdkCase struct {
	name     string
	provider string
	api      string
	model    string
	stream   bool
	call     func(ctx context.Context, url string, tr *llm.Transport) (string, error)
}

func openaiClient(url string, tr *llm.Transport, viaMiddleware bool) openai.Client {
	opts := []option.RequestOption{option.WithBaseURL(url + "/v1"), option.WithAPIKey(apiKey), option.WithMaxRetries(0)}
	if viaMiddleware {
		opts = append(opts, option.WithMiddleware(tr.Middleware))
	} else {
		opts = append(opts, option.WithHTTPClient(tr.Client()))
	}
	return openai.NewClient(opts...)
}

func anthropicClient(url string, tr *llm.Transport, viaMiddleware bool) anthropic.Client {
	opts := []aoption.RequestOption{aoption.WithoutEnvironmentDefaults(), aoption.WithBaseURL(url), aoption.WithAPIKey(apiKey), aoption.WithMaxRetries(0)}
	if viaMiddleware {
		opts = append(opts, aoption.WithMiddleware(tr.Middleware))
	} else {
		opts = append(opts, aoption.WithHTTPClient(tr.Client()))
	}
	return anthropic.NewClient(opts...)
}

var chatMessages = []openai.ChatCompletionMessageParamUnion{
	openai.SystemMessage("You are a helpful assistant."),
	openai.UserMessage("What is the weather today?"),
	openai.AssistantMessage("I don't have access to real-time weather data."),
	openai.UserMessage("Hello!"),
}

func chatJSON(viaMiddleware bool) func(ctx context.Context, url string, tr *llm.Transport) (string, error) {
	return func(ctx context.Context, url string, tr *llm.Transport) (string, error) {
		c := openaiClient(url, tr, viaMiddleware)
		resp, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4.1", Messages: chatMessages})
		if err != nil {
			return "", err
		}
		if resp.Usage.PromptTokens != llmtest.DefaultInputTokens {
			return "", fmt.Errorf("SDK usage: %+v", resp.Usage)
		}
		return resp.Choices[0].Message.Content, nil
	}
}

func chatStream(ctx context.Context, url string, tr *llm.Transport) (string, error) {
	c := openaiClient(url, tr, false)
	s := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
		Model: "gpt-4.1", Messages: chatMessages,
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	var acc openai.ChatCompletionAccumulator
	for s.Next() {
		acc.AddChunk(s.Current())
	}
	if err := s.Err(); err != nil {
		return "", err
	}
	s.Close()
	return acc.Choices[0].Message.Content, nil
}

func responsesJSON(ctx context.Context, url string, tr *llm.Transport) (string, error) {
	c := openaiClient(url, tr, false)
	resp, err := c.Responses.New(ctx, responses.ResponseNewParams{
		Model: "gpt-4.1",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Hello!")},
	})
	if err != nil {
		return "", err
	}
	return resp.OutputText(), nil
}

func responsesStream(ctx context.Context, url string, tr *llm.Transport) (string, error) {
	c := openaiClient(url, tr, false)
	s := c.Responses.NewStreaming(ctx, responses.ResponseNewParams{
		Model: "gpt-4.1",
		Input: responses.ResponseNewParamsInputUnion{OfInputItemList: responses.ResponseInputParam{
			responses.ResponseInputItemParamOfMessage("Say hi.", responses.EasyInputMessageRoleUser),
			responses.ResponseInputItemParamOfMessage("Hi!", responses.EasyInputMessageRoleAssistant),
			responses.ResponseInputItemParamOfMessage("Hello!", responses.EasyInputMessageRoleUser),
		}},
	})
	var text string
	for s.Next() {
		if ev := s.Current(); ev.Type == "response.output_text.delta" {
			text += ev.Delta
		}
	}
	if err := s.Err(); err != nil {
		return "", err
	}
	s.Close()
	return text, nil
}

var anthropicParams = anthropic.MessageNewParams{
	Model:     "claude-sonnet-4-5",
	MaxTokens: 1024,
	System:    []anthropic.TextBlockParam{{Text: "You are a helpful assistant."}},
	Messages: []anthropic.MessageParam{
		anthropic.NewUserMessage(anthropic.NewTextBlock("What is the weather today?")),
		anthropic.NewAssistantMessage(anthropic.NewTextBlock("I don't have access to real-time weather data.")),
		anthropic.NewUserMessage(anthropic.NewTextBlock("Hello!")),
	},
}

func messagesJSON(viaMiddleware bool) func(ctx context.Context, url string, tr *llm.Transport) (string, error) {
	return func(ctx context.Context, url string, tr *llm.Transport) (string, error) {
		c := anthropicClient(url, tr, viaMiddleware)
		msg, err := c.Messages.New(ctx, anthropicParams)
		if err != nil {
			return "", err
		}
		return msg.Content[0].Text, nil
	}
}

func messagesStream(ctx context.Context, url string, tr *llm.Transport) (string, error) {
	c := anthropicClient(url, tr, false)
	s := c.Messages.NewStreaming(ctx, anthropicParams)
	var msg anthropic.Message
	for s.Next() {
		if err := msg.Accumulate(s.Current()); err != nil {
			return "", err
		}
	}
	if err := s.Err(); err != nil {
		return "", err
	}
	s.Close()
	if len(msg.Content) == 0 {
		return "", nil
	}
	return msg.Content[0].Text, nil
}

var sdkCases = []sdkCase{
	{"openai/chat", "openai", "chat.completions", "gpt-4.1", false, chatJSON(false)},
	{"openai/chat/middleware", "openai", "chat.completions", "gpt-4.1", false, chatJSON(true)},
	{"openai/chat/stream", "openai", "chat.completions", "gpt-4.1", true, chatStream},
	{"openai/responses", "openai", "responses", "gpt-4.1", false, responsesJSON},
	{"openai/responses/stream", "openai", "responses", "gpt-4.1", true, responsesStream},
	{"anthropic/messages", "anthropic", "messages", "claude-sonnet-4-5", false, messagesJSON(false)},
	{"anthropic/messages/middleware", "anthropic", "messages", "claude-sonnet-4-5", false, messagesJSON(true)},
	{"anthropic/messages/stream", "anthropic", "messages", "claude-sonnet-4-5", true, messagesStream},
}

// TestSDKs drives the official SDKs through the Transport against a fake
// server: the SDK gets the answer, and exactly one entry records the call.
func TestSDKs(t *testing.T) {
	for _, tc := range sdkCases {
		t.Run(tc.name, func(t *testing.T) {
			srv := llmtest.NewServer()
			defer srv.Close()
			srv.ModelSuffix = "-2025-04-14"
			tr := newTransport(t)
			ctx := llm.WithConversationID(t.Context(), "conv-42")
			ctx = llm.WithMetadata(ctx, map[string]any{"user_id": "user-123", "session_id": "sess-9"})

			got, err := tc.call(ctx, srv.URL, tr)
			if err != nil {
				t.Fatal(err)
			}
			if got != llmtest.DefaultText {
				t.Errorf("SDK got %q, want %q", got, llmtest.DefaultText)
			}
			e := oneEntry(t, tr)
			checks := []struct {
				what      string
				got, want any
			}{
				{"input hash", e.InputHash, tr.Logger.Hash("Hello!")},
				{"output hash", e.OutputHash, tr.Logger.Hash(llmtest.DefaultText)},
				{"provider", e.Provider, tc.provider},
				{"model", e.Model, tc.model + "-2025-04-14"},
				{"conversation id", e.ConversationID, "conv-42"},
				{"safety passed", e.SafetyPassed, true},
				{"block reason", e.BlockReason, ""},
				{"input tokens", intv(e.InputTokens), int64(llmtest.DefaultInputTokens)},
				{"output tokens", intv(e.OutputTokens), int64(llmtest.DefaultOutputTokens)},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
				}
			}
			if e.LatencyMS <= 0 {
				t.Errorf("latency_ms = %v", e.LatencyMS)
			}
			md := meta(t, e)
			wantMD := map[string]any{
				"user_id": "user-123", "session_id": "sess-9", "api": tc.api, "stream": tc.stream,
				"http_status": float64(200), "requested_model": tc.model,
			}
			for k, v := range wantMD {
				if md[k] != v {
					t.Errorf("metadata %s = %v, want %v (all: %s)", k, md[k], v, e.Metadata)
				}
			}
			if md["response_id"] == nil || md["request_id"] != "req_0123456789abcdef" {
				t.Errorf("metadata lacks response_id or request_id: %s", e.Metadata)
			}
			reqs := srv.Requests()
			if len(reqs) != 1 {
				t.Fatalf("upstream got %d requests", len(reqs))
			}
			noComplyHeaders(t, reqs[0].Header)
			if h := reqs[0].Header; h.Get("Authorization") != "Bearer "+apiKey && h.Get("X-Api-Key") != apiKey {
				t.Errorf("the API key did not reach the upstream")
			}
			if st := tr.Stats(); st != (llm.Stats{Audited: 1, Logged: 1}) {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestHeadersCarryContext sets the conversation id and metadata with
// headers, as a client in any language does through the proxy.
func TestHeadersCarryContext(t *testing.T) {
	srv := llmtest.NewServer()
	defer srv.Close()
	tr := newTransport(t)
	c := openai.NewClient(option.WithBaseURL(srv.URL+"/v1"), option.WithAPIKey(apiKey), option.WithHTTPClient(tr.Client()),
		option.WithHeader(llm.HeaderConversationID, "conv-h"),
		option.WithHeader(llm.HeaderMetadata, `{"user_id": "u-7", "cost_center": 42, "http_status": "forged"}`),
		option.WithHeader("X-Comply-Other", "x"))
	ctx := llm.WithConversationID(t.Context(), "conv-ctx")
	ctx = llm.WithMetadata(ctx, map[string]any{"team": "search", "user_id": "from-ctx"})
	if _, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4.1", Messages: chatMessages}); err != nil {
		t.Fatal(err)
	}
	e := oneEntry(t, tr)
	if e.ConversationID != "conv-h" {
		t.Errorf("conversation id %q, want the header's", e.ConversationID)
	}
	md := meta(t, e)
	if md["user_id"] != "u-7" || md["team"] != "search" || md["http_status"] != float64(200) {
		t.Errorf("metadata %s", e.Metadata)
	}
	if !regexp.MustCompile(`"cost_center": ?42[,}]`).Match(e.Metadata) {
		t.Errorf("the header's number was not kept as written: %s", e.Metadata)
	}
	noComplyHeaders(t, srv.Requests()[0].Header)
}

// TestSDKRetries: each attempt of an SDK's retries is an entry of its own,
// numbered.
func TestSDKRetries(t *testing.T) {
	h := &llmtest.Handler{}
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `{"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":null}}`)
			return
		}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	tr := newTransport(t)
	c := openai.NewClient(option.WithBaseURL(srv.URL+"/v1"), option.WithAPIKey(apiKey), option.WithHTTPClient(tr.Client()),
		option.WithMaxRetries(1), option.WithMaxRetryDelay(time.Millisecond))
	if _, err := c.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: "gpt-4.1", Messages: chatMessages}); err != nil {
		t.Fatal(err)
	}
	es := entries(t, tr)
	if len(es) != 2 {
		t.Fatalf("%d entries, want 2", len(es))
	}
	// The SDK closes the body of an attempt it retries unread: the status
	// text stands in for the message.
	if typ, msg := failure(t, es[0]); typ != llm.ErrorHTTP || msg != "http 500: Internal Server Error" || meta(t, es[0])["retry"] != nil {
		t.Errorf("first attempt: %q %s", es[0].BlockReason, es[0].Metadata)
	}
	if !es[1].SafetyPassed || meta(t, es[1])["retry"] != float64(1) {
		t.Errorf("second attempt: %q %s", es[1].BlockReason, es[1].Metadata)
	}
}
