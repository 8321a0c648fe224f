package llm

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// Gemini generateContent and streamGenerateContent.

type gemPart struct {
	Text         string `json:"text"`
	Thought      bool   `json:"thought"`
	FunctionCall *struct {
		Name string          `json:"name"`
		Args json.RawMessage `json:"args"`
	} `json:"functionCall"`
}

type gemResponse struct {
	Candidates []struct {
		Content *struct {
			Parts []gemPart `json:"parts"`
		} `json:"content"`
		FinishReason string `json:"finishReason"`
		Index        int    `json:"index"`
	} `json:"candidates"`
	PromptFeedback *struct {
		BlockReason string `json:"blockReason"`
	} `json:"promptFeedback"`
	UsageMetadata *struct {
		PromptTokenCount     *int64 `json:"promptTokenCount"`
		CandidatesTokenCount *int64 `json:"candidatesTokenCount"`
		ThoughtsTokenCount   *int64 `json:"thoughtsTokenCount"`
	} `json:"usageMetadata"`
	ModelVersion string    `json:"modelVersion"`
	ResponseID   string    `json:"responseId"`
	Error        *apiError `json:"error"`
}

// gemFiltered are the finish reasons of a Gemini candidate that a filter
// stopped.
var gemFiltered = []string{"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"}

// gemini records a GenerateContentResponse, whole or a stream's chunk.
func (r *result) gemini(g *gemResponse) {
	r.identify(g.ResponseID, g.ModelVersion, g.Error)
	for _, c := range g.Candidates {
		if c.Content != nil {
			for _, p := range c.Content.Parts {
				switch {
				case p.FunctionCall != nil:
					t := r.tool(min(max(c.Index, 0), 127)<<20+len(r.tools), p.FunctionCall.Name)
					r.setArgs(t, canonicalArgs(string(p.FunctionCall.Args)))
				case !p.Thought:
					r.addText(c.Index, p.Text)
				}
			}
		}
		if c.FinishReason != "" && c.FinishReason != "FINISH_REASON_UNSPECIFIED" {
			r.sawFinish = true
			r.finish = c.FinishReason
			if slices.Contains(gemFiltered, c.FinishReason) {
				r.filtered = true
			}
		}
	}
	if f := g.PromptFeedback; f != nil && f.BlockReason != "" && f.BlockReason != "BLOCK_REASON_UNSPECIFIED" {
		r.sawFinish, r.filtered = true, true
		r.finish = "prompt blocked: " + f.BlockReason
	}
	if u := g.UsageMetadata; u != nil {
		if u.PromptTokenCount != nil {
			r.inTok = intp(u.PromptTokenCount)
		}
		// Thinking tokens are billed as output.
		if u.CandidatesTokenCount != nil || u.ThoughtsTokenCount != nil {
			n := int64(0)
			for _, p := range []*int64{u.CandidatesTokenCount, u.ThoughtsTokenCount} {
				if p != nil {
					n += *p
				}
			}
			r.outTok = &n
		}
	}
}

// parseGemini parses a whole generateContent body, or a
// streamGenerateContent body sent without ?alt=sse: a JSON array of
// chunks.
func (r *result) parseGemini(body []byte) error {
	if b := bytes.TrimSpace(body); len(b) > 0 && b[0] == '[' {
		var chunks []gemResponse
		if err := json.Unmarshal(b, &chunks); err != nil {
			return err
		}
		for i := range chunks {
			r.gemini(&chunks[i])
		}
		return nil
	}
	var g gemResponse
	if err := json.Unmarshal(body, &g); err != nil {
		return err
	}
	r.gemini(&g)
	return nil
}

// Embeddings: OpenAI's /embeddings, Gemini's embedContent and
// batchEmbedContents.

// embeddingsOutput is the output recorded for an embeddings call: a
// summary of the vectors, not the vectors.
type embeddingsOutput struct {
	Type       string `json:"type"` // "embeddings"
	Count      int    `json:"count"`
	Dimensions int    `json:"dimensions"`
	SHA256     string `json:"sha256"`
}

// parseEmbeddings parses an embeddings response and records its output:
// {"type":"embeddings","count":N,"dimensions":D,"sha256":HEX}, HEX the
// SHA-256 of the canonical vectors, "[" V1 "," V2 ... "]" with each Vi the
// vector as the provider sent it (a JSON array compacted, or OpenAI's
// base64 string as a JSON string), in the order of the inputs.
func (r *result) parseEmbeddings(body []byte) error {
	var vecs []json.RawMessage
	switch r.api {
	case apiEmbeddings:
		var o struct {
			Model string `json:"model"`
			Data  []struct {
				Index     int             `json:"index"`
				Embedding json.RawMessage `json:"embedding"`
			} `json:"data"`
			Usage *struct {
				PromptTokens *int64 `json:"prompt_tokens"`
			} `json:"usage"`
			Error *apiError `json:"error"`
		}
		if err := json.Unmarshal(body, &o); err != nil {
			return err
		}
		r.identify("", o.Model, o.Error)
		slices.SortStableFunc(o.Data, func(a, b struct {
			Index     int             `json:"index"`
			Embedding json.RawMessage `json:"embedding"`
		}) int {
			return a.Index - b.Index
		})
		for _, d := range o.Data {
			vecs = append(vecs, d.Embedding)
		}
		if o.Usage != nil {
			r.inTok = intp(o.Usage.PromptTokens)
		}
	case apiGeminiEmbed, apiGeminiBatch:
		type values struct {
			Values json.RawMessage `json:"values"`
		}
		var o struct {
			Embedding  *values   `json:"embedding"`
			Embeddings []values  `json:"embeddings"`
			Error      *apiError `json:"error"`
		}
		if err := json.Unmarshal(body, &o); err != nil {
			return err
		}
		r.identify("", "", o.Error)
		if o.Embedding != nil {
			vecs = append(vecs, o.Embedding.Values)
		}
		for _, e := range o.Embeddings {
			vecs = append(vecs, e.Values)
		}
	}
	if r.errMsg != "" {
		return nil
	}
	if len(vecs) == 0 {
		return errors.New("no embeddings")
	}
	h := sha256.New()
	h.Write([]byte{'['})
	var buf bytes.Buffer
	dims := 0
	for i, v := range vecs {
		buf.Reset()
		if err := json.Compact(&buf, v); err != nil {
			return fmt.Errorf("embedding %d: %w", i, err)
		}
		if i > 0 {
			h.Write([]byte{','})
		}
		h.Write(buf.Bytes())
		if i == 0 {
			dims = dimensions(buf.Bytes())
		}
	}
	h.Write([]byte{']'})
	r.embed = &embeddingsOutput{Type: "embeddings", Count: len(vecs), Dimensions: dims, SHA256: hex.EncodeToString(h.Sum(nil))}
	out, _ := json.Marshal(r.embed)
	r.addText(0, string(out))
	return nil
}

// dimensions returns the length of a compacted vector: a JSON array of
// numbers, or a base64 string of float32s.
func dimensions(v []byte) int {
	switch {
	case len(v) >= 2 && v[0] == '[':
		if len(v) == 2 {
			return 0
		}
		return bytes.Count(v, []byte{','}) + 1
	case len(v) >= 2 && v[0] == '"':
		var s string
		if json.Unmarshal(v, &s) != nil {
			return 0
		}
		return base64.StdEncoding.DecodedLen(len(s)) / 4
	}
	return 0
}
