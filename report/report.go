package report

import (
	"encoding/json"
	"time"

	"github.com/complyhq/comply/ledger"
)

// Version is the version of the report's JSON form.
const Version = 1

// The statuses of a Control.
const (
	Pass          = "pass"
	Fail          = "fail"
	NotEvidenced  = "not_evidenced"
	NotApplicable = "not_applicable"
	Manual        = "manual"
)

// The frameworks a report covers.
const (
	EUAIAct  = "eu-ai-act"
	SOC2     = "soc2"
	HIPAA    = "hipaa"
	ISO42001 = "iso42001"
	GDPR     = "gdpr"
)

// Frameworks lists every framework, in report order.
var Frameworks = []string{EUAIAct, SOC2, HIPAA, ISO42001, GDPR}

// A Report is the evidence of a period and the controls it supports.
type Report struct {
	Version     int         `json:"version"`
	Generated   time.Time   `json:"generated"`
	Frameworks  []string    `json:"frameworks"`
	Period      Period      `json:"period"`
	Config      Config      `json:"config"`
	Population  Population  `json:"population"`
	Coverage    Coverage    `json:"coverage"`
	Integrity   Integrity   `json:"integrity"`
	Retention   Retention   `json:"retention"`
	Safety      Safety      `json:"safety"`
	Attribution Attribution `json:"attribution"`
	Access      Access      `json:"access"`
	Incidents   Incidents   `json:"incidents"`
	Sample      Sample      `json:"sample"`
	Reviews     []Review    `json:"reviews"`
	Erasures    Erasures    `json:"erasures"`
	Policy      Policy      `json:"policy"`
	Controls    []Control   `json:"controls"`
}

// A Review is a signed attestation, recorded within the period, that a
// report was reviewed ('comply attest'; package evidence).
type Review struct {
	ID           string    `json:"id"`   // the attestation entry's id
	Time         time.Time `json:"time"` // when it was recorded
	Reviewer     string    `json:"reviewer"`
	Period       string    `json:"period,omitempty"` // the reviewed report's period
	ReportSHA256 string    `json:"report_sha256"`
	Note         string    `json:"note,omitempty"`
}

