package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/server/accesslog"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/filestore"
)

// accessDir is where the access store of a directory store DIR lives:
// DIR/.comply/access, a file store of its own. The main store never looks
// inside .comply/ beyond its own files, 'comply verify --store DIR' reads
// only DIR's ledger, and the Python library reads only DIR/audit_*.jsonl.
const accessDir = "access"

// accessS3Prefix is the key prefix, under an S3 store's prefix, of its
// access store: the main store lists only segments/, its date folders and
// _comply/blobs/ and _comply/parts/, never _comply/access/.
const accessS3Prefix = "_comply/access"

// accessStoreSpec returns the store of the access log that belongs to the
// store mainSpec: DIR/.comply/access for a directory store DIR, and for
// s3://BUCKET/PREFIX?PARAMS the store s3://BUCKET/PREFIX/_comply/access
// with the same parameters but layout (an access store always uses the
// default segments layout: the Python library reads no access log).
func accessStoreSpec(mainSpec string) (string, error) {
	if mainSpec == "" {
		return "", withHint(errors.New("no store given"), "pass --store DIR or set COMPLY_STORE")
	}
	dir, ok, err := storeDir(mainSpec)
	if err != nil {
		return "", err
	}
	if ok {
		return filepath.Join(dir, sidecarDir, accessDir), nil
	}
	if scheme, _ := urlScheme(mainSpec); scheme != "s3" {
		return "", withHint(fmt.Errorf("unsupported store URL scheme %q", scheme),
			"give a directory path (--store ./audit-logs) or an S3 URL (--store s3://bucket/prefix?region=...)")
	}
	u, err := url.Parse(mainSpec)
	if err != nil {
		// The URL may hold parameters that configure credentials: do not
		// repeat it.
		return "", withHint(errors.New("invalid S3 store URL"), "write the store as s3://BUCKET/PREFIX?region=REGION")
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + accessS3Prefix
	u.RawPath = ""
	q := u.Query()
	q.Del("layout")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// openAccessWriter opens the access store of c.store for writing,
// creating it if needed (the main store must exist), and returns a Logger
// over it. With a signing key (signingKey, else COMPLY_SIGNING_KEY, as
// openWriter takes it) the Logger keeps a ledger of its own, signed with
// the same key, whose origin is the main store's origin followed by
// "/access" (or, once the access store has a ledger, that ledger's; or,
// for a store shared by several writers, the access writer's id). Without
// one, it returns a Logger without ledger, and the caller says that the
// access log is unsigned; an access store that has a ledger is then
// refused, as openWriter refuses to write a signed store unsigned.
//
// Call it after opening the main writer, so that the main store's ledger
// exists and its origin is known.
func (c *cli) openAccessWriter(ctx context.Context, durability filestore.Durability, signingKey string) (*comply.Logger, error) {
	signer, err := loadSigner(signingKey)
	if err != nil {
		return nil, err
	}
	spec, err := accessStoreSpec(c.store)
	if err != nil {
		return nil, err
	}
	if dir, ok, _ := storeDir(c.store); ok {
		if err := checkStoreDir(dir, false); err != nil {
			return nil, err
		}
		if _, _, err := initStore(spec); err != nil {
			return nil, fmt.Errorf("access log: %w", err)
		}
	}
	s, err := openStore(ctx, spec, false, durability)
	if err != nil {
		return nil, fmt.Errorf("access log: %w", err)
	}
	var own []string // the access store's ledgers
	if sc, ok := s.(store.Sidecar); ok {
		if own, err = ledger.Origins(ctx, sc); err != nil {
			s.Close()
			return nil, fmt.Errorf("access log: %w", err)
		}
	}
	var l *comply.Logger
	if signer == nil {
		if len(own) > 0 {
			s.Close()
			return nil, withHint(fmt.Errorf("the access log of this store has an integrity ledger (%s): writing without its signing key would leave accesses unsigned", strings.Join(own, ", ")),
				"pass --signing-key FILE or set "+envSigningKey)
		}
		l, err = comply.New(s, nil)
	} else {
		origin := originOf(s, "")
		if origin == "" && len(own) == 0 {
			origin = c.mainOrigin(ctx)
		}
		l, err = comply.NewWithIntegrity(ctx, s, nil, &comply.IntegrityOptions{Signer: signer, Origin: origin})
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("access log: %w", err)
	}
	return l, nil
}

// mainOrigin returns the origin of the access log's ledger derived from
// the main store's: its one ledger's origin and "/access", or "" (the
// ledger's default) when it has none or several.
func (c *cli) mainOrigin(ctx context.Context) string {
	sst, err := openLedgerStore(ctx, c.store)
	if err != nil {
		return ""
	}
	defer sst.Close()
	origins, err := ledger.Origins(ctx, sst)
	if err != nil || len(origins) != 1 {
		return ""
	}
	return origins[0] + "/access"
}

// A noAccessLogError says that a store has no access log yet.
type noAccessLogError struct{ store, spec string }

func (e *noAccessLogError) Error() string {
	return fmt.Sprintf("store %s has no access log yet (%s)", e.store, e.spec)
}

func cmdAccessLog(ctx context.Context, c *cli, args []string) (err error) {
	fs := c.flagSet("access-log", "[--since D | --start T --end T] [--token NAME] [--denied] [--json]", `
Print the access log of the store: every read of evidence that 'comply
serve' answered or refused (queries, gets, decryptions, proofs,
verifications, exports), oldest first, one line each: the time, the token
and its role, the status, how many entries were returned, the client's
address, the request (method, route, filters, ids), and for a refused
request DENIED and why. With --json, one JSON object per line instead.

The access log is a comply log of its own beside the entries: for a
directory store DIR it is DIR/.comply/access, for s3://BUCKET/PREFIX it is
s3://BUCKET/PREFIX/_comply/access (--access-store overrides). It is read
without a lock, so this works while a server writes it; 'comply verify
--store DIR/.comply/access' checks its ledger.

Time bounds are inclusive; times and durations as in 'comply query'.

Examples:
  comply access-log --since 24h
  comply access-log --token auditor --denied
  comply access-log --start 2026-11-01 --end 2026-11-30 --json`)
	c.storeFlag(fs)
	since := fs.String("since", "", "only the last `DURATION` (e.g. 24h, 7d)")
	start := fs.String("start", "", "from `TIME` (inclusive)")
	end := fs.String("end", "", "up to `TIME` (inclusive)")
	token := fs.String("token", "", "only the accesses of the token `NAME`")
	denied := fs.Bool("denied", false, "only the refused requests")
	asJSON := fs.Bool("json", false, "print one JSON object per line")
	spec := fs.String("access-store", "", "read the access log at `SPEC` instead of the store's")
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("access-log takes no arguments, got %q", rest[0])
	}
	q := accesslog.Query{Token: *token, DeniedOnly: *denied}
	if q.Start, q.End, err = timeRange(*since, *start, *end, time.Now()); err != nil {
		return err
	}
	l, err := c.openAccessLog(ctx, *spec)
	if err != nil {
		return err
	}
	defer c.closeLogger(l, &err)
	w := bufio.NewWriter(c.stdout)
	n := 0
	for r, rerr := range accesslog.New(l).Records(ctx, q) {
		if rerr != nil {
			w.Flush()
			return rerr
		}
		n++
		if *asJSON {
			b, err := json.Marshal(r)
			if err != nil {
				return err
			}
			w.Write(b)
			w.WriteByte('\n')
		} else {
			w.WriteString(accessLine(r))
			w.WriteByte('\n')
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if n == 0 && !*asJSON {
		fmt.Fprintln(c.stderr, "comply: no accesses match")
	}
	return nil
}

// openAccessLog opens the access log at spec, or beside the store when
// spec is "", read-only, and a Logger over it.
func (c *cli) openAccessLog(ctx context.Context, spec string) (*comply.Logger, error) {
	var err error
	if spec == "" {
		if spec, err = accessStoreSpec(c.store); err != nil {
			return nil, err
		}
	}
	if dir, ok, _ := storeDir(spec); ok {
		if fi, serr := os.Stat(dir); serr != nil || !fi.IsDir() {
			return nil, withHint(&noAccessLogError{store: c.storeName(), spec: dir},
				"'comply serve' creates it when it records its first read; check --store and COMPLY_STORE")
		}
	}
	s, err := openStore(ctx, spec, true, 0)
	if err != nil {
		return nil, fmt.Errorf("access log: %w", err)
	}
	l, err := comply.New(s, nil)
	if err != nil {
		s.Close()
		return nil, err
	}
	return l, nil
}

// accessLine formats one access record for people: time, token, role,
// status, count, remote address, the request, and DENIED with its reason.
// Every field from the request goes through termSafe.
func accessLine(r accesslog.Record) string {
	var b strings.Builder
	b.WriteString(r.Time.UTC().Format("2006-01-02T15:04:05.000000Z"))
	for _, f := range []string{dash(r.Token), dash(r.Role), strconv.Itoa(r.Status), "count=" + strconv.FormatInt(r.Count, 10), "remote=" + dash(r.Remote), termSafe(accesslog.Describe(r))} {
		b.WriteByte(' ')
		b.WriteString(f)
	}
	switch {
	case r.Denied:
		b.WriteString(" DENIED")
		if r.Reason != "" {
			b.WriteString(": " + termSafe(r.Reason))
		}
	case r.Reason != "":
		b.WriteString(" error: " + termSafe(r.Reason))
	}
	return b.String()
}
