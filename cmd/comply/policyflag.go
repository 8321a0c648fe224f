package main

import (
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/policy"
	"github.com/complyhq/comply/seal"
)

// policyFlagUsage is the usage of --policy in log, proxy and serve.
const policyFlagUsage = "apply the logging policy in the YAML `FILE`: levels none, metadata, hash, keyed-hash, encrypted per provider, model, route or metadata (docs/policy.md)"

// loadPolicy reads the policy file at path.
func loadPolicy(path string) (*policy.Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--policy: %w", err)
	}
	p, err := policy.Parse(b)
	if err != nil {
		return nil, withHint(fmt.Errorf("--policy %s: %w", path, err), "see docs/policy.md for the format: default: {level: hash}, rules: [{name, match, level, ...}]")
	}
	return p, nil
}

// withPolicy sets p on opts and checks, before anything is written, that
// the Logger can give every level p may decide: a keyring for encrypted
// (read from keyFile or the environment when --store-content did not),
// a hash key for keyed-hash. The Logger would refuse those interactions
// anyway (fail closed); refusing to start says so at once.
func withPolicy(opts *comply.Options, p *policy.Policy, keyFile string) error {
	if p == nil {
		return nil
	}
	opts.Policy = p
	levels := p.Levels()
	if slices.Contains(levels, policy.KeyedHash) && opts.HashKey == nil {
		return withHint(errors.New("the policy has level keyed-hash but no content-hash key was given"),
			"pass --hash-key-file FILE (a key from 'comply keygen --hash --out FILE') or set "+envHashKeyFile)
	}
	if slices.Contains(levels, policy.Encrypted) && opts.Keyring == nil && opts.Keys == nil && opts.SealTo == nil {
		kr, err := keyring(keyFile)
		if errors.Is(err, seal.ErrNoKey) {
			return withHint(errors.New("the policy has level encrypted but no encryption key was given"),
				"set "+seal.EnvKey+" to a key printed by 'comply keygen', or pass --key-file FILE")
		}
		if err != nil {
			return err
		}
		opts.Keyring = kr
	}
	return nil
}
