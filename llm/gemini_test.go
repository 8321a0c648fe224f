package llm_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/complyhq/comply/llm"
	"github.com/complyhq/comply/llm/llmtest"
)

const geminiBody = `{"systemInstruction":{"parts":[{"text":"Be brief."}]},"contents":[{"role":"user","parts":[{"text":"Hi"}]},{"role":"model","parts":[{"text":"Hello."}]},{"role":"user","parts":[{"text":"Hello!"}]}]}`

// TestGemini: generateContent and streamGenerateContent (server-sent
// events with ?alt=sse, a JSON array without) are audited like the other
// APIs: provider "google", the model from the path.
func TestGemini(t *testing.T) {
	tests := []struct {
		name, path     string
		finish         string // the fake server's FinishReason
		stream, filter bool
	}{
		{"generateContent", "/v1beta/models/gemini-2.5-flash:generateContent", "", false, false},
		{"stream sse", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", "", true, false},
		{"stream json array", "/v1beta/models/gemini-2.5-flash:streamGenerateContent", "", true, false},
		{"safety", "/v1beta/models/gemini-2.5-flash:generateContent", "content_filter", false, true},
		{"safety stream", "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", "content_filter", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := llmtest.NewServer()
			defer srv.Close()
			srv.FinishReason = tt.finish
			tr := newTransport(t)
			resp, _, err := post(t, tr, srv.URL+tt.path, geminiBody, "X-Goog-Api-Key", "AIzaSyTestKey0123456789")
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("%v %v", resp, err)
			}
			e := oneEntry(t, tr)
			md := meta(t, e)
			if e.Provider != "google" || e.Model != "gemini-2.5-flash" || e.InputHash != tr.Logger.Hash("Hello!") ||
				e.OutputHash != tr.Logger.Hash(llmtest.DefaultText) || intv(e.InputTokens) != 9 || intv(e.OutputTokens) != 12 {
				t.Errorf("entry %+v", e)
			}
			api := "generateContent"
			if tt.stream {
				api = "streamGenerateContent"
			}
			if md["api"] != api || md["stream"] != tt.stream || md["error"] != nil {
				t.Errorf("metadata %s", e.Metadata)
			}
			if _, ok := md["ttft_ms"]; ok != (tt.stream && strings.Contains(tt.path, "alt=sse")) {
				t.Errorf("ttft_ms %v", md["ttft_ms"])
			}
			if tt.filter {
				if e.SafetyPassed || e.BlockReason != "finish_reason: SAFETY" || md["finish_reason"] != "SAFETY" {
					t.Errorf("safety_passed=%v block_reason=%q", e.SafetyPassed, e.BlockReason)
				}
			} else if !e.SafetyPassed || md["finish_reason"] != "STOP" {
				t.Errorf("safety_passed=%v block_reason=%q metadata %s", e.SafetyPassed, e.BlockReason, e.Metadata)
			}
		})
	}
}

// TestGeminiWholeConversation: WholeConversation records the system
// instruction and the contents as sent.
func TestGeminiWholeConversation(t *testing.T) {
	srv := llmtest.NewServer()
	defer srv.Close()
	tr := newTransport(t)
	tr.Input = llm.WholeConversation
	if _, _, err := post(t, tr, srv.URL+"/v1beta/models/gemini-2.5-flash:generateContent", geminiBody); err != nil {
		t.Fatal(err)
	}
	var b struct {
		SystemInstruction, Contents json.RawMessage
	}
	json.Unmarshal([]byte(geminiBody), &b)
	want := fmt.Sprintf(`{"systemInstruction":%s,"contents":%s}`, b.SystemInstruction, b.Contents)
	if e := oneEntry(t, tr); e.InputHash != tr.Logger.Hash(want) {
		t.Errorf("input is not the whole conversation")
	}
}

