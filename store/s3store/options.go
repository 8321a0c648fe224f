package s3store

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/complyhq/comply/store"
)

// Layout is how entries are laid out in the bucket.
type Layout int

const (
	// Segments (the default) writes batches of entries as compressed JSONL
	// segment objects with an index: a PUT per batch, not per entry.
	Segments Layout = iota
	// Seed writes one object per entry at prefix/YYYY-MM-DD/<id>.json, as
	// the Python library's S3Storage does, so both can share a bucket.
	Seed
)

func (l Layout) String() string {
	switch l {
	case Segments:
		return "segments"
	case Seed:
		return "seed"
	}
	return fmt.Sprintf("Layout(%d)", int(l))
}

// Durability says when Append returns relative to the PUT of the object
// that holds the records: Always once the object holding its records is
// stored (concurrent appends share one PUT); Interval once the records are
// in the writer's buffer, stored when it reaches FlushBytes or is
// FlushInterval old (a crash of the writer loses at most the last
// interval); None once the records are in the buffer, stored only when it
// reaches FlushBytes, when a read needs it, or on Close (a crash loses the
// whole buffer).
type Durability = store.Durability

// The durability modes.
const (
	Always   = store.Always
	Interval = store.Interval
	None     = store.None
)

// ParseDurability parses "always", "interval" or "none".
func ParseDurability(s string) (Durability, error) { return store.ParseDurability(s) }

// LockMode is the S3 Object Lock retention mode written with every object.
type LockMode string

const (
	NoLock     LockMode = ""
	Compliance LockMode = "COMPLIANCE" // nobody can delete before expiry, not even the root user
	Governance LockMode = "GOVERNANCE" // only users with s3:BypassGovernanceRetention can
)

// Defaults of the URL parameters.
const (
	DefaultFlushInterval = time.Second
	DefaultFlushBytes    = 8 << 20
	DefaultRegion        = "us-east-1" // with endpoint= only
)

// Options configure a Store beyond its URL. The zero value means the
// documented defaults.
type Options struct {
	// ReadOnly opens the store for reading only: the mutating methods
	// return store.ErrReadOnly and no writer id is taken.
	ReadOnly bool
	// Client, if set, is the S3 client to use; the URL's region and
	// endpoint parameters are then ignored. By default Open builds one
	// with config.LoadDefaultConfig (the standard credential chain).
	Client *s3.Client
	// Writer overrides the URL's writer parameter.
	Writer string
	// ReadConcurrency bounds the objects a read fetches at once; default 16
	// (32 in the seed layout, whose objects are one entry each).
	ReadConcurrency int
	// MaxPending bounds the bytes of records a writer holds that are not
	// yet stored (buffered, in flight or awaiting a retry); past it,
	// Append fails at once instead of growing memory. Default 8 times the
	// flush size, at least 64 MiB.
	MaxPending int64
	// OnSync, if set, is called after every segment PUT (the journal's
	// parts stored first included), with its duration: the S3 store's
	// counterpart of an fsync, for a latency histogram. It runs on the
	// writer's goroutine and must be fast.
	OnSync func(time.Duration)

	// retainFor overrides retain_days, for tests of expiring locks.
	retainFor time.Duration
}

// config is a parsed store URL.
type config struct {
	bucket     string
	prefix     string // "" or ending in "/"
	region     string
	endpoint   string
	layout     Layout
	durability Durability
	lock       LockMode
	retainDays int
	writer     string
	flushEvery time.Duration
	flushBytes int64
}

// parseURL parses a store URL. Errors name the offending parameter but
// never repeat the URL, which may carry secrets by mistake.
func parseURL(raw string) (config, error) {
	c := config{flushEvery: DefaultFlushInterval, flushBytes: DefaultFlushBytes}
	u, err := url.Parse(raw)
	if err != nil {
		return c, errors.New("s3 store URL: cannot parse (want s3://bucket/prefix?region=...)")
	}
	if err := c.setLocation(u); err != nil {
		return c, err
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return c, errors.New("s3 store URL: cannot parse the query")
	}
	var g given
	for k, vs := range q {
		if len(vs) != 1 {
			return c, fmt.Errorf("s3 store URL: parameter %s given %d times", k, len(vs))
		}
		if err := c.setParam(k, vs[0], &g); err != nil {
			return c, err
		}
	}
	if err := c.checkCombination(g); err != nil {
		return c, err
	}
	if c.endpoint != "" && c.region == "" {
		c.region = DefaultRegion
	}
	return c, nil
}

// given records which of the parameters that depend on each other the URL
// sets.
type given struct{ lock, days bool }

