package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/keysource"
	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/seal"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/filestore"
)

// openStore opens the store that spec names: a directory path or a
// file:// URL means the file store, an s3:// URL the S3 store
// (openS3Store); URLs of any other scheme are rejected. A file store's
// directory must exist (*missingStoreError): openStore never creates one.
// Read-only stores take no lock, so that readers work while another
// process writes.
func openStore(ctx context.Context, spec string, readOnly bool, durability filestore.Durability) (store.Store, error) {
	if spec == "" {
		return nil, withHint(errors.New("no store given"), "pass --store DIR or set COMPLY_STORE")
	}
	if scheme, ok := urlScheme(spec); ok && scheme != "file" {
		if scheme == "s3" {
			return openS3Store(ctx, spec, readOnly)
		}
		// The rest of the URL may hold credentials: do not repeat it.
		return nil, withHint(fmt.Errorf("unsupported store URL scheme %q", scheme),
			"give a directory path (--store ./audit-logs) or an S3 URL (--store s3://bucket/prefix?region=...)")
	}
	dir, _, err := storeDir(spec)
	if err != nil {
		return nil, err
	}
	if err := checkStoreDir(dir, readOnly); err != nil {
		return nil, err
	}
	s, err := filestore.Open(ctx, dir, &filestore.Options{ReadOnly: readOnly, Durability: durability, OnSync: syncHook(ctx)})
	if err != nil {
		if readOnly {
			return nil, fmt.Errorf("opening store %s: %w", dir, err)
		}
		return nil, fmt.Errorf("opening store %s for writing: %w", dir, err)
	}
	return s, nil
}

// A missingStoreError reports that the directory of a store does not
// exist: comply creates a store only when asked to (comply init, --create),
// so that a mistyped --store fails instead of starting an empty log.
type missingStoreError struct {
	dir  string
	hint string
}

func (e *missingStoreError) Error() string { return fmt.Sprintf("store %s does not exist", e.dir) }

// checkStoreDir checks that dir, a file store's directory, exists and is a
// directory.
func checkStoreDir(dir string, readOnly bool) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		hint := "check --store and COMPLY_STORE; 'comply init DIR' creates a store, 'comply demo' shows one"
		if !readOnly {
			hint = fmt.Sprintf("check --store and COMPLY_STORE; to start a new store, run 'comply init %s' first", dir)
		}
		return &missingStoreError{dir: dir, hint: hint}
	case err != nil:
		return fmt.Errorf("opening store: %w", err)
	case !fi.IsDir():
		return withHint(fmt.Errorf("store %s is not a directory", dir), "--store names the directory that holds the audit_*.jsonl files")
	}
	return nil
}

// sidecarDir is the directory inside a file store that holds what comply
// adds to the seed's files (indexes, the lock, the integrity ledger).
const sidecarDir = ".comply"

// initStore creates the file store directory dir (mode 700, parents
// included) and its sidecar directory, if they do not exist. It reports
// which it created.
func initStore(dir string) (createdDir, createdSidecar bool, err error) {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return false, false, fmt.Errorf("creating store: %w", err)
		}
		createdDir = true
	case err != nil:
		return false, false, fmt.Errorf("creating store: %w", err)
	case !fi.IsDir():
		return false, false, withHint(fmt.Errorf("store %s is not a directory", dir), "--store names the directory that holds the audit_*.jsonl files")
	}
	side := filepath.Join(dir, sidecarDir)
	switch err := os.Mkdir(side, 0o700); {
	case err == nil:
		createdSidecar = true
	case errors.Is(err, fs.ErrExist):
		if fi, serr := os.Stat(side); serr != nil || !fi.IsDir() {
			return createdDir, false, fmt.Errorf("store %s: %s exists and is not a directory", dir, sidecarDir)
		}
	default:
		return createdDir, false, fmt.Errorf("creating store: %w", err)
	}
	return createdDir, createdSidecar, nil
}

// storeDir returns the directory of spec when it names a file store, or
// ok false for a URL of another scheme (such as s3://).
func storeDir(spec string) (dir string, ok bool, err error) {
	scheme, isURL := urlScheme(spec)
	if !isURL {
		return spec, true, nil
	}
	if scheme != "file" {
		return "", false, nil
	}
	u, err := url.Parse(spec)
	if err != nil || u.Path == "" || (u.Host != "" && u.Host != "localhost") {
		return "", false, withHint(errors.New("invalid file store URL"), "write file:///absolute/path, or just the directory path")
	}
	return u.Path, true, nil
}

