package main

import (
	"strings"
	"testing"

	"github.com/complyhq/comply/store/s3store/miniotest"
)

// TestCleanupLockedPrefix: a cleanup on a prefix under S3 Object Lock
// deletes nothing that the lock protects and says what it kept, instead of
// a bare "deleted 0" (finding 9 of the adversarial review, last point).
func TestCleanupLockedPrefix(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MinIO")
	}
	srv := miniotest.Start(t)
	srv.SetEnv(t)
	t.Setenv("COMPLY_STORE", "")
	t.Setenv("COMPLY_SIGNING_KEY", "")
	bucket := srv.Bucket(t, miniotest.Locked)
	url := srv.URL(bucket, "locked/", "object_lock=compliance", "retain_days=1")
	for _, in := range []string{"a", "b"} {
		if code, _, stderr := runComply(t, "--store", url, "log", "--input", in); code != 0 {
			t.Fatalf("log: exit %d: %s", code, stderr)
		}
	}
	code, stdout, stderr := runComply(t, "--store", url, "cleanup", "--retention-days", "0", "--yes")
	if code != 0 {
		t.Fatalf("cleanup: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "deleted 0 expired entries\n") || !strings.Contains(stdout, "kept 2 expired entries that the store still protects") {
		t.Errorf("cleanup said %q", stdout)
	}
	if code, stdout, _ := runComply(t, "--store", url, "count"); code != 0 || strings.TrimSpace(stdout) != "2" {
		t.Errorf("count after cleanup: %d %q", code, stdout)
	}
}