// A Period is the inclusive time range a report covers.
type Period struct {
	Label string    `json:"label,omitempty"` // "2026-Q3", "2026-11", or "" for explicit bounds
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Config is the store's configuration as the report takes it.
type Config struct {
	// RetentionDays is how long entries are kept: as
	// comply.Options.RetentionDays, zero is the default (365) and a
	// negative value keeps entries forever.
	RetentionDays int  `json:"retention_days"`
	HashKey       bool `json:"hash_key"`      // content hashes are keyed (HMAC)
	StoreContent  bool `json:"store_content"` // encrypted content is stored besides the hashes
	Ledger        bool `json:"ledger"`        // the store keeps an integrity ledger and the verifier keys are known
	AccessLog     bool `json:"access_log"`    // the access log was read
}

// Population is the entries of the period.
type Population struct {
	Entries int64 `json:"entries"`
	// CountedOnly is the interactions of the period that policy level
	// none counted without logging them (policy.counts): no entry, but
	// not invisible.
	CountedOnly int64     `json:"counted_only"`
	First       time.Time `json:"first,omitzero"`
	Last        time.Time `json:"last,omitzero"`
	// Checkpoint is the signed checkpoint that covers the period's end:
	// the first written at or after it, or the newest; nil without ledger.
	Checkpoint *CheckpointRef `json:"checkpoint,omitempty"`
}

// A CheckpointRef names a signed checkpoint.
type CheckpointRef struct {
	Origin string    `json:"origin"`
	Size   uint64    `json:"size"`
	Root   []byte    `json:"root"` // base64 in JSON
	Time   time.Time `json:"time"`
	Note   string    `json:"note"` // the signed note
}

// Coverage is how the period's hours were covered.
type Coverage struct {
	// Began is when logging began (the oldest entry or the first
	// checkpoint), when that is in a later hour than the period's start:
	// the hours are counted from its hour, those before are no gap.
	Began          time.Time `json:"began,omitzero"`
	Hours          int       `json:"hours"` // whole or partial hours of the period (from Began), up to the report time
	HoursWithEntry int       `json:"hours_with_entries"`
	QuietHours     int       `json:"quiet_hours"`   // no entry, the writer's heartbeats: it was up, nothing happened
	SilentHours    int       `json:"silent_hours"`  // no entry and no heartbeat: the logger was down
	UnknownHours   int       `json:"unknown_hours"` // no entry, and no checkpoint history to tell
	Timeline       bool      `json:"timeline"`      // the checkpoint history was read
	// Gaps are the downtimes of the period, from the checkpoint history.
	Gaps []ledger.Span `json:"gaps"`
}

// Integrity is the result of ledger.Verify over the store's entries of
// the period (Scope): the checkpoints and leaves of every ledger are
// checked whole, the lines of the period only.
type Integrity struct {
	Verified bool     `json:"verified"` // Verify ran
	OK       bool     `json:"ok"`
	Summary  string   `json:"summary,omitempty"`
	Scope    string   `json:"scope,omitempty"` // "period": the lines of the period only were read and checked
	Entries  int64    `json:"entries"`
	Valid    int64    `json:"valid"`
	Problems []string `json:"problems"` // where, in plain words (the first 100)
	Omitted  int64    `json:"omitted,omitempty"`
	Error    string   `json:"error,omitempty"`
	// Rewrapped is the lines that replace a signed line as a signed
	// rewrite record says (a rewrap under a new key): valid, not
	// tampering. Rewrites are those records, oldest first.
	Rewrapped int64                  `json:"rewrapped"`
	Rewrites  []ledger.RewriteReport `json:"rewrites"`
}

// Retention is the configured retention and what the store shows of it.
type Retention struct {
	ConfiguredDays int       `json:"configured_days"` // -1: forever
	Oldest         time.Time `json:"oldest,omitzero"` // the store's oldest entry
	OldestAgeDays  int       `json:"oldest_age_days"`
	DeletedPolicy  int64     `json:"deleted_by_policy"` // signed deletions (retention or request)
	DeletedOther   int64     `json:"deleted_other"`     // entries gone without a deletion record
	Evidenced      bool      `json:"evidenced"`         // deletions are known (a ledger was verified)
}

// Safety is the safety checks of the period.
type Safety struct {
	Failures        int64               `json:"failures"`
	BlockRate       float64             `json:"block_rate"` // failures / entries
	PreviousEntries int64               `json:"previous_entries"`
	PreviousRate    float64             `json:"previous_block_rate"`
	Change          float64             `json:"change"` // BlockRate - PreviousRate
	ByDetector      []Count             `json:"by_detector"`
	ByReason        []Count             `json:"by_reason"`
	NewDetectors    []string            `json:"new_detectors"` // fired in the period, not in the previous one
	SilentDays      map[string][]string `json:"silent_days"`   // detector -> UTC days of the period (with entries) it never fired
}

// A Count is a number of entries with a name.
type Count struct {
	Name    string `json:"name"`
	Entries int64  `json:"entries"`
}

// Attribution is who the entries name and how they keep content.
type Attribution struct {
	Entries       int64   `json:"entries"`
	WithUser      int64   `json:"with_user_id"`
	WithBoth      int64   `json:"with_user_and_session_id"`
	HashOnly      int64   `json:"hash_only"`
	KeyedHashes   int64   `json:"keyed_hashes"`
	PlainHashes   int64   `json:"plain_hashes"`
	Unhashed      int64   `json:"unhashed"` // entries with no content hash at all (policy level metadata)
	UserShare     float64 `json:"user_share"`
	BothShare     float64 `json:"schema_share"`
	HashOnlyShare float64 `json:"hash_only_share"`
}

// Access is who read the evidence in the period.
type Access struct {
	Read    bool     `json:"read"` // the access log was read
	Records int64    `json:"records"`
	Denied  int64    `json:"denied"`
	Readers []Reader `json:"readers"`
	Error   string   `json:"error,omitempty"`
}

// A Reader is one token's accesses.
type Reader struct {
	Token    string `json:"token"`
	Role     string `json:"role,omitempty"`
	Reads    int64  `json:"reads"`
	Exports  int64  `json:"exports"`
	Decrypts int64  `json:"decrypts"`
	Denied   int64  `json:"denied"`
}

// Incidents are the AI Act Art. 73 candidates: safety failures flagged
// serious (metadata "severity": "serious", or a detector or block reason
// in Inputs.Serious).
type Incidents struct {
	Rule       string      `json:"rule"`
	Candidates []Candidate `json:"candidates"`
}

// A Candidate is one serious safety failure and its reporting clocks.
type Candidate struct {
	ID        string    `json:"id"`
	Time      time.Time `json:"time"`
	Detectors []string  `json:"detectors,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	Due2      time.Time `json:"due_2_days"`
	Due10     time.Time `json:"due_10_days"`
	Due15     time.Time `json:"due_15_days"`
	Overdue   bool      `json:"overdue_15_days"` // 15 days have passed at report time
}

// Sample is a deterministic sample of the period's entries for population
// testing, each with its inclusion proof.
type Sample struct {
	Seed   uint64       `json:"seed"`
	Size   int          `json:"size"`
	Items  []SampleItem `json:"items"`
	Proved int          `json:"proved"`
}

// A SampleItem is one sampled entry and its inclusion proof (the JSON of
// 'comply prove'), or why it has none.
type SampleItem struct {
	ID    string          `json:"id"`
	Time  time.Time       `json:"time"`
	Proof json.RawMessage `json:"proof,omitempty"`
	Error string          `json:"error,omitempty"`
}

// A Control is one requirement of a framework and its status.
type Control struct {
	ID        string         `json:"id"` // stable, e.g. "eu-ai-act/retention"
	Framework string         `json:"framework"`
	Ref       string         `json:"ref"`       // the article or criterion
	Statement string         `json:"statement"` // what it asks, in our words
	Status    string         `json:"status"`
	Figures   map[string]any `json:"figures"`
	Next      string         `json:"next"`
}

// Erasures are the data subjects' erasures (crypto-shredding, GDPR Art.
// 17) and the entries deleted on request within the period.
type Erasures struct {
	// Read says the signed erasure and deletion records were read (a
	// ledger and its verifier key).
	Read bool `json:"read"`
	// Erasures are the erasures of the period, oldest first: the signed
	// ledger records, and the tombstones of the subject-key vault that
	// no signed record matches (Signed false).
	Erasures []Erasure `json:"erasures"`
	// RequestDeletions is the entries deleted on request in the period
	// (signed deletion records of reason "request").
	RequestDeletions int64  `json:"request_deletions"`
	LegalHolds       int    `json:"legal_holds"` // erasures whose entries are kept (Art. 17(3))
	Unsigned         int    `json:"unsigned"`    // tombstones without a signed record
	Error            string `json:"error,omitempty"`
}

// An Erasure is one erased data key. The subject's value never appears:
// the HMAC names it.
type Erasure struct {
	Time      time.Time `json:"time"`
	Subject   string    `json:"subject"` // the subject key, such as user_id
	HMAC      string    `json:"hmac"`    // names the subject's value
	Reason    string    `json:"reason"`
	LegalHold bool      `json:"legal_hold"` // the entries are kept under a legal hold (Art. 17(3))
	Signed    bool      `json:"signed"`     // a signed ledger record; false: a tombstone only
}

// Policy is the logging policies in force in the period (the signed policy
// records of the ledger) and the interactions their level none only
// counted.
type Policy struct {
	// Read says the signed policy records were read (a ledger and its
	// verifier key).
	Read bool `json:"read"`
	// Periods are the spans of the report's period each recorded policy
	// covered, in time order; the hours before the first record are
	// covered by none.
	Periods []PolicyPeriod `json:"periods"`
	// CountedOnly is, by rule, the interactions counted without an entry
	// (level none), most first.
	CountedOnly []Count `json:"counted_only"`
	Error       string  `json:"error,omitempty"`
}

// A PolicyPeriod is the span of the report's period one policy covered.
type PolicyPeriod struct {
	Origin string       `json:"origin"`
	SHA256 string       `json:"sha256"` // of the policy's canonical text
	From   time.Time    `json:"from"`
	To     time.Time    `json:"to"`     // inclusive: the period's end or the next record's time
	Rules  []PolicyRule `json:"rules"`  // in order, the default last
	Policy bool         `json:"policy"` // false: the record says no policy (every interaction hashed)
}

// A PolicyRule is one rule of a policy and the level it logs at.
type PolicyRule struct {
	Name  string `json:"name"`
	Level string `json:"level"`
}
