package s3store

import (
	"bytes"
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/complyhq/comply/store"
)

var _ store.Destroyer = (*Store)(nil)

// WriteDestroyableBlob implements store.Destroyer: the blob is written
// without Object Lock retention, whatever the store's lock parameter, so
// that DestroyBlob can remove every version of it. On a bucket with Object
// Lock it first checks that the bucket has no default retention (which
// would lock the blob anyway) and otherwise fails with an error wrapping
// store.ErrNotDestroyable.
func (s *Store) WriteDestroyableBlob(ctx context.Context, name string, data []byte) error {
	return s.writeDestroyable(ctx, name, data, false)
}

// CreateDestroyableBlob implements store.Destroyer with a conditional PUT
// (If-None-Match: *). A server that does not do conditional writes gets a
// plain PUT, as for segments (doc.go).
func (s *Store) CreateDestroyableBlob(ctx context.Context, name string, data []byte) error {
	return s.writeDestroyable(ctx, name, data, true)
}

// writeDestroyable writes a blob without Object Lock retention; with
// create, only if it does not exist.
func (s *Store) writeDestroyable(ctx context.Context, name string, data []byte, create bool) error {
	if err := s.checkWrite(ctx, name); err != nil {
		return err
	}
	out, err := s.c.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: &s.cfg.bucket})
	if err == nil && out.ObjectLockConfiguration != nil && out.ObjectLockConfiguration.Rule != nil &&
		out.ObjectLockConfiguration.Rule.DefaultRetention != nil {
		return fmt.Errorf("write blob %s: %w: bucket %s has a default Object Lock retention, which would lock the key so that it could never be erased; remove the default retention (comply sets retention per object)",
			name, store.ErrNotDestroyable, s.cfg.bucket)
	}
	for {
		in := &s3.PutObjectInput{
			Bucket:            &s.cfg.bucket,
			Key:               aws.String(s.full(blobDir + name)),
			Body:              bytes.NewReader(data),
			ContentLength:     aws.Int64(int64(len(data))),
			ContentType:       aws.String("application/octet-stream"),
			ChecksumAlgorithm: types.ChecksumAlgorithmCrc32,
		}
		cond := create && !s.noCond.Load()
		if cond {
			in.IfNoneMatch = aws.String("*")
		}
		s.cnt.puts.Add(1)
		_, err = s.c.PutObject(ctx, in)
		switch code := errorCode(err); {
		case err == nil:
		case cond && code == "NotImplemented":
			s.noCond.Store(true)
			continue
		case cond && (code == "PreconditionFailed" || code == "ConditionalRequestConflict"):
			return fmt.Errorf("create blob %s: %w", name, store.ErrBlobExists)
		default:
			return fmt.Errorf("write blob %s: %w", name, err)
		}
		break
	}
	s.cnt.putBytes.Add(int64(len(data)))
	return nil
}

// DestroyBlob implements store.Destroyer: it deletes every version of the
// blob's object (and its delete markers). A version that a lock protects
// makes it fail with an error wrapping store.ErrNotDestroyable.
func (s *Store) DestroyBlob(ctx context.Context, name string) error {
	if err := s.checkWrite(ctx, name); err != nil {
		return err
	}
	rel := blobDir + name
	all, err := s.versions(ctx, rel)
	if err != nil {
		return fmt.Errorf("destroy blob %s: %w", name, err)
	}
	var vs []version
	for _, v := range all {
		if v.rel == rel {
			vs = append(vs, v)
		}
	}
	ret, err := s.deleteVersions(ctx, vs)
	if err != nil {
		return fmt.Errorf("destroy blob %s: %w", name, err)
	}
	for _, l := range ret {
		return fmt.Errorf("destroy blob %s: %w: %w", name, store.ErrNotDestroyable, l)
	}
	return nil
}
