package llmsdk_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/anthropics/anthropic-sdk-go/v2"
	aoption "github.com/anthropics/anthropic-sdk-go/v2/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/llm"
	"github.com/complyhq/comply/llm/llmtest"
	"github.com/complyhq/comply/store/filestore"
)

// The seed's "OpenAI SDK Integration" wraps each call by hand. Here the
// client's transport logs every call, with the last user message as the
// input, the answer as the output, the model, tokens and latency.
func Example_openAI() {
	// A local stand-in for api.openai.com, so that the example runs offline.
	api := llmtest.NewServer()
	defer api.Close()
	dir, _ := os.MkdirTemp("", "ai-audit") // "/var/log/ai-audit" in the seed
	defer os.RemoveAll(dir)

	ctx := context.Background()
	s, err := filestore.Open(ctx, dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	logger, err := comply.New(s, nil) // the Logger closes s
	if err != nil {
		log.Fatal(err)
	}
	defer logger.Close()

	audit := &llm.Transport{Logger: logger}
	client := openai.NewClient(
		option.WithHTTPClient(audit.Client()),
		option.WithBaseURL(api.URL+"/v1"), // leave out for api.openai.com
		option.WithAPIKey("sk-..."),
	)
	resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:    "gpt-4",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hello!")},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Choices[0].Message.Content)

	for e, err := range logger.Entries(ctx, time.Time{}, time.Time{}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("provider=%s model=%s safety_passed=%v input_tokens=%d output_tokens=%d\n",
			e.Provider, e.Model, e.SafetyPassed, *e.InputTokens, *e.OutputTokens)
		fmt.Println("input is the last user message:", e.InputHash == logger.Hash("Hello!"))
	}
	// Output:
	// Hello! How can I help you today?
	// provider=openai model=gpt-4 safety_passed=true input_tokens=9 output_tokens=12
	// input is the last user message: true
}

// A streamed Anthropic call, audited through the SDK's middleware option,
// with a conversation id and metadata from the context. The entry is
// written when the stream ends, with the text reassembled.
func Example_middleware() {
	api := llmtest.NewServer()
	defer api.Close()
	ctx := context.Background()
	dir := mustTemp()
	defer os.RemoveAll(dir)
	s, err := filestore.Open(ctx, dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	logger, err := comply.New(s, nil) // the Logger closes s
	if err != nil {
		log.Fatal(err)
	}
	defer logger.Close()

	audit := &llm.Transport{Logger: logger}
	client := anthropic.NewClient(
		aoption.WithMiddleware(audit.Middleware),
		aoption.WithBaseURL(api.URL), // leave out for api.anthropic.com
		aoption.WithAPIKey("sk-ant-..."),
	)
	ctx = llm.WithConversationID(ctx, "conv-123")
	ctx = llm.WithMetadata(ctx, map[string]any{"user_id": "user-123"})
	stream := client.Messages.NewStreaming(ctx, anthropic.MessageNewParams{
		Model:     "claude-sonnet-4-5",
		MaxTokens: 1024,
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("Hello!"))},
	})
	for stream.Next() {
		if ev, ok := stream.Current().AsAny().(anthropic.ContentBlockDeltaEvent); ok {
			fmt.Print(ev.Delta.Text)
		}
	}
	if err := stream.Err(); err != nil {
		log.Fatal(err)
	}
	fmt.Println()

	for e, err := range logger.Query(ctx, comply.Query{ConversationID: "conv-123"}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("provider=%s model=%s output recorded: %v\n", e.Provider, e.Model, e.OutputHash == logger.Hash("Hello! How can I help you today?"))
	}
	// Output:
	// Hello! How can I help you today?
	// provider=anthropic model=claude-sonnet-4-5 output recorded: true
}

func mustTemp() string {
	dir, err := os.MkdirTemp("", "ai-audit")
	if err != nil {
		log.Fatal(err)
	}
	return dir
}
