package main

// Stand-ins for the CLI helpers of branch sc (cmd/comply/token.go and
// access.go), with their signatures, so that 'comply serve' builds before
// sc is merged. DELETE THIS FILE when merging sc: its functions replace
// these.

import (
	"context"
	"errors"
	"os"
	"path/filepath"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/store/filestore"
)

const envTokens = "COMPLY_TOKENS"

func (c *cli) tokensPath(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if env := os.Getenv(envTokens); env != "" {
		return env, nil
	}
	dir, ok, err := storeDir(c.store)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", errors.New("no tokens file: pass --tokens FILE")
	}
	if err := checkStoreDir(dir, false); err != nil {
		return "", err
	}
	return filepath.Join(dir, sidecarDir, "tokens.json"), nil
}

func accessStoreSpec(mainSpec string) (string, error) {
	dir, ok, err := storeDir(mainSpec)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", errors.New("access log: only beside a directory store until sc is merged")
	}
	return filepath.Join(dir, sidecarDir, "access"), nil
}

func (c *cli) openAccessWriter(ctx context.Context, durability filestore.Durability, signingKey string) (*comply.Logger, error) {
	spec, err := accessStoreSpec(c.store)
	if err != nil {
		return nil, err
	}
	if _, _, err := initStore(spec); err != nil {
		return nil, err
	}
	main := c.store
	c.store = spec
	defer func() { c.store = main }()
	return c.openWriter(ctx, durability, nil, signingKey)
}