// openWriteStore opens the store of a command that writes entries (log,
// cleanup, proxy): with --create it first creates a file store that does
// not exist; without, a missing store is an error.
func (c *cli) openWriteStore(ctx context.Context, durability filestore.Durability) (store.Store, error) {
	if c.create && c.store != "" {
		dir, ok, err := storeDir(c.store)
		if err != nil {
			return nil, err
		}
		if ok {
			if created, _, err := initStore(dir); err != nil {
				return nil, err
			} else if created {
				fmt.Fprintf(c.stderr, "comply: created store %s\n", termSafe(dir))
			}
		}
	}
	s, err := openStore(ctx, c.store, false, durability)
	if me, ok := errors.AsType[*missingStoreError](err); ok {
		me.hint = fmt.Sprintf("check --store and COMPLY_STORE; to start a new store, run 'comply init %s' first, or pass --create", me.dir)
	}
	return s, err
}

// storeName returns the store's name for messages: the directory, or the
// URL without its user information and parameters (which may configure
// credentials or endpoints).
func (c *cli) storeName() string {
	if _, ok := urlScheme(c.store); !ok {
		return c.store
	}
	u, err := url.Parse(c.store)
	if err != nil {
		return "(the --store URL)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String()
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

// durabilityFlag adds the flags of a command that writes entries (log,
// cleanup, proxy): --durability, which it returns, and --create, which sets
// c.create for openWriteStore.
func (c *cli) durabilityFlag(fs *flag.FlagSet) *string {
	fs.BoolVar(&c.create, "create", false, "create the store directory if it does not exist, as 'comply init' does (never an S3 bucket)")
	def := os.Getenv("COMPLY_DURABILITY")
	if def == "" {
		def = "always"
	}
	return fs.String("durability", def, "when a write returns, `MODE`: always (once fsynced), interval (fsync every 100 ms) or none (env COMPLY_DURABILITY)")
}

// envHashKeyFile names the file of the content-hash key.
const envHashKeyFile = "COMPLY_HASH_KEY_FILE"

// hashKeyFileFlag adds --hash-key-file, whose default is
// COMPLY_HASH_KEY_FILE.
func (c *cli) hashKeyFileFlag(fs *flag.FlagSet, usage string) *string {
	return fs.String("hash-key-file", os.Getenv(envHashKeyFile), usage+" (mode 600; env "+envHashKeyFile+")")
}

// envKeySource names the key source of --key-source.
const envKeySource = "COMPLY_KEY_SOURCE"

// keySourceMark starts the value of a key-file flag that holds a key
// source spec instead of a path (no path holds a NUL byte).
const keySourceMark = "\x00key-source:"

// sealToMark starts the value of a key-file flag that holds the path of
// a sealing public key (--seal-to).
const sealToMark = "\x00seal-to:"

// keyFileFlag adds --key-file and --key-source, whose default is
// COMPLY_KEY_SOURCE. The string it returns is what keyring takes: a path,
// keySourceMark and a spec, or "" for AUDIT_ENCRYPTION_KEY.
func (c *cli) keyFileFlag(fs *flag.FlagSet) *string { return c.keyFlags(fs, false) }

// writerKeyFlag is keyFileFlag with --seal-to, for the commands that
// write, and --seal-session: its value is sealToMark, the path, NUL and
// the session duration (empty: one encapsulation per content), for
// writerOptions.
func (c *cli) writerKeyFlag(fs *flag.FlagSet) *string { return c.keyFlags(fs, true) }

func (c *cli) keyFlags(fs *flag.FlagSet, sealTo bool) *string {
	spec := new(string)
	if s := strings.TrimSpace(os.Getenv(envKeySource)); s != "" {
		*spec = keySourceMark + s
	}
	given := ""
	set := func(name, value string) error {
		if given != "" && given != name {
			return fmt.Errorf("give one of --key-file, --key-source and --seal-to, not both --%s and --%s", given, name)
		}
		given, *spec = name, value
		return nil
	}
	fs.Func("key-file", "read the encryption key(s) from `FILE` (mode 600) instead of AUDIT_ENCRYPTION_KEY", func(v string) error {
		return set("key-file", v)
	})
	fs.Func("key-source", "load the encryption key(s) from `SPEC`: env:NAME, file:PATH, aws-sm:SECRET_ID[?region=R], vault:MOUNT/PATH#FIELD or kms:PATH (env "+envKeySource+")", func(v string) error {
		if _, err := keysource.Parse(v); err != nil {
			return err
		}
		return set("key-source", keySourceMark+v)
	})
	if sealTo {
		var path, session string
		fs.Func("seal-to", "with --store-content, seal content to the public key in `FILE` (NAME.pub from 'comply keygen --sealing'): only its private key opens it", func(v string) error {
			path = v
			return set("seal-to", sealToMark+path+"\x00"+session)
		})
		fs.Func("seal-session", "with --seal-to, one key encapsulation per `DURATION` (e.g. 1m) instead of per content: as fast as Fernet, but the writer can read the current session's content (docs/keys.md)", func(v string) error {
			if d, err := time.ParseDuration(v); err != nil || d <= 0 {
				return errors.New("want a positive duration such as 1m")
			}
			session = v
			return set("seal-to", sealToMark+path+"\x00"+session)
		})
	}
	return spec
}

// identityFlag adds --identity, the private key that opens sealed content.
func (c *cli) identityFlag(fs *flag.FlagSet) *string {
	return fs.String("identity", "", "open content sealed to a public key with the private key in `FILE` (NAME.key, mode 600)")
}

// readerKeys sets the keys that decrypt content: the keyring of the key
// spec (see keyFileFlag), and the identity in the file identity, if given.
// With an identity, a missing keyring is no error.
func readerKeys(opts *comply.Options, keySpec, identity string) error {
	if identity != "" {
		id, err := seal.LoadIdentity(identity)
		if err != nil {
			return err
		}
		opts.Identity = id
	}
	kr, err := keyring(keySpec)
	if err != nil && !(identity != "" && keySpec == "" && errors.Is(err, seal.ErrNoKey)) {
		return err
	}
	opts.Keyring = kr
	return nil
}

// keySourceRefresher loads the key source spec and returns a Refresher
// that reloads it every keysource.DefaultInterval.
func keySourceRefresher(spec string) (*keysource.Refresher, error) {
	src, err := keysource.Parse(spec)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), keySourceTimeout)
	defer cancel()
	return keysource.NewRefresher(ctx, src, nil)
}

