package export

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/complyhq/comply/internal/atomicfile"
)

// A sink is where an export writes: a local folder or an S3 prefix. Names
// are relative to it, with "/". A part file is written to a local
// temporary file first; commit makes it visible under its name whole, or
// not at all.
type sink interface {
	String() string
	readState(ctx context.Context, name string) ([]byte, error) // fs.ErrNotExist when missing
	writeState(ctx context.Context, name string, b []byte) error
	create(rel string) (*os.File, error)
	commit(ctx context.Context, f *os.File, rel string) (int64, error)
	discard(f *os.File)
	list(ctx context.Context) ([]string, error) // the files under dt=*/
	remove(ctx context.Context, rel string) error
}

// dirSink writes to a local folder: temporary file, fsync, rename.
type dirSink struct{ dir string }

func newDirSink(dir string) (*dirSink, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &dirSink{dir}, nil
}

func (d *dirSink) String() string { return d.dir }

func (d *dirSink) readState(_ context.Context, name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(d.dir, filepath.FromSlash(name)))
}

func (d *dirSink) writeState(_ context.Context, name string, b []byte) error {
	path := filepath.Join(d.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.Write(path, b)
}

func (d *dirSink) create(rel string) (*os.File, error) {
	final := filepath.Join(d.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(final), 0o700); err != nil {
		return nil, err
	}
	tmp := filepath.Join(filepath.Dir(final), "."+filepath.Base(final)+".tmp")
	return os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
}

func (d *dirSink) commit(_ context.Context, f *os.File, rel string) (int64, error) {
	final := filepath.Join(d.dir, filepath.FromSlash(rel))
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), final)
	}
	if err == nil {
		err = atomicfile.SyncDir(filepath.Dir(final))
	}
	if err != nil {
		os.Remove(f.Name())
		return 0, err
	}
	fi, err := os.Stat(final)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

func (d *dirSink) discard(f *os.File) {
	f.Close()
	os.Remove(f.Name())
}

func (d *dirSink) list(context.Context) ([]string, error) {
	days, err := filepath.Glob(filepath.Join(d.dir, "dt=*"))
	if err != nil {
		return nil, err
	}
	var rels []string
	for _, dir := range days {
		des, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", filepath.Base(dir), err)
		}
		for _, de := range des {
			rels = append(rels, filepath.Base(dir)+"/"+de.Name())
		}
	}
	return rels, nil
}

func (d *dirSink) remove(_ context.Context, rel string) error {
	return os.Remove(filepath.Join(d.dir, filepath.FromSlash(rel)))
}

// s3Sink writes to an S3 prefix. A part is written to a local temporary
// file, then stored with one PUT, which S3 makes visible whole or not at
// all; the watermark is one object, PUT after every part.
type s3Sink struct {
	c              *s3.Client
	bucket, prefix string // prefix "" or ending in "/"
}

// newS3Sink parses s3://BUCKET[/PREFIX][?region=R&endpoint=URL] and
// builds its client from the standard AWS credential chain, unless c is
// given. Errors never repeat the URL.
func newS3Sink(ctx context.Context, raw string, c *s3.Client) (*s3Sink, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return nil, errors.New("s3 URL: want s3://bucket/prefix[?region=...&endpoint=...]")
	}
	if u.User != nil {
		return nil, errors.New("s3 URL: credentials do not go in the URL: use the AWS environment or profile")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, errors.New("s3 URL: cannot parse the query")
	}
	var region, endpoint string
	for k, vs := range q {
		switch {
		case len(vs) != 1:
			return nil, fmt.Errorf("s3 URL: parameter %s given %d times", k, len(vs))
		case k == "region":
			region = vs[0]
		case k == "endpoint":
			e, err := url.Parse(vs[0])
			if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
				return nil, errors.New("s3 URL: endpoint: want http(s)://host[:port]")
			}
			if e.User != nil {
				return nil, errors.New("s3 URL: endpoint: credentials do not go in the URL")
			}
			endpoint = strings.TrimSuffix(vs[0], "/")
		default:
			return nil, fmt.Errorf("s3 URL: unknown parameter %q (want region or endpoint)", k)
		}
	}
	s := &s3Sink{c: c, bucket: u.Host, prefix: strings.Trim(u.Path, "/")}
	if s.prefix != "" {
		s.prefix += "/"
	}
	if s.c == nil {
		if endpoint != "" && region == "" {
			region = "us-east-1"
		}
		var lo []func(*awsconfig.LoadOptions) error
		if region != "" {
			lo = append(lo, awsconfig.WithRegion(region))
		}
		ac, err := awsconfig.LoadDefaultConfig(ctx, lo...)
		if err != nil {
			return nil, fmt.Errorf("%s: loading AWS configuration: %w", s, err)
		}
		if ac.Region == "" {
			return nil, fmt.Errorf("%s: no region: set AWS_REGION or add ?region= to the URL", s)
		}
		s.c = s3.NewFromConfig(ac, func(o *s3.Options) {
			if endpoint != "" {
				o.BaseEndpoint = aws.String(endpoint)
				o.UsePathStyle = true
			}
		})
	}
	return s, nil
}

func (s *s3Sink) String() string { return "s3://" + s.bucket + "/" + s.prefix }

func (s *s3Sink) key(rel string) *string { return aws.String(s.prefix + rel) }

func (s *s3Sink) readState(ctx context.Context, name string) ([]byte, error) {
	out, err := s.c.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: s.key(name)})
	if err != nil {
		if code := apiCode(err); code == "NoSuchKey" || code == "NotFound" {
			return nil, fs.ErrNotExist
		}
		return nil, fmt.Errorf("get %s: %w", name, err)
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

func (s *s3Sink) writeState(ctx context.Context, name string, b []byte) error {
	_, err := s.c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &s.bucket, Key: s.key(name), Body: strings.NewReader(string(b)),
		ContentLength: aws.Int64(int64(len(b))), ContentType: aws.String("application/json"),
	})
	if err != nil {
		return fmt.Errorf("put %s: %w", name, err)
	}
	return nil
}

func (s *s3Sink) create(string) (*os.File, error) {
	return os.CreateTemp("", "comply-export-*.parquet") // 0600
}

func (s *s3Sink) commit(ctx context.Context, f *os.File, rel string) (int64, error) {
	defer s.discard(f)
	size, err := f.Seek(0, io.SeekEnd)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		return 0, err
	}
	_, err = s.c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &s.bucket, Key: s.key(rel), Body: f,
		ContentLength: aws.Int64(size), ContentType: aws.String("application/vnd.apache.parquet"),
	})
	if err != nil {
		return 0, fmt.Errorf("put %s: %w", rel, err)
	}
	return size, nil
}

func (s *s3Sink) discard(f *os.File) {
	f.Close()
	os.Remove(f.Name())
}

func (s *s3Sink) list(ctx context.Context) ([]string, error) {
	var rels []string
	p := s3.NewListObjectsV2Paginator(s.c, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(s.prefix + "dt=")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list: %w", err)
		}
		for _, o := range page.Contents {
			rel := strings.TrimPrefix(aws.ToString(o.Key), s.prefix)
			if strings.Count(rel, "/") == 1 {
				rels = append(rels, rel)
			}
		}
	}
	return rels, nil
}

func (s *s3Sink) remove(ctx context.Context, rel string) error {
	if _, err := s.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: s.key(rel)}); err != nil {
		return fmt.Errorf("delete %s: %w", rel, err)
	}
	return nil
}

// apiCode returns the S3 error code of err, or "".
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
