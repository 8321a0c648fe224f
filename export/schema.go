package export

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unsafe"

	"github.com/parquet-go/parquet-go"

	"github.com/complyhq/comply"
)

// SchemaVersion is the version of the Parquet schema Parquet writes, kept in
// each file's key-value metadata as "comply.schema_version" and in the
// watermark. docs/format.md section 7 describes it; testdata/schema.golden
// pins it.
const SchemaVersion = 1

// The leaf columns of the schema, in file order. Promoted metadata keys
// follow colWriter, one optional string column each.
const (
	colID = iota
	colTimestamp
	colInputHash
	colOutputHash
	colInputContent
	colOutputContent
	colProvider
	colModel
	colConversationID
	colSafetyPassed
	colDetectors
	colBlockReason
	colAlerts
	colLatency
	colInputTokens
	colOutputTokens
	colMetadata
	colToolName
	colToolArgsHash
	colWriter
	numFixed
)

// fixedNames are the top-level column names of the fixed schema, which a
// promoted key may not take (compared without case: Athena and Spark fold
// it).
var fixedNames = []string{
	"id", "timestamp", "input_hash", "output_hash", "input_content", "output_content",
	"provider", "model", "conversation_id", "safety_passed", "detectors_triggered",
	"block_reason", "alerts", "latency_ms", "input_tokens", "output_tokens", "metadata",
	"tool_calls", "writer_id", "dt",
}

// promoteName is what a promoted metadata key must look like to be a
// column name every engine takes unquoted.
var promoteName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// checkPromote returns an error for a key that cannot be a column.
func checkPromote(keys []string) error {
	seen := map[string]bool{}
	for _, k := range keys {
		lk := strings.ToLower(k)
		switch {
		case !promoteName.MatchString(k):
			return fmt.Errorf("promote %q: want letters, digits and _, not starting with a digit, at most 63", k)
		case slices.Contains(fixedNames, lk):
			return fmt.Errorf("promote %q: a column of that name exists already", k)
		case seen[lk]:
			return fmt.Errorf("promote %q: given twice", k)
		}
		seen[lk] = true
	}
	return nil
}

// An ordered group is a parquet.Group whose fields keep the order given,
// rather than parquet.Group's alphabetical one, so that the file's columns
// read in the documented order.
type ordered struct {
	parquet.Group
	order []string
}

func (g ordered) Fields() []parquet.Field {
	fs := g.Group.Fields()
	slices.SortFunc(fs, func(a, b parquet.Field) int {
		return slices.Index(g.order, a.Name()) - slices.Index(g.order, b.Name())
	})
	return fs
}

func orderedGroup(names []string, nodes []parquet.Node) ordered {
	g := ordered{Group: parquet.Group{}, order: names}
	for i, n := range names {
		g.Group[n] = nodes[i]
	}
	return g
}

// newSchema returns the schema of version SchemaVersion with the promoted
// keys as trailing optional string columns.
func newSchema(promote []string) *parquet.Schema {
	deltaLen := parquet.Encoded(parquet.String(), &parquet.DeltaLengthByteArray)
	// Hashes are most of the bytes: they get the stronger level.
	hash := parquet.Compressed(deltaLen, zstdStrong)
	dict := parquet.Encoded(parquet.String(), &parquet.RLEDictionary)
	optDict := parquet.Optional(dict)
	names := slices.Clone(fixedNames[:len(fixedNames)-1]) // dt is the partition, not a column
	nodes := []parquet.Node{
		parquet.Compressed(parquet.Encoded(parquet.String(), &parquet.DeltaByteArray), zstdStrong), // id: UUIDv7s share their time prefix
		parquet.Encoded(parquet.Timestamp(parquet.Microsecond), &parquet.DeltaBinaryPacked),
		hash, hash,
		parquet.Optional(deltaLen), parquet.Optional(deltaLen),
		optDict, optDict, parquet.Optional(deltaLen),
		parquet.Leaf(parquet.BooleanType),
		parquet.List(dict),
		optDict,
		parquet.List(dict),
		parquet.Leaf(parquet.DoubleType),
		parquet.Optional(parquet.Encoded(parquet.Int(64), &parquet.DeltaBinaryPacked)),
		parquet.Optional(parquet.Encoded(parquet.Int(64), &parquet.DeltaBinaryPacked)),
		parquet.String(),
		parquet.List(orderedGroup([]string{"name", "arguments_hash"}, []parquet.Node{dict, deltaLen})),
		dict,
	}
	for _, k := range promote {
		names = append(names, k)
		nodes = append(nodes, parquet.Optional(dict))
	}
	return parquet.NewSchema("comply_entry", orderedGroup(names, nodes))
}

// A rowBuilder turns entries into Parquet rows of the schema.
type rowBuilder struct {
	promote []string
	tools   []toolCall // scratch
}

