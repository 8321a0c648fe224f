package ledger_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/seal"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/s3store"
	"github.com/complyhq/comply/store/s3store/miniotest"
	"github.com/complyhq/comply/store/storetest"
	"github.com/complyhq/comply/subjectkey"
)

// TestRewriteAndEraseOnObjectLock: on MinIO with Object Lock, a rewrap of
// every segment and an erasure both leave Verify passing; the rewrap is
// reported, and every version of the erased key blob is gone.
func TestRewriteAndEraseOnObjectLock(t *testing.T) {
	srv := miniotest.Start(t)
	srv.SetEnv(t)
	bucket := srv.Bucket(t, miniotest.Locked)
	signer, verifier := keys(t, "prod")
	ctx := t.Context()
	st, err := s3store.Open(ctx, srv.URL(bucket, "p", "object_lock=compliance", "retain_days=1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	lg, err := ledger.Open(ctx, st, quiet(&ledger.Options{Signer: signer, Origin: st.WriterID()}))
	if err != nil {
		t.Fatal(err)
	}
	recs := storetest.Records(day1, 20)
	if err := lg.Append(ctx, recs...); err != nil {
		t.Fatal(err)
	}
	segs, err := st.Segments(ctx, store.Query{})
	if err != nil || len(segs) == 0 {
		t.Fatalf("segments: %v, %v", segs, err)
	}
	var n int64
	for _, g := range segs {
		m, err := lg.Rewrite(ctx, g.Name, "key rotation", rewrap("v2"))
		if err != nil {
			t.Fatalf("Rewrite %s: %v", g.Name, err)
		}
		n += m
	}
	if n != 20 {
		t.Fatalf("rewrote %d lines, want 20", n)
	}

	k, _ := seal.GenerateKey()
	kr, _ := seal.NewNamedKeyring(seal.NamedKey{ID: "v1", Key: k})
	v, err := subjectkey.New(st, subjectkey.Options{Subject: "user_id", Keyring: kr})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := v.Seal(ctx, "u-123", []byte("x")); err != nil {
		t.Fatal(err)
	}
	record := func(e *subjectkey.Erasure) error {
		return lg.RecordErasure(ctx, &ledger.Erasure{Subject: e.Subject, HMAC: e.HMAC, KeyID: e.KeyID, Time: e.Time, LegalHold: true, Reason: e.Reason})
	}
	if _, err := v.Erase(ctx, "u-123", "GDPR request 42", true, record); err != nil {
		t.Fatal(err)
	}
	if err := lg.Close(); err != nil {
		t.Fatal(err)
	}
	h, _ := v.HMAC(ctx, "u-123")
	out, err := srv.Client.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: &bucket,
		Prefix: aws.String("p/_comply/blobs/subjects/user_id/keys/" + h)})
	if err != nil || len(out.Versions)+len(out.DeleteMarkers) != 0 {
		t.Fatalf("versions of the erased key: %d, %d, %v", len(out.Versions), len(out.DeleteMarkers), err)
	}
	r, err := ledger.Verify(ctx, st, &ledger.VerifyOptions{Verifiers: []note.Verifier{verifier}})
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || r.Rewrapped != 20 || r.Valid != 20 {
		t.Fatal(describe(r))
	}
	es, err := ledger.Erasures(ctx, st, []note.Verifier{verifier}, recs[0].Time, recs[0].Time.AddDate(10, 0, 0))
	if err != nil || len(es) != 1 || !es[0].LegalHold {
		t.Fatalf("Erasures = %+v, %v", es, err)
	}
}
