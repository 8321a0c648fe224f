package keysourcetest

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Vault is a local Vault server with KV version 2 mounts.
type Vault struct {
	URL   string
	Token string // the only token it accepts

	mu      sync.Mutex
	secrets map[string]map[string]string // "MOUNT/PATH" -> data
	version int
}

// NewVault starts a server, closed when t ends.
func NewVault(t testing.TB) *Vault {
	v := &Vault{Token: "hvs.test-token", secrets: map[string]map[string]string{}}
	srv := httptest.NewServer(http.HandlerFunc(v.serve))
	v.URL = srv.URL
	t.Cleanup(srv.Close)
	return v
}

// Env points the Vault api client at the server for the rest of t, with
// token as VAULT_TOKEN and no retries.
func (v *Vault) Env(t testing.TB, token string) {
	t.Setenv("VAULT_ADDR", v.URL)
	t.Setenv("VAULT_TOKEN", token)
	t.Setenv("VAULT_MAX_RETRIES", "0")
	t.Setenv("VAULT_NAMESPACE", "")
}

// SetSecret writes data as a new version of the secret at MOUNT/PATH.
func (v *Vault) SetSecret(mount, path string, data map[string]string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.version++
	v.secrets[mount+"/"+path] = data
}

func (v *Vault) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if r.Header.Get("X-Vault-Token") != v.Token {
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"errors":["permission denied"]}`))
		return
	}
	mount, path, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v1/"), "/data/")
	v.mu.Lock()
	data, found := v.secrets[mount+"/"+path]
	version := v.version
	v.mu.Unlock()
	if r.Method != http.MethodGet || !ok || !found {
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"errors":[]}`))
		return
	}
	json.NewEncoder(w).Encode(map[string]any{
		"request_id": "00000000-0000-0000-0000-000000000001",
		"lease_id":   "",
		"renewable":  false,
		"data": map[string]any{
			"data": data,
			"metadata": map[string]any{
				"created_time":  "2026-11-30T00:00:00Z",
				"deletion_time": "",
				"destroyed":     false,
				"version":       version,
			},
		},
	})
}

func encodeStd(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func decodeStd(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }
