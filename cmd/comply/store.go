package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/seal"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/filestore"
)

// openStore opens the store that spec names: a directory path or a
// file:// URL means the file store, an s3:// URL the S3 store
// (openS3Store); URLs of any other scheme are rejected. Read-only stores
// take no lock, so that readers work while another process writes.
func openStore(ctx context.Context, spec string, readOnly bool, durability filestore.Durability) (store.Store, error) {
	if spec == "" {
		return nil, withHint(errors.New("no store given"), "pass --store DIR or set COMPLY_STORE")
	}
	dir := spec
	if scheme, ok := urlScheme(spec); ok {
		switch scheme {
		case "file":
			u, err := url.Parse(spec)
			if err != nil || u.Path == "" || (u.Host != "" && u.Host != "localhost") {
				return nil, withHint(errors.New("invalid file store URL"), "write file:///absolute/path, or just the directory path")
			}
			dir = u.Path
		case "s3":
			return openS3Store(ctx, spec, readOnly)
		default:
			// The rest of the URL may hold credentials: do not repeat it.
			return nil, withHint(fmt.Errorf("unsupported store URL scheme %q", scheme),
				"give a directory path (--store ./audit-logs) or an S3 URL (--store s3://bucket/prefix?region=...)")
		}
	}
	if readOnly {
		fi, err := os.Stat(dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, withHint(fmt.Errorf("store %s does not exist", dir),
				"pass --store DIR or set COMPLY_STORE to an audit log directory; 'comply log' creates one, 'comply demo' shows one")
		case err != nil:
			return nil, fmt.Errorf("opening store: %w", err)
		case !fi.IsDir():
			return nil, withHint(fmt.Errorf("store %s is not a directory", dir), "--store names the directory that holds the audit_*.jsonl files")
		}
	}
	s, err := filestore.Open(ctx, dir, &filestore.Options{ReadOnly: readOnly, Durability: durability})
	if err != nil {
		if readOnly {
			return nil, fmt.Errorf("opening store %s: %w", dir, err)
		}
		return nil, fmt.Errorf("opening store %s for writing: %w", dir, err)
	}
	return s, nil
}

// urlScheme returns the scheme of spec if it looks like a URL
// ("scheme://..."), as opposed to a path.
func urlScheme(spec string) (string, bool) {
	i := strings.Index(spec, "://")
	if i <= 0 {
		return "", false
	}
	scheme := spec[:i]
	for j, r := range scheme {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z':
		case j > 0 && ('0' <= r && r <= '9' || r == '+' || r == '-' || r == '.'):
		default:
			return "", false
		}
	}
	return strings.ToLower(scheme), true
}

// Shared flags.

// storeFlag adds --store, so that it may follow the command name too.
func (c *cli) storeFlag(fs *flag.FlagSet) {
	fs.StringVar(&c.store, "store", c.store, "the audit log directory, `DIR` (env COMPLY_STORE)")
}

// durabilityFlag adds --durability to a write command.
func (c *cli) durabilityFlag(fs *flag.FlagSet) *string {
	def := os.Getenv("COMPLY_DURABILITY")
	if def == "" {
		def = "always"
	}
	return fs.String("durability", def, "when a write returns, `MODE`: always (once fsynced), interval (fsync every 100 ms) or none (env COMPLY_DURABILITY)")
}

// keyFileFlag adds --key-file.
func (c *cli) keyFileFlag(fs *flag.FlagSet) *string {
	return fs.String("key-file", "", "read the encryption key(s) from `FILE` (mode 600) instead of AUDIT_ENCRYPTION_KEY")
}

func parseDurability(s string) (filestore.Durability, error) {
	d, err := filestore.ParseDurability(s)
	if err != nil {
		return 0, &usageError{msg: err.Error(), hint: "set --durability (or COMPLY_DURABILITY) to always, interval or none"}
	}
	return d, nil
}

// keyring loads the encryption keyring from the key file, if given, or
// from AUDIT_ENCRYPTION_KEY. Errors never quote key material.
func keyring(keyFile string) (*seal.Keyring, error) {
	if keyFile != "" {
		return seal.LoadKeyring(keyFile)
	}
	kr, err := seal.KeyringFromEnv()
	if errors.Is(err, seal.ErrNoKey) && strings.TrimSpace(os.Getenv(seal.EnvKey)) == "" {
		return nil, withHint(fmt.Errorf("%w: %s is not set and no --key-file was given", seal.ErrNoKey, seal.EnvKey),
			"set "+seal.EnvKey+" to a key printed by 'comply keygen', or pass --key-file FILE")
	}
	return kr, err
}

// openLogger opens the store and a Logger over it.
func (c *cli) openLogger(ctx context.Context, readOnly bool, durability filestore.Durability, opts *comply.Options) (*comply.Logger, error) {
	s, err := openStore(ctx, c.store, readOnly, durability)
	if err != nil {
		return nil, err
	}
	l, err := comply.New(s, opts)
	if err != nil {
		s.Close()
		return nil, err
	}
	return l, nil
}

// closeLogger closes l, keeping the first error.
func (c *cli) closeLogger(l *comply.Logger, err *error) {
	cerr := l.Close()
	switch {
	case cerr == nil || *err != nil:
	case onlyCheckpoint(cerr):
		// Every entry is stored, and journaled before it was acknowledged:
		// the next writer signs it. Not a failure of the command.
		fmt.Fprintf(c.stderr, "comply: warning: %s; the entries are stored and journaled, and the next writer signs them\n", termSafe(cerr.Error()))
	default:
		*err = fmt.Errorf("closing store: %w", cerr)
	}
}

// onlyCheckpoint reports whether every error joined in err is a failed
// ledger checkpoint.
func onlyCheckpoint(err error) bool {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if e != nil && !onlyCheckpoint(e) {
				return false
			}
		}
		return true
	}
	return errors.Is(err, ledger.ErrCheckpoint)
}

// writerOptions returns the Logger options of a writing command: with
// --store-content, the keyring that encrypts content.
func writerOptions(storeContent bool, keyFile string) (*comply.Options, error) {
	opts := &comply.Options{StoreContent: storeContent}
	if !storeContent {
		return opts, nil
	}
	kr, err := keyring(keyFile)
	if err != nil {
		if errors.Is(err, seal.ErrNoKey) {
			return nil, withHint(errors.New("--store-content needs an encryption key: "+seal.EnvKey+" is not set and no --key-file was given"),
				"set "+seal.EnvKey+" to a key printed by 'comply keygen', or pass --key-file FILE; without --store-content only hashes are stored")
		}
		return nil, err
	}
	opts.Keyring = kr
	return opts, nil
}
