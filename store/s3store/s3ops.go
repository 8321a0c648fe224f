package s3store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/complyhq/comply/store"
)

// Stats counts the requests a Store has made, for benchmarks and for
// estimating request fees.
type Stats struct {
	Puts, Gets, Heads, Lists, Deletes int64
	PutBytes                          int64 // object bytes uploaded
	GetBytes                          int64 // object bytes downloaded
	Segments                          int64 // segment objects written (layout=segments)
	Entries                           int64 // entries acknowledged as stored
}

type counters struct {
	puts, gets, heads, lists, deletes atomic.Int64
	putBytes, getBytes                atomic.Int64
	segments, entries                 atomic.Int64
}

// Stats returns the requests made so far.
func (s *Store) Stats() Stats {
	c := &s.cnt
	return Stats{
		Puts: c.puts.Load(), Gets: c.gets.Load(), Heads: c.heads.Load(), Lists: c.lists.Load(), Deletes: c.deletes.Load(),
		PutBytes: c.putBytes.Load(), GetBytes: c.getBytes.Load(), Segments: c.segments.Load(), Entries: c.entries.Load(),
	}
}

// errExists is returned by a conditional put when the key is taken.
var errExists = errors.New("object exists")

// metaSum is the user metadata key holding the SHA-256 of an object we
// wrote, so that a retry can tell its own earlier PUT from another's.
const metaSum = "comply-sha256"

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func isNotFound(err error) bool {
	var nk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nk) || errors.As(err, &nf) {
		return true
	}
	switch errorCode(err) {
	case "NoSuchKey", "NotFound", "NoSuchVersion":
		return true
	}
	return false
}

// full returns the bucket key of rel, a key relative to the prefix.
func (s *Store) full(rel string) string { return s.cfg.prefix + rel }

// put uploads an object. With cond, it fails with errExists if the key is
// taken (If-None-Match: *), unless the server does not implement
// conditional writes, after which puts are unconditional. Under object
// lock, the object is written with the store's retention.
func (s *Store) put(ctx context.Context, rel string, body []byte, contentType string, meta map[string]string, cond bool) error {
	for {
		in := &s3.PutObjectInput{
			Bucket:        &s.cfg.bucket,
			Key:           aws.String(s.full(rel)),
			Body:          bytes.NewReader(body),
			ContentLength: aws.Int64(int64(len(body))),
			ContentType:   aws.String(contentType),
			Metadata:      meta,
		}
		useCond := cond && !s.noCond.Load()
		if useCond {
			in.IfNoneMatch = aws.String("*")
		}
		if s.cfg.lock != NoLock {
			until := time.Now().Add(s.retention()).UTC()
			in.ObjectLockMode = types.ObjectLockMode(s.cfg.lock)
			in.ObjectLockRetainUntilDate = &until
			// S3 wants Content-MD5 or a checksum on a PUT with retention:
			// ask for one even if the configuration turned them off.
			in.ChecksumAlgorithm = types.ChecksumAlgorithmCrc32
		}
		s.cnt.puts.Add(1)
		_, err := s.c.PutObject(ctx, in)
		if err == nil {
			s.cnt.putBytes.Add(int64(len(body)))
			return nil
		}
		switch code := errorCode(err); {
		case useCond && code == "NotImplemented":
			// The server does not do conditional writes: names are
			// unique per writer anyway, so go on without (documented).
			s.noCond.Store(true)
			continue
		case useCond && (code == "PreconditionFailed" || code == "ConditionalRequestConflict"):
			return fmt.Errorf("put %s: %w", *in.Key, errExists)
		}
		return fmt.Errorf("put %s: %w", *in.Key, err)
	}
}

func (s *Store) retention() time.Duration {
	if s.opts.retainFor > 0 {
		return s.opts.retainFor
	}
	return time.Duration(s.cfg.retainDays) * 24 * time.Hour
}

