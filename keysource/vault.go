package keysource

import (
	"context"
	"errors"
	"fmt"

	vault "github.com/hashicorp/vault/api"

	"github.com/complyhq/comply/seal"
)

// vaultSource reads a keyring from a Vault KV version 2 secret.
type vaultSource struct {
	mount, path, field string
	client             *vault.Client
}

func (s *vaultSource) String() string {
	if s.field == "" {
		return "vault:" + s.mount + "/" + s.path
	}
	return "vault:" + s.mount + "/" + s.path + "#" + s.field
}

func (s *vaultSource) Load(ctx context.Context) (*seal.Keyring, error) {
	if s.client == nil {
		c, err := vault.NewClient(vault.DefaultConfig()) // VAULT_ADDR, VAULT_TOKEN, ...
		if err != nil {
			return nil, fmt.Errorf("keysource: %s: %w: %w", s, ErrUnavailable, err)
		}
		s.client = c
	}
	sec, err := s.client.KVv2(s.mount).Get(ctx, s.path)
	if err != nil {
		what := ""
		var re *vault.ResponseError
		switch {
		case errors.Is(err, vault.ErrSecretNotFound):
			what = ": not found (check the mount and path)"
		case errors.As(err, &re) && re.StatusCode == 403:
			what = ": permission denied (check VAULT_TOKEN and its policy)"
		}
		return nil, fmt.Errorf("keysource: %s: %w%s: %w", s, ErrUnavailable, what, err)
	}
	if s.field == "" {
		m := make(map[string]string, len(sec.Data))
		for id, v := range sec.Data {
			str, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("keysource: %s: %w: field %q is not a string", s, ErrSecret, safeID(id))
			}
			m[id] = str
		}
		return keyringFromMap(m, s.String())
	}
	v, ok := sec.Data[s.field]
	if !ok {
		return nil, fmt.Errorf("keysource: %s: %w: the secret has no field %q", s, ErrSecret, s.field)
	}
	str, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("keysource: %s: %w: field %q is not a string", s, ErrSecret, s.field)
	}
	return parseSecret(str, s.String())
}
