package line

import (
	"encoding/json"
	"testing"
	"time"
)

// benchEntry is a realistic hash-only entry with a few metadata keys.
func benchEntry() Entry {
	return Entry{
		ID:             "01939b2e-7c4a-7d3e-9f10-2b3c4d5e6f70",
		Timestamp:      time.Date(2026, 11, 25, 17, 38, 41, 529363000, time.UTC),
		InputHash:      "52cb6b5e4a038af1756708f98afb718a08c75b87b2f03dbee4dd9c8139c15c5e",
		OutputHash:     "4b227777d4dd1fc61c6f884f48641d02b4d121d3fd328cb08b5531fcacdabf8a",
		Provider:       "openai",
		Model:          "gpt-4o",
		ConversationID: "conv-8f14e45f",
		SafetyPassed:   true,
		LatencyMS:      250.5,
		InputTokens:    ptr(152),
		OutputTokens:   ptr(48),
		Metadata:       json.RawMessage(`{"user_id": "u-1234", "session": "s-5678", "temperature": 0.7, "region": "eu-west-1"}`),
	}
}

// benchLine is benchEntry's line.
func benchLine(b *testing.B) []byte {
	e := benchEntry()
	line, err := Append(nil, &e)
	if err != nil {
		b.Fatal(err)
	}
	return line
}

func BenchmarkDecode(b *testing.B) {
	run := func(b *testing.B, line []byte) {
		b.SetBytes(int64(len(line)))
		b.ReportAllocs()
		var e Entry
		for b.Loop() {
			if err := Decode(line, &e); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("hash_only", func(b *testing.B) { run(b, benchLine(b)) })
	b.Run("encrypted", func(b *testing.B) { run(b, readLines(b, encryptedPath)[1]) })
	b.Run("general", func(b *testing.B) { run(b, compactLine(b, benchLine(b))) })
}

func BenchmarkPeek(b *testing.B) {
	line := benchLine(b)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Peek(line); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppend(b *testing.B) {
	e := benchEntry()
	line := benchLine(b)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	buf := make([]byte, 0, 1024)
	for b.Loop() {
		var err error
		if buf, err = Append(buf[:0], &e); err != nil {
			b.Fatal(err)
		}
	}
}
