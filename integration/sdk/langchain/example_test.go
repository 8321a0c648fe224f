package langchain_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/tmc/langchaingo/llms"
	lcopenai "github.com/tmc/langchaingo/llms/openai"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/llm"
	"github.com/complyhq/comply/llm/llmtest"
	"github.com/complyhq/comply/store/filestore"
)

// The seed's "LangChain Integration" wraps the chat model in an audited
// class. In Go the model's HTTP client does it: every call is logged, with
// the call's options as metadata.
func Example() {
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
	chat, err := lcopenai.New(
		lcopenai.WithModel("gpt-4"),
		lcopenai.WithHTTPClient(audit.Client()),
		lcopenai.WithBaseURL(api.URL+"/v1"), // leave out for api.openai.com
		lcopenai.WithToken("sk-..."),
	)
	if err != nil {
		log.Fatal(err)
	}
	ctx = llm.WithMetadata(ctx, map[string]any{"temperature": 0.7})
	resp, err := chat.GenerateContent(ctx, []llms.MessageContent{
		llms.TextParts(llms.ChatMessageTypeHuman, "Hello!"),
	}, llms.WithTemperature(0.7))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Choices[0].Content)

	for e, err := range logger.Entries(ctx, time.Time{}, time.Time{}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("provider=%s model=%s safety_passed=%v input is the last message: %v\n",
			e.Provider, e.Model, e.SafetyPassed, e.InputHash == logger.Hash("Hello!"))
	}
	// Output:
	// Hello! How can I help you today?
	// provider=openai model=gpt-4 safety_passed=true input is the last message: true
}