// get downloads a whole object, or a range of it when rng is not "".
// A missing object is an error wrapping store.ErrNotFound.
func (s *Store) get(ctx context.Context, rel, rng string) ([]byte, *s3.GetObjectOutput, error) {
	in := &s3.GetObjectInput{Bucket: &s.cfg.bucket, Key: aws.String(s.full(rel))}
	if rng != "" {
		in.Range = aws.String(rng)
	}
	s.cnt.gets.Add(1)
	// Ranged GETs carry no checksum to validate: the SDK would log that
	// at every one. Segments check their own data (gzip CRCs, index CRC).
	out, err := s.c.GetObject(ctx, in, func(o *s3.Options) { o.DisableLogOutputChecksumValidationSkipped = true })
	if err != nil {
		if isNotFound(err) {
			return nil, nil, fmt.Errorf("get %s: %w", *in.Key, store.ErrNotFound)
		}
		return nil, nil, fmt.Errorf("get %s: %w", *in.Key, err)
	}
	defer out.Body.Close()
	var buf bytes.Buffer
	if out.ContentLength != nil && *out.ContentLength > 0 && *out.ContentLength < 1<<30 {
		buf.Grow(int(*out.ContentLength))
	}
	if _, err := io.Copy(&buf, out.Body); err != nil {
		return nil, nil, fmt.Errorf("get %s: %w", *in.Key, err)
	}
	s.cnt.getBytes.Add(int64(buf.Len()))
	return buf.Bytes(), out, nil
}

// head returns an object's metadata, of a given version if versionID is
// not "". A missing object is an error wrapping store.ErrNotFound.
func (s *Store) head(ctx context.Context, rel, versionID string) (*s3.HeadObjectOutput, error) {
	in := &s3.HeadObjectInput{Bucket: &s.cfg.bucket, Key: aws.String(s.full(rel))}
	if versionID != "" && versionID != "null" {
		in.VersionId = aws.String(versionID)
	}
	s.cnt.heads.Add(1)
	out, err := s.c.HeadObject(ctx, in)
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("head %s: %w", *in.Key, store.ErrNotFound)
		}
		return nil, fmt.Errorf("head %s: %w", *in.Key, err)
	}
	return out, nil
}

// An object is one entry of a listing, with its key relative to the
// prefix.
type object struct {
	rel  string
	size int64
}

// list calls fn with every object under rel (relative to the prefix), in
// key order.
func (s *Store) list(ctx context.Context, rel string, fn func(object) error) error {
	in := &s3.ListObjectsV2Input{Bucket: &s.cfg.bucket, Prefix: aws.String(s.full(rel))}
	for {
		s.cnt.lists.Add(1)
		out, err := s.c.ListObjectsV2(ctx, in)
		if err != nil {
			return fmt.Errorf("list %s: %w", *in.Prefix, err)
		}
		for _, o := range out.Contents {
			k := aws.ToString(o.Key)
			if !strings.HasPrefix(k, s.cfg.prefix) {
				continue
			}
			if err := fn(object{rel: k[len(s.cfg.prefix):], size: aws.ToInt64(o.Size)}); err != nil {
				return err
			}
		}
		if !aws.ToBool(out.IsTruncated) || out.NextContinuationToken == nil {
			return nil
		}
		in.ContinuationToken = out.NextContinuationToken
	}
}

// dirs returns the "folders" directly under rel: the common prefixes of
// a listing with delimiter "/", relative to rel and without the slash.
func (s *Store) dirs(ctx context.Context, rel string) ([]string, error) {
	in := &s3.ListObjectsV2Input{Bucket: &s.cfg.bucket, Prefix: aws.String(s.full(rel)), Delimiter: aws.String("/")}
	var out []string
	for {
		s.cnt.lists.Add(1)
		page, err := s.c.ListObjectsV2(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", *in.Prefix, err)
		}
		for _, p := range page.CommonPrefixes {
			d := strings.TrimSuffix(strings.TrimPrefix(aws.ToString(p.Prefix), *in.Prefix), "/")
			if d != "" {
				out = append(out, d)
			}
		}
		if !aws.ToBool(page.IsTruncated) || page.NextContinuationToken == nil {
			return out, nil
		}
		in.ContinuationToken = page.NextContinuationToken
	}
}

// A version is one version of an object (or a delete marker), relative
// to the prefix. In an unversioned bucket the id is "null" or "".
type version struct {
	rel    string
	id     string
	latest bool
	marker bool
	size   int64
}

