package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/store/s3store/miniotest"
)

// runComply runs the CLI in-process and returns its exit code and output.
func runComply(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// TestVanishedWriter: two writers log to one S3 prefix; verify passes and
// keeps its trusted state in the default directory. Then everything of
// one writer (its segments, ledger and journal) is deleted: verify with the
// same default directory reports the vanished ledger (finding 9, third
// point).
func TestVanishedWriter(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MinIO")
	}
	srv := miniotest.Start(t)
	srv.SetEnv(t)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("COMPLY_STORE", "")
	bucket := srv.Bucket(t, miniotest.Plain)
	const prefix = "shared/"
	skey, vkey, err := ledger.GenerateKey("prod")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	signer, verifier := filepath.Join(dir, "prod.signer"), filepath.Join(dir, "prod.verifier")
	os.WriteFile(signer, []byte(skey), 0o600)
	os.WriteFile(verifier, []byte(vkey), 0o600)

	for _, w := range []string{"app-a", "app-b"} {
		url := srv.URL(bucket, prefix, "writer="+w)
		if code, _, stderr := runComply(t, "--store", url, "log", "--input", "hello "+w, "--model", "gpt-4", "--signing-key", signer); code != 0 {
			t.Fatalf("log as %s: exit %d: %s", w, code, stderr)
		}
	}
	readURL := srv.URL(bucket, prefix)
	if code, stdout, stderr := runComply(t, "--store", readURL, "verify", "--verifier-key", verifier); code != 0 {
		t.Fatalf("verify: exit %d: %s%s", code, stdout, stderr)
	}

	// Delete every object of app-b.
	var del []types.ObjectIdentifier
	p := s3.NewListObjectsV2Paginator(srv.Client, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			if k := *o.Key; strings.Contains(k, "/app-b_") || strings.Contains(k, "/ledger/app-b/") {
				del = append(del, types.ObjectIdentifier{Key: o.Key})
			}
		}
	}
	if len(del) < 3 {
		t.Fatalf("found %d objects of app-b", len(del))
	}
	if _, err := srv.Client.DeleteObjects(t.Context(), &s3.DeleteObjectsInput{Bucket: &bucket, Delete: &types.Delete{Objects: del}}); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ := runComply(t, "--store", readURL, "verify", "--verifier-key", verifier)
	if code != exitTampered || !strings.Contains(stdout, "app-b") || !strings.Contains(stdout, "ledger deleted") {
		t.Fatalf("verify after app-b vanished: exit %d:\n%s", code, stdout)
	}
}
