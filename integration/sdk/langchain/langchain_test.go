package langchain

import (
	"context"
	"strings"
	"testing"

	"github.com/tmc/langchaingo/llms"
	lcopenai "github.com/tmc/langchaingo/llms/openai"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/llm"
	"github.com/complyhq/comply/llm/llmtest"
	"github.com/complyhq/comply/store/memstore"
)

// TestLangChain drives LangChain Go's OpenAI model through the Transport,
// plain and streamed: the model gets the answer, and exactly one entry
// records the call.
func TestLangChain(t *testing.T) {
	for _, stream := range []bool{false, true} {
		name := "json"
		if stream {
			name = "stream"
		}
		t.Run(name, func(t *testing.T) {
			srv := llmtest.NewServer()
			defer srv.Close()
			logger, err := comply.New(memstore.New(0), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer logger.Close()
			tr := &llm.Transport{Logger: logger, OnError: func(err error) { t.Error(err) }}
			model, err := lcopenai.New(
				lcopenai.WithModel("gpt-4"),
				lcopenai.WithToken("sk-test-key-0123456789"),
				lcopenai.WithBaseURL(srv.URL+"/v1"),
				lcopenai.WithHTTPClient(tr.Client()),
			)
			if err != nil {
				t.Fatal(err)
			}
			ctx := llm.WithConversationID(t.Context(), "conv-lc")
			ctx = llm.WithMetadata(ctx, map[string]any{"temperature": 0.7})
			var opts []llms.CallOption
			var streamed strings.Builder
			if stream {
				opts = append(opts, llms.WithStreamingFunc(func(_ context.Context, chunk []byte) error {
					streamed.Write(chunk)
					return nil
				}))
			}
			resp, err := model.GenerateContent(ctx, []llms.MessageContent{
				llms.TextParts(llms.ChatMessageTypeSystem, "You are a helpful assistant."),
				llms.TextParts(llms.ChatMessageTypeHuman, "Hello!"),
			}, opts...)
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.Choices[0].Content; got != llmtest.DefaultText {
				t.Errorf("LangChain got %q", got)
			}
			if stream && streamed.String() != llmtest.DefaultText {
				t.Errorf("streamed %q", streamed.String())
			}
			var es []comply.Entry
			for e, err := range logger.Query(context.Background(), comply.Query{}) {
				if err != nil {
					t.Fatal(err)
				}
				es = append(es, e)
			}
			if len(es) != 1 {
				t.Fatalf("%d entries", len(es))
			}
			e := es[0]
			if e.Provider != "openai" || e.Model != "gpt-4" || e.ConversationID != "conv-lc" || !e.SafetyPassed ||
				e.InputHash != logger.Hash("Hello!") || e.OutputHash != logger.Hash(llmtest.DefaultText) {
				t.Errorf("entry %+v", e)
			}
			if stream && (e.InputTokens == nil || *e.InputTokens != llmtest.DefaultInputTokens) {
				t.Errorf("stream usage not recorded: %v", e.InputTokens)
			}
			if !strings.Contains(string(e.Metadata), `"temperature": 0.7`) {
				t.Errorf("metadata %s", e.Metadata)
			}
			for _, r := range srv.Requests() {
				for k := range r.Header {
					if strings.HasPrefix(strings.ToLower(k), "x-comply-") {
						t.Errorf("header %s reached the upstream", k)
					}
				}
			}
		})
	}
}