// versions lists every version under rel. Where the credentials may not
// list versions (s3:ListBucketVersions), it falls back to the current
// objects, without version ids.
func (s *Store) versions(ctx context.Context, rel string) ([]version, error) {
	in := &s3.ListObjectVersionsInput{Bucket: &s.cfg.bucket, Prefix: aws.String(s.full(rel))}
	var vs []version
	for {
		s.cnt.lists.Add(1)
		out, err := s.c.ListObjectVersions(ctx, in)
		if err != nil {
			if c := errorCode(err); c == "AccessDenied" || c == "NotImplemented" {
				vs = vs[:0]
				err := s.list(ctx, rel, func(o object) error {
					vs = append(vs, version{rel: o.rel, latest: true, size: o.size})
					return nil
				})
				return vs, err
			}
			return nil, fmt.Errorf("list versions %s: %w", *in.Prefix, err)
		}
		for _, v := range out.Versions {
			if k := aws.ToString(v.Key); strings.HasPrefix(k, s.cfg.prefix) {
				vs = append(vs, version{rel: k[len(s.cfg.prefix):], id: aws.ToString(v.VersionId), latest: aws.ToBool(v.IsLatest), size: aws.ToInt64(v.Size)})
			}
		}
		for _, m := range out.DeleteMarkers {
			if k := aws.ToString(m.Key); strings.HasPrefix(k, s.cfg.prefix) {
				vs = append(vs, version{rel: k[len(s.cfg.prefix):], id: aws.ToString(m.VersionId), latest: aws.ToBool(m.IsLatest), marker: true})
			}
		}
		if !aws.ToBool(out.IsTruncated) {
			return vs, nil
		}
		in.KeyMarker, in.VersionIdMarker = out.NextKeyMarker, out.NextVersionIdMarker
	}
}

// lockOf returns the retention that protects an object version now, or
// nil if none does.
func lockOf(rel string, h *s3.HeadObjectOutput, now time.Time) *RetainedError {
	if h == nil {
		return nil
	}
	e := &RetainedError{Key: rel, Mode: LockMode(h.ObjectLockMode), LegalHold: h.ObjectLockLegalHoldStatus == types.ObjectLockLegalHoldStatusOn}
	if h.ObjectLockRetainUntilDate != nil && h.ObjectLockRetainUntilDate.After(now) {
		e.Until = h.ObjectLockRetainUntilDate.UTC()
		return e
	}
	if e.LegalHold {
		return e
	}
	return nil
}

// deleteVersions deletes object versions, 1000 a request, and returns for
// each version that could not be deleted because a lock protects it the
// lock. Versions already gone count as deleted. Any other failure is an
// error.
func (s *Store) deleteVersions(ctx context.Context, vs []version) (map[version]*RetainedError, error) {
	retained := map[version]*RetainedError{}
	for len(vs) > 0 {
		n := min(len(vs), 1000)
		batch := vs[:n]
		vs = vs[n:]
		ids := make([]types.ObjectIdentifier, len(batch))
		byKey := make(map[[2]string]version, len(batch))
		for i, v := range batch {
			ids[i] = types.ObjectIdentifier{Key: aws.String(s.full(v.rel))}
			if v.id != "" && v.id != "null" {
				ids[i].VersionId = aws.String(v.id)
			}
			byKey[[2]string{s.full(v.rel), aws.ToString(ids[i].VersionId)}] = v
		}
		s.cnt.deletes.Add(1)
		out, err := s.c.DeleteObjects(ctx, &s3.DeleteObjectsInput{
			Bucket: &s.cfg.bucket,
			Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
		})
		if err != nil {
			return retained, fmt.Errorf("delete objects under %s: %w", s.full(""), err)
		}
		for _, e := range out.Errors {
			v, ok := byKey[[2]string{aws.ToString(e.Key), aws.ToString(e.VersionId)}]
			if !ok {
				return retained, fmt.Errorf("delete %s: %s: %s", aws.ToString(e.Key), aws.ToString(e.Code), aws.ToString(e.Message))
			}
			if c := aws.ToString(e.Code); c == "NoSuchKey" || c == "NoSuchVersion" {
				continue
			}
			h, herr := s.head(ctx, v.rel, v.id)
			if errors.Is(herr, store.ErrNotFound) {
				continue
			}
			if l := lockOf(s.full(v.rel), h, time.Now()); l != nil {
				retained[v] = l
				continue
			}
			return retained, fmt.Errorf("delete %s: %s: %s", aws.ToString(e.Key), aws.ToString(e.Code), aws.ToString(e.Message))
		}
	}
	return retained, nil
}

// deleteOne deletes one object version, or returns a *RetainedError if a
// lock protects it.
func (s *Store) deleteOne(ctx context.Context, rel, versionID string) error {
	ret, err := s.deleteVersions(ctx, []version{{rel: rel, id: versionID}})
	if err != nil {
		return err
	}
	for _, l := range ret {
		return l
	}
	return nil
}
