package keysource

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/complyhq/comply/seal"
)

// ErrSpec is wrapped by the error of a spec that [Parse] does not accept.
var ErrSpec = errors.New("invalid key source")

// ErrSecret is wrapped by the error of a secret that was read but does not
// hold a keyring: not keyring text nor a JSON object of id to key. The
// error describes the problem without quoting the secret.
var ErrSecret = errors.New("the secret does not hold a keyring")

// ErrUnavailable is wrapped by the error of a source that could not be
// read: the service refused (access denied, not found) or could not be
// reached.
var ErrUnavailable = errors.New("key source unavailable")

// A Source loads a keyring. Load may be called again to pick up a rotated
// key; each call reads the source anew. Load is not safe for concurrent
// use (a Source reuses its service client); a [Refresher] serializes it.
type Source interface {
	// Load reads the source and returns its keyring.
	Load(ctx context.Context) (*seal.Keyring, error)
	// String names the source (its spec), never its keys.
	String() string
}

// Parse parses a source spec: env:NAME, file:PATH,
// aws-sm:SECRET_ID[?region=R&version_stage=S], vault:MOUNT/PATH[#FIELD] or
// kms:PATH. It reads nothing; errors wrap [ErrSpec].
func Parse(spec string) (Source, error) {
	kind, rest, ok := strings.Cut(strings.TrimSpace(spec), ":")
	if !ok || rest == "" {
		return nil, fmt.Errorf("keysource: %w: want env:NAME, file:PATH, aws-sm:SECRET_ID, vault:MOUNT/PATH#FIELD or kms:PATH", ErrSpec)
	}
	switch kind {
	case "env":
		return envSource{name: rest}, nil
	case "file":
		return fileSource{path: rest}, nil
	case "kms":
		return &kmsSource{path: rest}, nil
	case "aws-sm":
		return parseSM(rest)
	case "vault":
		return parseVault(rest)
	}
	return nil, fmt.Errorf("keysource: %w: unknown kind %q; want env, file, aws-sm, vault or kms", ErrSpec, kind)
}

func parseSM(rest string) (Source, error) {
	id, query, _ := strings.Cut(rest, "?")
	if id == "" {
		return nil, fmt.Errorf("keysource: %w: aws-sm needs a secret id or ARN", ErrSpec)
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, fmt.Errorf("keysource: %w: aws-sm query: %w", ErrSpec, err)
	}
	s := &smSource{id: id, region: q.Get("region"), stage: q.Get("version_stage")}
	for k := range q {
		if k != "region" && k != "version_stage" {
			return nil, fmt.Errorf("keysource: %w: aws-sm: unknown parameter %q; want region or version_stage", ErrSpec, k)
		}
	}
	return s, nil
}

func parseVault(rest string) (Source, error) {
	p, field, _ := strings.Cut(rest, "#")
	mount, path, ok := strings.Cut(strings.Trim(p, "/"), "/")
	if !ok || mount == "" || path == "" {
		return nil, fmt.Errorf("keysource: %w: vault wants MOUNT/PATH[#FIELD], for example vault:secret/comply#key", ErrSpec)
	}
	return &vaultSource{mount: mount, path: path, field: field}, nil
}

type envSource struct{ name string }

func (s envSource) String() string { return "env:" + s.name }

func (s envSource) Load(context.Context) (*seal.Keyring, error) {
	v, ok := lookupEnv(s.name)
	if !ok || strings.TrimSpace(v) == "" {
		return nil, fmt.Errorf("keysource: %s: %w: the variable is not set", s, seal.ErrNoKey)
	}
	kr, err := seal.ParseKeyring(v)
	if err != nil {
		return nil, fmt.Errorf("keysource: %s: %w", s, err)
	}
	return kr, nil
}

type fileSource struct{ path string }

func (s fileSource) String() string { return "file:" + s.path }

func (s fileSource) Load(context.Context) (*seal.Keyring, error) {
	kr, err := seal.LoadKeyring(s.path)
	if err != nil {
		return nil, fmt.Errorf("keysource: %w", err)
	}
	return kr, nil
}