func parseDurability(s string) (filestore.Durability, error) {
	d, err := filestore.ParseDurability(s)
	if err != nil {
		return 0, &usageError{msg: err.Error(), hint: "set --durability (or COMPLY_DURABILITY) to always, interval or none"}
	}
	return d, nil
}

// keySourceTimeout bounds loading a keyring from a key source.
const keySourceTimeout = 30 * time.Second

// keyring loads the encryption keyring from the key source or key file
// (see keyFileFlag), if given, or from AUDIT_ENCRYPTION_KEY. Errors never
// quote key material.
func keyring(keyFile string) (*seal.Keyring, error) {
	if strings.HasPrefix(keyFile, sealToMark) {
		return nil, usagef("--seal-to names a public key, which cannot decrypt: give the private key with --identity")
	}
	if spec, ok := strings.CutPrefix(keyFile, keySourceMark); ok {
		ctx, cancel := context.WithTimeout(context.Background(), keySourceTimeout)
		defer cancel()
		return keysource.Load(ctx, spec)
	}
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

// writerOptions returns the Logger options of a writing command: with a
// hash key file, keyed hashes; with --store-content, the keyring that
// encrypts content.
func writerOptions(storeContent bool, keyFile, hashKeyFile string) (*comply.Options, error) {
	opts := &comply.Options{StoreContent: storeContent}
	if hashKeyFile != "" {
		key, err := loadHashKey(hashKeyFile)
		if err != nil {
			return nil, err
		}
		opts.HashKey = key
	}
	if !storeContent {
		return opts, nil
	}
	if rest, ok := strings.CutPrefix(keyFile, sealToMark); ok {
		path, session, _ := strings.Cut(rest, "\x00")
		if path == "" {
			return nil, usagef("--seal-session goes with --seal-to FILE")
		}
		pk, err := seal.LoadSealingKey(path)
		if err != nil {
			return nil, err
		}
		if d, err := time.ParseDuration(session); err == nil && d > 0 {
			pk = pk.WithSessions(d)
		}
		opts.SealTo = pk
		return opts, nil
	}
	if spec, ok := strings.CutPrefix(keyFile, keySourceMark); ok {
		// A writer may run for long: reload the source, so that a rotated
		// key is used without a restart.
		r, err := keySourceRefresher(spec)
		if err != nil {
			return nil, err
		}
		opts.Keys = r
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
