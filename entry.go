package comply

import (
	"encoding/json"
	"time"

	"github.com/complyhq/comply/internal/line"
)

// An Interaction is what a caller logs: one exchange with an AI system. It
// carries every argument of the seed's log() call.
//
// The zero value of SafetyFailed means the safety checks passed, as the
// seed's default safety_passed=True does, so a failure is never logged by
// accident.
type Interaction struct {
	Input  string // the prompt or request; hashed, and stored encrypted only with StoreContent
	Output string // the response; "" for a blocked request

	// InputHash, if set, is stored as the input's hash instead of the hash
	// of Input, which is then not stored even with StoreContent: for an
	// input too large to hold in memory, hashed as it streamed by with
	// Logger.NewContentHash.
	InputHash string

	Provider       string // e.g. "openai"; "" is stored as null
	Model          string // e.g. "gpt-4"; "" is stored as null
	ConversationID string // links related interactions; "" is stored as null

	SafetyFailed       bool     // the safety checks failed or the request was blocked
	DetectorsTriggered []string // names of the detectors that fired
	BlockReason        string   // why the request was blocked; "" is stored as null
	Alerts             []string // warning messages

	// Time is when the interaction happened; zero means now (Options.Now).
	// Set it to backfill: to log interactions recorded elsewhere, later.
	// The entry's timestamp, its id (a UUIDv7, whose first 48 bits are the
	// time in milliseconds) and the day file it is stored in all follow
	// it. It is stored in UTC, to the microsecond. A time more than
	// MaxFutureSkew after now, or before 1970 (which a UUIDv7 cannot
	// hold), is refused with an *InvalidError.
	Time time.Time

	Latency time.Duration // stored as latency_ms, a float

	// InputTokens and OutputTokens are the token counts, nil when unknown
	// (stored as null, as the seed does). Tokens makes one from an int:
	// InputTokens: comply.Tokens(12). They have Entry's type, so an
	// entry's counts can be logged again as they are.
	InputTokens  *int64
	OutputTokens *int64

	// Metadata is any value that encodes as a JSON object: a map, a struct,
	// or a json.RawMessage (whose key order is kept). Floats keep their
	// Python form (2.0 stays 2.0) and integers of any size survive. Nil is
	// stored as {}.
	Metadata any
}

// An Entry is one stored audit entry, in the seed's schema. Optional string
// fields are "" where the line holds null, and "" too where it holds the
// empty string, which Empty then says (the Python library writes
// "output_content": "" when it is given an empty string; comply writes
// null).
type Entry struct {
	ID                 string    // UUID; version 7 for entries comply writes
	Timestamp          time.Time // UTC
	InputHash          string    // SHA-256 (hex) of the input's UTF-8 bytes, or an HMAC (see Options.HashKey)
	OutputHash         string
	InputContent       string // encrypted input (see Logger.DecryptContent), or ""
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
	Metadata           json.RawMessage // a JSON object exactly as stored

	// Empty lists the optional string fields above that hold "" rather
	// than null in the line. It is zero for every entry comply writes.
	Empty EmptyFields
}

// EmptyFields is a set of an entry's optional string fields (see
// Entry.Empty).
type EmptyFields = line.EmptyFields

// The optional string fields of an EmptyFields set.
const (
	EmptyInputContent   = line.EmptyInputContent
	EmptyOutputContent  = line.EmptyOutputContent
	EmptyProvider       = line.EmptyProvider
	EmptyModel          = line.EmptyModel
	EmptyConversationID = line.EmptyConversationID
	EmptyBlockReason    = line.EmptyBlockReason
)

// Entry and line.Entry must stay convertible into each other.
var _ = Entry(line.Entry{})

// Latency returns the entry's latency as a duration (saturated at the
// largest duration for an absurd latency_ms).
func (e *Entry) Latency() time.Duration {
	return line.MSDuration(e.LatencyMS)
}
