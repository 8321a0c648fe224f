package subjectkey_test

import (
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/complyhq/comply/seal"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/filestore"
	"github.com/complyhq/comply/store/memstore"
	"github.com/complyhq/comply/store/s3store"
	"github.com/complyhq/comply/store/s3store/miniotest"
	"github.com/complyhq/comply/subjectkey"
)

// storeUnderTest makes a store and says, for S3, how many versions of the
// blobs under a prefix the bucket still holds.
type storeUnderTest struct {
	name string
	open func(t *testing.T) (subjectkey.Store, func(prefix string) int)
}

var stores = []storeUnderTest{
	{"memory", func(t *testing.T) (subjectkey.Store, func(string) int) { return memstore.New(0), nil }},
	{"file", func(t *testing.T) (subjectkey.Store, func(string) int) {
		s, err := filestore.Open(t.Context(), t.TempDir(), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s, nil
	}},
	{"s3 object lock", func(t *testing.T) (subjectkey.Store, func(string) int) {
		srv := startMinIO(t)
		bucket := srv.Bucket(t, miniotest.Locked)
		s, err := s3store.Open(t.Context(), srv.URL(bucket, "p", "object_lock=compliance", "retain_days=1"), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		versions := func(prefix string) int {
			out, err := srv.Client.ListObjectVersions(t.Context(), &s3.ListObjectVersionsInput{Bucket: &bucket, Prefix: aws.String("p/_comply/blobs/" + prefix)})
			if err != nil {
				t.Fatal(err)
			}
			return len(out.Versions) + len(out.DeleteMarkers)
		}
		return s, versions
	}},
}

func TestVault(t *testing.T) {
	k, _ := seal.GenerateKey()
	kr, _ := seal.NewNamedKeyring(seal.NamedKey{ID: "v1", Key: k})
	for _, su := range stores {
		t.Run(su.name, func(t *testing.T) {
			st, versions := su.open(t)
			v, err := subjectkey.New(st, subjectkey.Options{Subject: "user_id", Keyring: kr, CacheSize: 1})
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			c1, ver1, err := v.Seal(ctx, "u-123", []byte("alice's question"))
			if err != nil {
				t.Fatal(err)
			}
			c2, ver2, err := v.Seal(ctx, "u-456", []byte("bob's question"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(ver1, subjectkey.VersionPrefix) || ver1 == ver2 {
				t.Fatalf("versions %q and %q", ver1, ver2)
			}
			if _, err := v.Erase(ctx, "u-123", "GDPR Art. 17 request #42", true, nil); err != nil {
				t.Fatal(err)
			}
			var ee *subjectkey.ErasedError
			if _, err := v.Open(ctx, "u-123", ver1, c1); !errors.As(err, &ee) || ee.Reason != "GDPR Art. 17 request #42" {
				t.Fatalf("open erased: %v", err)
			}
			if !strings.HasPrefix(ee.Error(), "content erased on ") {
				t.Errorf("message %q", ee.Error())
			}
			if pt, err := v.Open(ctx, "u-456", ver2, c2); err != nil || string(pt) != "bob's question" {
				t.Fatalf("the other subject: %q, %v", pt, err)
			}
			// A second vault (a new process) sees the same.
			v2, _ := subjectkey.New(st, subjectkey.Options{Subject: "user_id", Keyring: kr})
			if _, err := v2.Open(ctx, "u-123", ver1, c1); !errors.As(err, &ee) {
				t.Fatalf("open erased in a new vault: %v", err)
			}
			if _, err := v.Erase(ctx, "u-123", "again", false, nil); !errors.Is(err, subjectkey.ErrNothingToErase) {
				t.Errorf("second erase: %v", err)
			}
			names, _ := st.ListBlobs(ctx, "subjects/")
			for _, n := range names {
				if strings.Contains(n, "u-123") || strings.Contains(n, "u-456") {
					t.Errorf("blob name %s holds a subject value", n)
				}
			}
			keys, _ := st.ListBlobs(ctx, "subjects/user_id/keys/")
			if len(keys) != 1 {
				t.Errorf("key blobs %v, want the other subject's only", keys)
			}
			if versions != nil {
				h, _ := v.HMAC(ctx, "u-123")
				if n := versions("subjects/user_id/keys/" + h); n != 0 {
					t.Errorf("%d versions of the erased key blob remain", n)
				}
			}
			es, err := subjectkey.Erasures(ctx, st, ee.At.Add(-1), ee.At.Add(1))
			if err != nil || len(es) != 1 || !es[0].LegalHold || es[0].Subject != "user_id" {
				t.Fatalf("Erasures = %+v, %v", es, err)
			}
			// Logged again after the erasure: a new key; the old content
			// stays erased.
			_, ver3, err := v.Seal(ctx, "u-123", []byte("later"))
			if err != nil || ver3 == ver1 {
				t.Fatalf("seal after erasure: %q, %v", ver3, err)
			}
			if _, err := v.Open(ctx, "u-123", ver1, c1); !errors.As(err, &ee) {
				t.Fatalf("old content after a new key: %v", err)
			}
			for _, n := range names {
				b, _ := st.ReadBlob(ctx, n)
				if strings.Contains(string(b), k.Encode()) || strings.Contains(string(b), "question") {
					t.Errorf("blob %s holds key material or content", n)
				}
			}
		})
	}
}

func TestVaultRefuses(t *testing.T) {
	k, _ := seal.GenerateKey()
	kr, _ := seal.NewNamedKeyring(seal.NamedKey{ID: "v1", Key: k})
	tests := []struct {
		name string
		o    subjectkey.Options
	}{
		{"no subject", subjectkey.Options{Keyring: kr}},
		{"bad subject", subjectkey.Options{Subject: "user id", Keyring: kr}},
		{"slash", subjectkey.Options{Subject: "a/b", Keyring: kr}},
		{"no keyring", subjectkey.Options{Subject: "user_id"}},
	}
	for _, tt := range tests {
		if _, err := subjectkey.New(memstore.New(0), tt.o); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
	v, _ := subjectkey.New(memstore.New(0), subjectkey.Options{Subject: "user_id", Keyring: kr})
	if _, _, err := v.Seal(t.Context(), "", []byte("x")); !errors.Is(err, subjectkey.ErrBadSubject) {
		t.Errorf("empty subject value: %v", err)
	}
	v.Seal(t.Context(), "u-1", []byte("x"))
	if _, err := v.Erase(t.Context(), "u-1", "two\nlines", false, nil); err == nil {
		t.Error("a two-line reason accepted")
	}
}

// TestDefaultRetentionRefused: on a bucket whose default Object Lock
// retention would lock a key blob, no subject key is created.
func TestDefaultRetentionRefused(t *testing.T) {
	srv := startMinIO(t)
	bucket := srv.Bucket(t, miniotest.Locked)
	_, err := srv.Client.PutObjectLockConfiguration(t.Context(), &s3.PutObjectLockConfigurationInput{Bucket: &bucket,
		ObjectLockConfiguration: &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled,
			Rule: &types.ObjectLockRule{DefaultRetention: &types.DefaultRetention{Mode: types.ObjectLockRetentionModeGovernance, Days: aws.Int32(1)}}}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := s3store.Open(t.Context(), srv.URL(bucket, "p"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	k, _ := seal.GenerateKey()
	kr, _ := seal.NewNamedKeyring(seal.NamedKey{ID: "v1", Key: k})
	v, _ := subjectkey.New(st, subjectkey.Options{Subject: "user_id", Keyring: kr})
	if _, _, err := v.Seal(t.Context(), "u-1", []byte("x")); !errors.Is(err, store.ErrNotDestroyable) {
		t.Fatalf("Seal on a bucket with a default retention: %v, want ErrNotDestroyable", err)
	}
}

func TestMain(m *testing.M) { os.Exit(miniotest.Main(m)) }

// startMinIO returns the shared MinIO server (miniotest waits until it
// answers S3 calls), with its credentials in the environment.
func startMinIO(t *testing.T) *miniotest.Server {
	srv := miniotest.Shared(t)
	srv.SetEnv(t)
	return srv
}

// TestVaultConcurrentCreate: two writers' vaults over one store seal for a
// new subject at the same moment; they agree on one data key, so every
// content either sealed opens afterwards.
func TestVaultConcurrentCreate(t *testing.T) {
	k, _ := seal.GenerateKey()
	kr, _ := seal.NewNamedKeyring(seal.NamedKey{ID: "v1", Key: k})
	for _, su := range []storeUnderTest{stores[0], stores[2]} { // memory and S3 (a file store has one writer)
		t.Run(su.name, func(t *testing.T) {
			st, _ := su.open(t)
			ctx := t.Context()
			type sealed struct{ stored, ver string }
			const writers = 8
			out := make([]sealed, writers)
			errs := make([]error, writers)
			var wg sync.WaitGroup
			for i := range writers {
				v, err := subjectkey.New(st, subjectkey.Options{Subject: "user_id", Keyring: kr})
				if err != nil {
					t.Fatal(err)
				}
				wg.Go(func() {
					out[i].stored, out[i].ver, errs[i] = v.Seal(ctx, "u-race", []byte("question"))
				})
			}
			wg.Wait()
			reader, err := subjectkey.New(st, subjectkey.Options{Subject: "user_id", Keyring: kr})
			if err != nil {
				t.Fatal(err)
			}
			for i, o := range out {
				if errs[i] != nil {
					t.Fatalf("writer %d: %v", i, errs[i])
				}
				if o.ver != out[0].ver {
					t.Errorf("writer %d sealed under %s, writer 0 under %s", i, o.ver, out[0].ver)
				}
				if pt, err := reader.Open(ctx, "u-race", o.ver, o.stored); err != nil || string(pt) != "question" {
					t.Errorf("writer %d's content: %q, %v", i, pt, err)
				}
			}
		})
	}
}
