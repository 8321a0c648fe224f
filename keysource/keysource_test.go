package keysource_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/keysource"
	"github.com/complyhq/comply/keysource/keysourcetest"
	"github.com/complyhq/comply/seal"
	"github.com/complyhq/comply/store/memstore"
)

func genKey(t *testing.T) seal.Key {
	t.Helper()
	k, err := seal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// noSecrets fails if msg contains any of the keys' text.
func noSecrets(t *testing.T, msg string, keys ...seal.Key) {
	t.Helper()
	for _, k := range keys {
		if enc := k.Encode(); strings.Contains(msg, enc) || strings.Contains(msg, enc[:20]) {
			t.Fatalf("message reveals key material: %s", msg)
		}
	}
}

func jsonKeys(t *testing.T, m map[string]string) string {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParse(t *testing.T) {
	tests := []struct {
		spec, name string
		ok         bool
	}{
		{"env:AUDIT_ENCRYPTION_KEY", "env:AUDIT_ENCRYPTION_KEY", true},
		{"file:/etc/comply/audit.key", "file:/etc/comply/audit.key", true},
		{"aws-sm:prod/comply?region=eu-west-1&version_stage=AWSPREVIOUS", "aws-sm:prod/comply", true},
		{"vault:secret/comply#key", "vault:secret/comply#key", true},
		{"vault:secret/apps/comply", "vault:secret/apps/comply", true},
		{"kms:/etc/comply/keys.kms", "kms:/etc/comply/keys.kms", true},
		{"aws-sm:x?colour=red", "", false},
		{"vault:secret", "", false},
		{"gcp:x", "", false},
		{"env:", "", false},
		{"nocolon", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			src, err := keysource.Parse(tt.spec)
			if !tt.ok {
				if !errors.Is(err, keysource.ErrSpec) {
					t.Fatalf("err = %v, want ErrSpec", err)
				}
				return
			}
			if err != nil || src.String() != tt.name {
				t.Fatalf("Parse = %v, %v; want %s", src, err, tt.name)
			}
		})
	}
}

func TestSecretsManager(t *testing.T) {
	aws := keysourcetest.NewAWS(t)
	aws.Env(t)
	k1, k2 := genKey(t), genKey(t)
	aws.SetSecret("bare", k1.Encode())
	aws.SetSecret("ring", "v2:"+k2.Encode()+"\nv1:"+k1.Encode())
	aws.SetSecret("seed", jsonKeys(t, map[string]string{"v1": k1.Encode(), "v2": k2.Encode()}))
	aws.SetSecret("named", jsonKeys(t, map[string]string{"v1": k1.Encode(), "v2": k2.Encode(), "primary": "v1"}))
	aws.SetSecret("malformed", `{"v1": "`+k1.Encode()[:30]+`"}`)
	aws.SetSecret("garbage", "not a key "+k1.Encode()[:10])
	aws.SetSecret("badprimary", jsonKeys(t, map[string]string{"v1": k1.Encode(), "primary": "v7"}))
	tests := []struct {
		spec string
		ids  []string
		err  error
	}{
		{"aws-sm:bare", []string{seal.KeyID(k1)}, nil},
		{"aws-sm:ring?region=us-east-1", []string{"v2", "v1"}, nil},
		{"aws-sm:seed", []string{"v2", "v1"}, nil},
		{"aws-sm:named", []string{"v1", "v2"}, nil},
		{"aws-sm:missing", nil, keysource.ErrUnavailable},
		{"aws-sm:bare?version_stage=AWSPREVIOUS", nil, keysource.ErrUnavailable},
		{"aws-sm:malformed", nil, keysource.ErrSecret},
		{"aws-sm:garbage", nil, keysource.ErrSecret},
		{"aws-sm:badprimary", nil, keysource.ErrSecret},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			kr, err := keysource.Load(t.Context(), tt.spec)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				noSecrets(t, err.Error(), k1, k2)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := kr.IDs(); !slices.Equal(got, tt.ids) {
				t.Fatalf("ids = %v, want %v", got, tt.ids)
			}
		})
	}
	t.Run("not found says so", func(t *testing.T) {
		_, err := keysource.Load(t.Context(), "aws-sm:missing")
		if err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") || !strings.Contains(err.Error(), "not found") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("access denied", func(t *testing.T) {
		aws.Deny(true)
		defer aws.Deny(false)
		_, err := keysource.Load(t.Context(), "aws-sm:bare")
		if !errors.Is(err, keysource.ErrUnavailable) || !strings.Contains(err.Error(), "access denied") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestKMS(t *testing.T) {
	aws := keysourcetest.NewAWS(t)
	aws.Env(t)
	k1, k2 := genKey(t), genKey(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "keys.kms")
	text := "# wrapped by KMS\nv2:" + aws.Wrap([]byte(k2.Encode())) + "\nv1:" + aws.Wrap(rawKey(t, k1)) + "\n"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.kms")
	if err := os.WriteFile(bad, []byte("v1:"+aws.Wrap([]byte("short"))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	kr, err := keysource.Load(t.Context(), "kms:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if got := kr.IDs(); !slices.Equal(got, []string{"v2", "v1"}) {
		t.Fatalf("ids = %v", got)
	}
	if k, _ := kr.Key("v1"); k.Encode() != k1.Encode() {
		t.Fatalf("v1 unwrapped to another key")
	}
	if _, err := keysource.Load(t.Context(), "kms:"+bad); !errors.Is(err, keysource.ErrSecret) {
		t.Fatalf("bad plaintext: %v", err)
	}
	aws.KMSDown(true)
	_, err = keysource.Load(t.Context(), "kms:"+path)
	if !errors.Is(err, keysource.ErrUnavailable) || !strings.Contains(err.Error(), "unavailable") {
		t.Fatalf("KMS down: %v", err)
	}
	noSecrets(t, err.Error(), k1, k2)
}

func rawKey(t *testing.T, k seal.Key) []byte {
	t.Helper()
	b, err := decodeURL(k.Encode())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVault(t *testing.T) {
	v := keysourcetest.NewVault(t)
	k1, k2 := genKey(t), genKey(t)
	v.SetSecret("secret", "comply", map[string]string{"key": k1.Encode()})
	v.SetSecret("secret", "ring", map[string]string{"v1": k1.Encode(), "v2": k2.Encode()})
	tests := []struct {
		name, spec, token string
		ids               []string
		err               error
		says              string
	}{
		{"field", "vault:secret/comply#key", v.Token, []string{seal.KeyID(k1)}, nil, ""},
		{"whole secret", "vault:secret/ring", v.Token, []string{"v2", "v1"}, nil, ""},
		{"missing field", "vault:secret/comply#nope", v.Token, nil, keysource.ErrSecret, "no field"},
		{"404", "vault:secret/absent#key", v.Token, nil, keysource.ErrUnavailable, "not found"},
		{"403", "vault:secret/comply#key", "hvs.wrong", nil, keysource.ErrUnavailable, "permission denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v.Env(t, tt.token)
			kr, err := keysource.Load(t.Context(), tt.spec)
			if tt.err != nil {
				if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), tt.says) {
					t.Fatalf("err = %v, want %v saying %q", err, tt.err, tt.says)
				}
				noSecrets(t, err.Error(), k1, k2)
				if strings.Contains(err.Error(), tt.token) {
					t.Fatalf("error reveals the token")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := kr.IDs(); !slices.Equal(got, tt.ids) {
				t.Fatalf("ids = %v, want %v", got, tt.ids)
			}
		})
	}
}

func TestEnvAndFile(t *testing.T) {
	k1 := genKey(t)
	t.Setenv("COMPLY_TEST_KEY", "v1:"+k1.Encode())
	path := filepath.Join(t.TempDir(), "audit.key")
	if err := os.WriteFile(path, []byte(k1.Encode()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		spec string
		id   string
		err  error
	}{
		{"env:COMPLY_TEST_KEY", "v1", nil},
		{"file:" + path, seal.KeyID(k1), nil},
		{"env:COMPLY_TEST_UNSET", "", seal.ErrNoKey},
		{"file:" + path + ".absent", "", os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			kr, err := keysource.Load(t.Context(), tt.spec)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil || kr.PrimaryID() != tt.id {
				t.Fatalf("Load = %v, %v; want primary %s", kr, err, tt.id)
			}
		})
	}
}

// TestRotationMidRun rotates the secret while a Logger runs: the next
// entry after the reload is sealed with the new primary, and older entries
// still decrypt.
func TestRotationMidRun(t *testing.T) {
	aws := keysourcetest.NewAWS(t)
	aws.Env(t)
	k1, k2 := genKey(t), genKey(t)
	aws.SetSecret("comply", jsonKeys(t, map[string]string{"v1": k1.Encode()}))
	src, err := keysource.Parse("aws-sm:comply")
	if err != nil {
		t.Fatal(err)
	}
	var reported []error
	r, err := keysource.NewRefresher(t.Context(), src, &keysource.RefresherOptions{Interval: -1, OnError: func(err error) { reported = append(reported, err) }})
	if err != nil {
		t.Fatal(err)
	}
	l, err := comply.New(memstore.New(0), &comply.Options{Keys: r, StoreContent: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	log := func(text string) comply.Entry {
		t.Helper()
		id, err := l.Log(t.Context(), comply.Interaction{Input: text, Output: text})
		if err != nil {
			t.Fatal(err)
		}
		e, err := l.Get(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	before := log("before")
	aws.SetSecret("comply", jsonKeys(t, map[string]string{"v1": k1.Encode(), "v2": k2.Encode()}))
	if err := r.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	after := log("after")
	aws.SetSecret("comply", "garbage")
	if err := r.Refresh(t.Context()); !errors.Is(err, keysource.ErrSecret) {
		t.Fatalf("bad rotation: %v", err)
	}
	kept := log("kept")
	tests := []struct {
		e          comply.Entry
		ver, plain string
	}{
		{before, "v1", "before"},
		{after, "v2", "after"},
		{kept, "v2", "kept"}, // a failed reload keeps the last good keyring
	}
	for _, tt := range tests {
		if got := comply.EntryKeyVersion(&tt.e); got != tt.ver {
			t.Fatalf("%s: key version %q, want %q", tt.plain, got, tt.ver)
		}
		if got, err := l.DecryptEntryContent(&tt.e, tt.e.InputContent); err != nil || got != tt.plain {
			t.Fatalf("%s: decrypt = %q, %v", tt.plain, got, err)
		}
	}
	if r.Err() == nil || r.Loads() != 2 {
		t.Fatalf("Err = %v, Loads = %d", r.Err(), r.Loads())
	}
}

// TestBackgroundReload lets the interval pass: Keyring starts a reload
// and a later call sees the new primary.
func TestBackgroundReload(t *testing.T) {
	aws := keysourcetest.NewAWS(t)
	aws.Env(t)
	k1, k2 := genKey(t), genKey(t)
	aws.SetSecret("comply", "v1:"+k1.Encode())
	src, _ := keysource.Parse("aws-sm:comply")
	errs := make(chan error, 10)
	r, err := keysource.NewRefresher(t.Context(), src, &keysource.RefresherOptions{Interval: time.Millisecond, OnError: func(err error) { errs <- err }})
	if err != nil {
		t.Fatal(err)
	}
	aws.SetSecret("comply", "v2:"+k2.Encode()+",v1:"+k1.Encode())
	deadline := time.Now().Add(10 * time.Second)
	for r.Keyring().PrimaryID() != "v2" {
		if time.Now().After(deadline) {
			t.Fatalf("the new primary was not picked up")
		}
		time.Sleep(5 * time.Millisecond)
	}
	aws.Deny(true)
	var reported error
	for reported == nil {
		select {
		case reported = <-errs:
		case <-time.After(5 * time.Millisecond):
			if time.Now().After(deadline) {
				t.Fatalf("a failed reload was not reported")
			}
			r.Keyring() // starts a reload once the interval has passed
		}
	}
	if !errors.Is(reported, keysource.ErrUnavailable) {
		t.Fatalf("reported %v", reported)
	}
	noSecrets(t, reported.Error(), k1, k2)
	if r.Keyring().PrimaryID() != "v2" {
		t.Fatalf("a failed reload dropped the keyring")
	}
}

// TestFailClosed: a source that cannot be loaded gives no Refresher, so
// no Logger that must store content; and a provider that yields no
// keyring makes Log fail instead of storing content unsealed.
func TestFailClosed(t *testing.T) {
	aws := keysourcetest.NewAWS(t)
	aws.Env(t)
	src, _ := keysource.Parse("aws-sm:absent")
	if _, err := keysource.NewRefresher(t.Context(), src, nil); !errors.Is(err, keysource.ErrUnavailable) {
		t.Fatalf("NewRefresher = %v", err)
	}
	l, err := comply.New(memstore.New(0), &comply.Options{Keys: emptyProvider{}, StoreContent: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.Log(t.Context(), comply.Interaction{Input: "secret", Output: "secret"}); !errors.Is(err, seal.ErrNoKey) {
		t.Fatalf("Log without a keyring: %v", err)
	}
	if n, _ := l.Count(t.Context()); n != 0 {
		t.Fatalf("%d entries stored without a key", n)
	}
}

type emptyProvider struct{}

func (emptyProvider) Keyring() *seal.Keyring { return nil }