type toolCall struct {
	Name          string `json:"name" parquet:"name"`
	ArgumentsHash string `json:"arguments_hash" parquet:"arguments_hash"`
}

// bytesOf returns s's bytes without a copy: the writer copies values into
// its own buffers, and the entry outlives the WriteRows call.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

func str(col int, s string) parquet.Value {
	return parquet.ByteArrayValue(bytesOf(s)).Level(0, 0, col)
}

func optStr(col int, s string, empty bool) parquet.Value {
	if s == "" && !empty {
		return parquet.NullValue().Level(0, 0, col)
	}
	return parquet.ByteArrayValue(bytesOf(s)).Level(0, 1, col)
}

func optInt(col int, n *int64) parquet.Value {
	if n == nil {
		return parquet.NullValue().Level(0, 0, col)
	}
	return parquet.Int64Value(*n).Level(0, 1, col)
}

func strList(row parquet.Row, col int, items []string) parquet.Row {
	if len(items) == 0 {
		return append(row, parquet.NullValue().Level(0, 0, col))
	}
	for i, s := range items {
		row = append(row, parquet.ByteArrayValue(bytesOf(s)).Level(min(i, 1), 1, col))
	}
	return row
}

var (
	toolCallsKey = []byte(`"tool_calls"`)
	emptyObject  = []byte(`{}`)
)

// appendRow appends e's row to row (reset to length 0) and returns it.
func (b *rowBuilder) appendRow(row parquet.Row, e *comply.Entry, writer string) parquet.Row {
	md := e.Metadata
	if len(md) == 0 {
		md = emptyObject
	}
	row = append(row[:0],
		str(colID, e.ID),
		parquet.Int64Value(e.Timestamp.UnixMicro()).Level(0, 0, colTimestamp),
		str(colInputHash, e.InputHash),
		str(colOutputHash, e.OutputHash),
		optStr(colInputContent, e.InputContent, e.Empty&comply.EmptyInputContent != 0),
		optStr(colOutputContent, e.OutputContent, e.Empty&comply.EmptyOutputContent != 0),
		optStr(colProvider, e.Provider, e.Empty&comply.EmptyProvider != 0),
		optStr(colModel, e.Model, e.Empty&comply.EmptyModel != 0),
		optStr(colConversationID, e.ConversationID, e.Empty&comply.EmptyConversationID != 0),
		parquet.BooleanValue(e.SafetyPassed).Level(0, 0, colSafetyPassed),
	)
	row = strList(row, colDetectors, e.DetectorsTriggered)
	row = append(row, optStr(colBlockReason, e.BlockReason, e.Empty&comply.EmptyBlockReason != 0))
	row = strList(row, colAlerts, e.Alerts)
	row = append(row,
		parquet.DoubleValue(e.LatencyMS).Level(0, 0, colLatency),
		optInt(colInputTokens, e.InputTokens),
		optInt(colOutputTokens, e.OutputTokens),
		parquet.ByteArrayValue(md).Level(0, 0, colMetadata),
	)
	var fields map[string]json.RawMessage
	if len(md) > 2 && (len(b.promote) > 0 || bytes.Contains(md, toolCallsKey)) {
		// A metadata object that does not parse has no promoted keys and
		// no tool calls; it is exported whole in the metadata column.
		_ = json.Unmarshal(md, &fields)
	}
	b.tools = b.tools[:0]
	if raw, ok := fields["tool_calls"]; ok && json.Unmarshal(raw, &b.tools) != nil {
		b.tools = b.tools[:0]
	}
	if len(b.tools) == 0 {
		row = append(row, parquet.NullValue().Level(0, 0, colToolName), parquet.NullValue().Level(0, 0, colToolArgsHash))
	} else {
		for i, tc := range b.tools {
			row = append(row, parquet.ByteArrayValue([]byte(tc.Name)).Level(min(i, 1), 1, colToolName))
		}
		for i, tc := range b.tools {
			row = append(row, parquet.ByteArrayValue([]byte(tc.ArgumentsHash)).Level(min(i, 1), 1, colToolArgsHash))
		}
	}
	row = append(row, str(colWriter, writer))
	for i, k := range b.promote {
		row = append(row, promoted(numFixed+i, fields[k]))
	}
	return row
}

// promoted returns the value of a promoted key: a JSON string as its text,
// any other JSON value as compact JSON, null when the key is absent.
func promoted(col int, raw json.RawMessage) parquet.Value {
	if len(raw) == 0 {
		return parquet.NullValue().Level(0, 0, col)
	}
	var s string
	if raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		return parquet.ByteArrayValue([]byte(s)).Level(0, 1, col)
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return parquet.NullValue().Level(0, 0, col)
	}
	return parquet.ByteArrayValue(buf.Bytes()).Level(0, 1, col)
}
