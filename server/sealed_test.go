package server_test

import (
	"encoding/json"
	"testing"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/seal"
)

// TestDecryptSealed: the decrypt role opens content sealed to a public key
// only when the server holds the identity; without it, a clear 409.
func TestDecryptSealed(t *testing.T) {
	id, err := seal.GenerateIdentity(false)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		identity *seal.Identity
		status   int
	}{
		{"with the identity", id, 200},
		{"public key only", nil, 409},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOpts{logger: func(o *comply.Options) {
				o.SealTo, o.Identity, o.StoreContent = id.SealingKey(), tt.identity, true
			}})
			eid := e.post(item)[0]
			status, b, _ := e.do("POST", "/v1/entries/"+eid+"/decrypt", "decrypt-secret", "")
			if status != tt.status {
				t.Fatalf("decrypt: %d %s, want %d", status, b, tt.status)
			}
			if status == 200 {
				var d struct{ Input, Output *string }
				json.Unmarshal(b, &d)
				if d.Input == nil || *d.Input != "What is the weather?" {
					t.Fatalf("decrypt: %s", b)
				}
			}
		})
	}
}
