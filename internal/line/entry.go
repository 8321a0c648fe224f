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
// BlockReason), unless Empty holds the field: then it is the empty string
// "". Nil and empty slices both encode as []. Nil Metadata encodes as {}.
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
	Empty              EmptyFields
}

// EmptyFields is a set of optional string fields that hold the empty string
// "" rather than null. comply writes null for an empty optional string, but
// the Python library writes "" when it is given one ("output_content": "");
// Decode records such fields here, and Append writes them back as "", so
// that the line survives a round trip byte for byte. A field that holds a
// value ignores its bit.
type EmptyFields uint8

// The optional string fields of an EmptyFields set.
const (
	EmptyInputContent EmptyFields = 1 << iota
	EmptyOutputContent
	EmptyProvider
	EmptyModel
	EmptyConversationID
	EmptyBlockReason
)

// emptyBit returns the EmptyFields bit of field f, 0 for a field that is not
// an optional string.
func emptyBit(f int) EmptyFields {
	switch f {
	case fInputContent:
		return EmptyInputContent
	case fOutputContent:
		return EmptyOutputContent
	case fProvider:
		return EmptyProvider
	case fModel:
		return EmptyModel
	case fConversationID:
		return EmptyConversationID
	case fBlockReason:
		return EmptyBlockReason
	}
	return 0
}
