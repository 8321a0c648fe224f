package comply

import (
	"errors"
	"fmt"
	"strings"
)

// MaxMetadataDepth bounds how deeply Interaction.Metadata may nest objects
// and arrays. The Python library's json reader recurses once per level and
// fails far below Go's limits, so a deeper value would be a line that
// comply writes and the Python library cannot read.
const MaxMetadataDepth = 64

// checkInteraction rejects the values no real interaction has.
func checkInteraction(in *Interaction) error {
	switch {
	case in.Latency < 0:
		return &InvalidError{Field: "latency", Err: fmt.Errorf("%v is negative", in.Latency)}
	case in.InputTokens != nil && *in.InputTokens < 0:
		return &InvalidError{Field: "input_tokens", Err: fmt.Errorf("%d is negative", *in.InputTokens)}
	case in.OutputTokens != nil && *in.OutputTokens < 0:
		return &InvalidError{Field: "output_tokens", Err: fmt.Errorf("%d is negative", *in.OutputTokens)}
	}
	return nil
}

// jsonDepth returns the deepest nesting of objects and arrays in the JSON
// text b, which is valid JSON.
func jsonDepth(b []byte) int {
	depth, deepest, inString := 0, 0, false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
			deepest = max(deepest, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

// normalizeID returns id as the store keeps ids: lowercase. An empty id is
// an *InvalidError.
func normalizeID(id string) (string, error) {
	if strings.TrimSpace(id) == "" {
		return "", &InvalidError{Field: "id", Err: errors.New("empty")}
	}
	return strings.ToLower(id), nil
}
