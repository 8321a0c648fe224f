package s3store

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/complyhq/comply/internal/miniotest"
)

func TestMain(m *testing.M) { os.Exit(miniotest.Main(m)) }

func TestScratch(t *testing.T) {
	srv := miniotest.Shared(t)
	c := srv.Client
	ctx := t.Context()
	lb := srv.Bucket(t, miniotest.Locked)
	pb := srv.Bucket(t, miniotest.Plain)
	until := time.Now().Add(time.Hour)
	out, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: &lb, Key: aws.String("a/x"), Body: strings.NewReader("hello"), IfNoneMatch: aws.String("*"),
		ObjectLockMode: types.ObjectLockModeCompliance, ObjectLockRetainUntilDate: &until, Metadata: map[string]string{"comply-sum": "abc"}})
	fmt.Printf("locked put: %v %v\n", err, out != nil && out.VersionId != nil)
	if out != nil { fmt.Println("version", aws.ToString(out.VersionId), aws.ToString(out.ETag)) }
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: &lb, Key: aws.String("a/x"), Body: strings.NewReader("hello2"), IfNoneMatch: aws.String("*")})
	var ae smithy.APIError
	if errors.As(err, &ae) { fmt.Println("second put:", ae.ErrorCode(), ae.ErrorMessage()) } else {fmt.Println("second put:", err)}
	h, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &lb, Key: aws.String("a/x")})
	fmt.Println("head", err, h.ObjectLockMode, h.ObjectLockRetainUntilDate, h.Metadata, aws.ToString(h.VersionId))
	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &lb, Key: aws.String("a/x"), VersionId: h.VersionId})
	if errors.As(err, &ae) { fmt.Println("delete locked:", ae.ErrorCode(), ae.ErrorMessage()) } else {fmt.Println("delete locked:", err)}
	do, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &lb, Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: aws.String("a/x"), VersionId: h.VersionId}}}})
	fmt.Println("deleteobjects", err)
	if do != nil { for _, e := range do.Errors { fmt.Println(" err", aws.ToString(e.Code), aws.ToString(e.Message)) }; fmt.Println(" deleted", len(do.Deleted)) }
	// governance
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: &lb, Key: aws.String("a/g"), Body: strings.NewReader("hello"),
		ObjectLockMode: types.ObjectLockModeGovernance, ObjectLockRetainUntilDate: &until})
	fmt.Println("gov put", err)
	h, _ = c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &lb, Key: aws.String("a/g")})
	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &lb, Key: aws.String("a/g"), VersionId: h.VersionId})
	if errors.As(err, &ae) { fmt.Println("delete gov:", ae.ErrorCode(), ae.ErrorMessage()) } else {fmt.Println("delete gov:", err)}
	// plain bucket
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: &pb, Key: aws.String("a/x"), Body: strings.NewReader("hello"), IfNoneMatch: aws.String("*")})
	fmt.Println("plain put", err)
	_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: &pb, Key: aws.String("a/x"), Body: strings.NewReader("hello"), ObjectLockMode: types.ObjectLockModeCompliance, ObjectLockRetainUntilDate: &until})
	if errors.As(err, &ae) { fmt.Println("lock on plain:", ae.ErrorCode(), ae.ErrorMessage()) } else {fmt.Println("lock on plain:", err)}
	lv, err := c.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: &pb})
	for _, v := range lv.Versions { fmt.Println("plain version", aws.ToString(v.Key), aws.ToString(v.VersionId)) }
	do, err = c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: &pb, Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: aws.String("a/x"), VersionId: aws.String("null")}}}})
	fmt.Println("plain deleteobjects null", err)
	if do != nil { for _, e := range do.Errors { fmt.Println(" err", aws.ToString(e.Code), aws.ToString(e.Message)) }; fmt.Println(" deleted", len(do.Deleted)) }
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &pb, Key: aws.String("a/x")})
	fmt.Println("get after", err)
	ol, err := c.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: &pb})
	if errors.As(err, &ae) { fmt.Println("lockcfg plain:", ae.ErrorCode()) } else {fmt.Println("lockcfg plain", err, ol)}
	_, err = c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("nonexistent-bucket")})
	fmt.Printf("headbucket missing: %v\n", err)
	_, err = c.GetObject(ctx, &s3.GetObjectInput{Bucket: &pb, Key: aws.String("nope")})
	var nk *types.NoSuchKey
	fmt.Println("get missing:", errors.As(err, &nk), err)
	g, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: &lb, Key: aws.String("a/x"), Range: aws.String("bytes=-3")})
	fmt.Println("range get:", err, aws.ToString(g.ContentRange), g.Metadata)
}
