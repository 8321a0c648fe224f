package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/complyhq/comply"
)

// TestToJSONEmptyStrings checks that query and get print a field the line
// holds as "" as "", and a null field as null.
func TestToJSONEmptyStrings(t *testing.T) {
	tests := []struct {
		name  string
		empty comply.EmptyFields
		want  []string
	}{
		{"nulls", 0, []string{`"input_content":null`, `"output_content":null`, `"provider":null`, `"model":null`, `"conversation_id":null`, `"block_reason":null`}},
		{"output_content", comply.EmptyOutputContent, []string{`"input_content":null`, `"output_content":""`}},
		{"all", comply.EmptyInputContent | comply.EmptyOutputContent | comply.EmptyProvider | comply.EmptyModel | comply.EmptyConversationID | comply.EmptyBlockReason,
			[]string{`"input_content":""`, `"output_content":""`, `"provider":""`, `"model":""`, `"conversation_id":""`, `"block_reason":""`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(toJSON(&comply.Entry{ID: "x", Empty: tt.empty}))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(b), w) {
					t.Errorf("%s lacks %s", b, w)
				}
			}
		})
	}
}