// TestGeminiKeyInQuery: a Gemini key in the URL never reaches the entry,
// not even in a transport error's message, which repeats the URL.
func TestGeminiKeyInQuery(t *testing.T) {
	const key = "AIzaSyTestKey0123456789"
	tr := newTransport(t)
	tr.Base = roundTripFunc(func(req *http.Request) (*http.Response, error) {
		return nil, &url.Error{Op: "Post", URL: req.URL.String(), Err: errors.New("connection refused")}
	})
	post(t, tr, "http://127.0.0.1:1/v1beta/models/gemini-2.5-flash:generateContent?key="+key, geminiBody)
	e := oneEntry(t, tr)
	typ, msg := failure(t, e)
	if typ != llm.ErrorTransport || strings.Contains(string(e.Metadata)+strings.Join(e.Alerts, ""), key) || !strings.Contains(msg, "key=[redacted]") {
		t.Errorf("error %s %q, metadata %s", typ, msg, e.Metadata)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// TestEmbeddings: the OpenAI and Gemini embeddings calls are audited; the
// input is the text (or the inputs as a JSON array), the output a summary
// of the vectors with the SHA-256 of their canonical JSON.
func TestEmbeddings(t *testing.T) {
	vec := func(i int) []float64 {
		v := make([]float64, llmtest.EmbeddingDimensions)
		for j := range v {
			v[j] = float64(i) + float64(j+1)/llmtest.EmbeddingDimensions
		}
		return v
	}
	summary := func(n int) string {
		vs := make([][]float64, n)
		for i := range vs {
			vs[i] = vec(i)
		}
		canon, _ := json.Marshal(vs)
		sum := sha256.Sum256(canon)
		return fmt.Sprintf(`{"type":"embeddings","count":%d,"dimensions":%d,"sha256":"%s"}`, n, llmtest.EmbeddingDimensions, hex.EncodeToString(sum[:]))
	}
	tests := []struct {
		name, path, body, provider, model, api, input string
		count                                         int
		tokens                                        int64
	}{
		{"openai one", "/v1/embeddings", `{"model":"text-embedding-3-small","input":"Hello!"}`,
			"openai", "text-embedding-3-small", "embeddings", "Hello!", 1, 9},
		{"openai batch", "/v1/embeddings", `{"model":"text-embedding-3-small","input":["a", "b"]}`,
			"openai", "text-embedding-3-small", "embeddings", `["a","b"]`, 2, 9},
		{"openai tokens", "/v1/embeddings", `{"model":"text-embedding-3-small","input":[15339, 1917]}`,
			"openai", "text-embedding-3-small", "embeddings", `[15339,1917]`, 1, 9},
		{"gemini one", "/v1beta/models/gemini-embedding-001:embedContent", `{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"Hello!"}]}}`,
			"google", "gemini-embedding-001", "embedContent", "Hello!", 1, -1},
		{"gemini batch", "/v1beta/models/gemini-embedding-001:batchEmbedContents",
			`{"requests":[{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"a"}]}},{"model":"models/gemini-embedding-001","content":{"parts":[{"text":"b"}]}}]}`,
			"google", "gemini-embedding-001", "batchEmbedContents", `["a","b"]`, 2, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := llmtest.NewServer()
			defer srv.Close()
			tr := newTransport(t)
			tr.Prices = llm.Prices{"text-embedding-3-small": {Input: 0.02}}
			if _, _, err := post(t, tr, srv.URL+tt.path, tt.body); err != nil {
				t.Fatal(err)
			}
			e := oneEntry(t, tr)
			md := meta(t, e)
			if e.Provider != tt.provider || e.Model != tt.model || md["api"] != tt.api || !e.SafetyPassed ||
				e.InputHash != tr.Logger.Hash(tt.input) || intv(e.InputTokens) != tt.tokens || e.OutputTokens != nil {
				t.Errorf("entry %+v, metadata %s", e, e.Metadata)
			}
			if e.OutputHash != tr.Logger.Hash(summary(tt.count)) {
				t.Errorf("output hash is not that of %s", summary(tt.count))
			}
			em, _ := md["embeddings"].(map[string]any)
			if em["count"] != float64(tt.count) || em["dimensions"] != float64(llmtest.EmbeddingDimensions) {
				t.Errorf("embeddings metadata %v", md["embeddings"])
			}
			if cost, ok := md["cost_usd"].(float64); ok != (tt.provider == "openai") || ok && cost != 9*0.02/1e6 {
				t.Errorf("cost_usd %v", md["cost_usd"])
			}
		})
	}
}
