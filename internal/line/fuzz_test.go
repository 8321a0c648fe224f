package line

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// addLineSeeds adds the fixture lines, their compact forms and a few
// variations to f's corpus.
func addLineSeeds(f *testing.F) {
	for _, line := range fixtureLines(f) {
		f.Add(line)
		f.Add(compactLine(f, line))
	}
	f.Add([]byte(`{"id": "x", "timestamp": "2026-11-25T17:38:41Z", "input_hash": "a", "output_hash": "b", "safety_passed": false}`))
	f.Add([]byte(strings.Replace(basicLine, `"metadata": {}`, `"metadata": {"a": "\ud83d\ude00", "b": [1e5, -0, {"c": null}]}`, 1)))
}

func FuzzDecode(f *testing.F) {
	addLineSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var e Entry
		if err := Decode(b, &e); err != nil {
			return
		}
		// Whatever the fast path accepts, the general path decodes the same.
		var fast, general Entry
		if decodeFast(b, &fast) {
			if err := decodeGeneral(b, &general); err != nil {
				t.Fatalf("fast path accepted, general path: %v", err)
			}
			if !reflect.DeepEqual(fast, general) {
				t.Fatalf("paths disagree\nfast:    %+v\ngeneral: %+v", fast, general)
			}
		}
		if id, ts, err := Peek(b); err != nil || id != e.ID || !ts.Equal(e.Timestamp) {
			t.Fatalf("Peek = %q, %v, %v; Decode gave %q, %v", id, ts, err, e.ID, e.Timestamp)
		}
		out, err := Append(nil, &e)
		if err != nil {
			t.Fatalf("Append of a decoded entry: %v", err)
		}
		var e2 Entry
		if err := Decode(out, &e2); err != nil {
			t.Fatalf("Decode(Append(e)): %v\n%s", err, out)
		}
		if !decodeFast(out, new(Entry)) {
			t.Fatalf("fast path rejects Append's output %s", out)
		}
		if a, b := normalize(t, e), normalize(t, e2); !reflect.DeepEqual(a, b) {
			t.Fatalf("round trip differs\n got %+v\nwant %+v", b, a)
		}
		out2, err := Append(nil, &e2)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("Append not stable: %v\n%s\n%s", err, out, out2)
		}
	})
}

func FuzzAppendJSON(f *testing.F) {
	for _, line := range fixtureLines(f) {
		f.Add(line)
		var e Entry
		if err := Decode(line, &e); err != nil {
			f.Fatal(err)
		}
		f.Add([]byte(e.Metadata))
	}
	for _, s := range []string{`-0`, `1E5`, `1e400`, `"\ud800"`, `"\ud83d\ude00"`, `{"a":1,"a":2}`,
		` [ 1 , 2.0 , "é" ] `, `12345678901234567890`, "1" + strings.Repeat("0", 400), `0.1e-999`, `[[[[]]]]`, "\"\x7f\"", `{"\u0061":"\/"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := AppendJSON(nil, b)
		if err != nil {
			return
		}
		if !json.Valid(b) {
			t.Fatalf("accepted invalid JSON %q", b)
		}
		if !json.Valid(out) {
			t.Fatalf("output is not valid JSON: %q", out)
		}
		for _, c := range out {
			if c < 0x20 || c > 0x7e {
				t.Fatalf("output has byte %#x outside printable ASCII: %q", c, out)
			}
		}
		out2, err := AppendJSON(nil, out)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("not idempotent: %v\n%s\n%s", err, out, out2)
		}
		// encoding/json reads the same value from both (where it can: it
		// fails on integers beyond the float64 range).
		var v1, v2 any
		err1, err2 := json.Unmarshal(b, &v1), json.Unmarshal(out, &v2)
		if (err1 == nil) != (err2 == nil) || err1 == nil && !reflect.DeepEqual(v1, v2) {
			t.Fatalf("value changed (%v, %v):\n in %s\nout %s", err1, err2, b, out)
		}
	})
}

func FuzzParseTimestamp(f *testing.F) {
	for _, s := range []string{"2026-11-25T17:38:41.529363", "2026-11-25T17:38:41", "2026-11-25T17:38:41.5Z",
		"2026-11-25T17:38:41.123456789+05:30", "0001-01-01T00:00:00", "9999-12-31T23:59:59.999999-00:00",
		"2024-02-29T12:00:00", "2026-11-25T17:38:41.+01:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := ParseTimestamp(s)
		if err != nil {
			return
		}
		if ts.Location() != time.UTC || ts.Year() < 1 || ts.Year() > 9999 {
			t.Fatalf("ParseTimestamp(%q) = %v", s, ts)
		}
		// Go's own parser agrees.
		layout := "2006-01-02T15:04:05.999999999"
		if strings.ContainsAny(s[19:], "Z+-") {
			layout = time.RFC3339Nano
		}
		if want, err := time.Parse(layout, s); err != nil || !want.Equal(ts) {
			t.Fatalf("ParseTimestamp(%q) = %v; time.Parse = %v, %v", s, ts, want, err)
		}
		// AppendTimestamp writes it back, to the microsecond.
		b := AppendTimestamp(nil, ts)
		back, err := ParseTimestamp(string(b))
		if err != nil || !back.Equal(ts.Truncate(time.Microsecond)) || !utf8.Valid(b) {
			t.Fatalf("round trip of %q via %q: %v, %v", s, b, back, err)
		}
	})
}
