package comply_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"reflect"
	"testing"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/store/memstore"
)

func TestMetadataMap(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want map[string]any
		err  bool
	}{
		{"none", "", map[string]any{}, false},
		{"empty", "{}", map[string]any{}, false},
		{"null", "null", map[string]any{}, false},
		{"numbers keep their text", `{"a": 2.0, "b": 12345678901234567890, "c": 1e-7}`,
			map[string]any{"a": json.Number("2.0"), "b": json.Number("12345678901234567890"), "c": json.Number("1e-7")}, false},
		{"nested", `{"user": {"id": "u1", "tags": ["x", true, null]}}`,
			map[string]any{"user": map[string]any{"id": "u1", "tags": []any{"x", true, nil}}}, false},
		{"not an object", `[1]`, nil, true},
		{"damaged", `{"a":`, nil, true},
		{"trailing data", `{} {}`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := comply.Entry{ID: "id", Metadata: json.RawMessage(tt.raw)}
			got, err := e.MetadataMap()
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error %v", err, tt.err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

// TestMetadataMapOfLoggedEntry: what Log stores, MetadataMap gives back.
func TestMetadataMapOfLoggedEntry(t *testing.T) {
	l := newLogger(t, nil)
	id, err := l.Log(t.Context(), comply.Interaction{Input: "q", Metadata: map[string]any{"user": "u1", "n": uint64(1) << 63, "score": 0.5}})
	if err != nil {
		t.Fatal(err)
	}
	e, err := l.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.MetadataMap()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"user": "u1", "n": json.Number("9223372036854775808"), "score": json.Number("0.5")}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("got %#v, want %#v", m, want)
	}
}

func TestMetadataFilter(t *testing.T) {
	tests := []struct {
		meta   string // the stored metadata
		filter string // the value filtered for key "k"
		match  bool
	}{
		{`{"k": 2}`, "2", true},
		{`{"k": 2}`, "2.0", true},
		{`{"k": 2.0}`, "2", true},
		{`{"k": 2.50}`, "2.5", true},
		{`{"k": 2}`, "20e-1", true},
		{`{"k": 1000}`, "1E3", true},
		{`{"k": 0}`, "-0.0", true},
		{`{"k": -3}`, "-3", true},
		{`{"k": -3}`, "3", false},
		{`{"k": 2}`, "2.0000001", false},
		{`{"k": 12345678901234567890}`, "12345678901234567891", false},
		{`{"k": 12345678901234567890}`, "12345678901234567890.0", true},
		{`{"k": 2}`, "two", false},
		{`{"k": 2}`, "+2", false},
		{`{"k": 2}`, "02", false},
		{`{"k": 2}`, "", false},
		{`{"k": "2"}`, "2", true},
		{`{"k": "2.0"}`, "2.0", true},
		{`{"k": "2.0"}`, "2", false}, // strings match strings
		{`{"k": "2"}`, "2.0", false},
		{`{"k": true}`, "true", true},
		{`{"k": null}`, "null", true},
		{`{"k": [1, 2]}`, "[1,2]", true},
		{`{"k": null}`, "", false},
		{`{"other": 2}`, "2", false},
	}
	ctx := t.Context()
	for _, tt := range tests {
		t.Run(tt.meta+" "+tt.filter, func(t *testing.T) {
			l, err := comply.New(memstore.New(0), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if _, err := l.Log(ctx, comply.Interaction{Input: "q", Metadata: json.RawMessage(tt.meta)}); err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, err := range l.Query(ctx, comply.Query{Metadata: map[string]string{"k": tt.filter}}) {
				if err != nil {
					t.Fatal(err)
				}
				n++
			}
			if got := n == 1; got != tt.match {
				t.Errorf("match = %v, want %v", got, tt.match)
			}
		})
	}
}

// MetadataMap reads an entry's metadata; numbers stay exact, as
// json.Number. A metadata filter compares numbers as numbers.
func ExampleEntry_MetadataMap() {
	ctx := context.Background()
	logger, _ := comply.New(memstore.New(0), nil)
	defer logger.Close()
	logger.Log(ctx, comply.Interaction{
		Input:       "Summarise the report",
		InputTokens: comply.Tokens(12),
		Metadata:    map[string]any{"user_id": "user-42", "priority": 2},
	})
	for e, err := range logger.Query(ctx, comply.Query{Metadata: map[string]string{"priority": "2.0"}}) {
		if err != nil {
			log.Fatal(err)
		}
		m, err := e.MetadataMap()
		if err != nil {
			log.Fatal(err)
		}
		priority, _ := m["priority"].(json.Number).Int64()
		fmt.Println(m["user_id"], priority, *e.InputTokens)
	}
	// Output: user-42 2 12
}
