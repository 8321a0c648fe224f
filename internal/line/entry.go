package line

import (
	"encoding/json"
	"time"
)

// Entry is one audit entry in the seed's schema, decoded. Its fields are
// identical to comply.Entry so the two convert into each other with a plain
// type conversion; keep them in step.
//
// The empty string stands for JSON null in the optional string fields
// (InputContent, OutputContent, Provider, Model, ConversationID,
// BlockReason). Nil and empty slices both encode as []. Nil Metadata encodes
// as {}.
type Entry struct {
	ID                 string
	Timestamp          time.Time
	InputHash          string
	OutputHash         string
	InputContent       string
	OutputContent      string
	Provider           string
	Model              string
	ConversationID     string
	SafetyPassed       bool
	DetectorsTriggered []string
	BlockReason        string
	Alerts             []string
	LatencyMS          float64
	InputTokens        *int64
	OutputTokens       *int64
	Metadata           json.RawMessage
}