// setLocation checks the URL's scheme, takes its bucket and prefix, and
// refuses credentials and a fragment.
func (c *config) setLocation(u *url.URL) error {
	if u.Scheme != "s3" {
		return fmt.Errorf("s3 store URL: scheme %q, want s3", u.Scheme)
	}
	if u.User != nil {
		return fmt.Errorf("s3 store URL: %w", ErrCredentialsInURL)
	}
	c.bucket = u.Host
	if err := checkBucket(c.bucket); err != nil {
		return err
	}
	p := strings.TrimPrefix(u.Path, "/")
	if p != "" {
		if strings.Contains(p, "//") {
			return errors.New("s3 store URL: empty element in the prefix")
		}
		c.prefix = strings.TrimSuffix(p, "/") + "/"
	}
	if u.Fragment != "" {
		return errors.New("s3 store URL: unexpected fragment")
	}
	return nil
}

// setParam sets the query parameter k to v, through the setter of its
// group.
func (c *config) setParam(k, v string, g *given) error {
	switch k {
	case "region", "endpoint":
		return c.setConnection(k, v)
	case "layout", "durability":
		return c.setLayout(k, v)
	case "object_lock", "retain_days":
		return c.setLock(k, v, g)
	case "writer", "flush_ms", "flush_bytes":
		return c.setWriter(k, v)
	}
	return fmt.Errorf("s3 store URL: unknown parameter %q (want region, endpoint, layout, durability, object_lock, retain_days, writer, flush_ms or flush_bytes)", k)
}

// setConnection sets region or endpoint: where the bucket is.
func (c *config) setConnection(k, v string) error {
	if k == "region" {
		c.region = v
		return nil
	}
	e, err := url.Parse(v)
	if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
		return errors.New("s3 store URL: endpoint: want http(s)://host[:port]")
	}
	if e.User != nil {
		return fmt.Errorf("s3 store URL: endpoint: %w", ErrCredentialsInURL)
	}
	c.endpoint = strings.TrimSuffix(v, "/")
	return nil
}

// setLayout sets layout or durability: how the lines become objects.
func (c *config) setLayout(k, v string) error {
	if k == "durability" {
		d, err := ParseDurability(v)
		if err != nil {
			return errors.New("s3 store URL: durability: want always, interval or none")
		}
		c.durability = d
		return nil
	}
	switch v {
	case "segments", "":
		c.layout = Segments
	case "seed":
		c.layout = Seed
	default:
		return errors.New("s3 store URL: layout: want segments or seed")
	}
	return nil
}

// setLock sets object_lock or retain_days: how long objects are kept
// from deletion.
func (c *config) setLock(k, v string, g *given) error {
	if k == "retain_days" {
		g.days = true
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 36500 {
			return errors.New("s3 store URL: retain_days: want a whole number of days from 1 to 36500")
		}
		c.retainDays = n
		return nil
	}
	g.lock = true
	switch strings.ToLower(v) {
	case "compliance":
		c.lock = Compliance
	case "governance":
		c.lock = Governance
	case "", "off", "none":
		c.lock = NoLock
	default:
		return errors.New("s3 store URL: object_lock: want compliance or governance")
	}
	return nil
}

// setWriter sets writer, flush_ms or flush_bytes: who writes, and when a
// writer flushes.
func (c *config) setWriter(k, v string) error {
	switch k {
	case "writer":
		if err := checkWriter(v); err != nil {
			return fmt.Errorf("s3 store URL: %w", err)
		}
		c.writer = v
	case "flush_ms":
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 3600_000 {
			return errors.New("s3 store URL: flush_ms: want milliseconds from 1 to 3600000")
		}
		c.flushEvery = time.Duration(n) * time.Millisecond
	case "flush_bytes":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 || n > 1<<30 {
			return errors.New("s3 store URL: flush_bytes: want bytes from 1 to 1073741824")
		}
		c.flushBytes = n
	}
	return nil
}

// checkCombination checks the parameters that depend on each other.
func (c *config) checkCombination(g given) error {
	switch {
	case c.lock != NoLock && !g.days:
		return errors.New("s3 store URL: object_lock needs retain_days=N")
	case g.days && c.lock == NoLock && !g.lock:
		return errors.New("s3 store URL: retain_days needs object_lock=compliance or object_lock=governance")
	case c.layout == Seed && c.durability != Always:
		return errors.New("s3 store URL: layout=seed writes one object per entry before Append returns: durability must be always")
	}
	return nil
}

// checkBucket checks a bucket name against the S3 rules (loosely: 3 to 63
// lowercase letters, digits, '-' and '.').
func checkBucket(b string) error {
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("s3 store URL: bucket name %q: want 3 to 63 characters", b)
	}
	for i := range len(b) {
		c := b[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return fmt.Errorf("s3 store URL: bucket name %q: character %q not allowed", b, c)
		}
	}
	return nil
}
