package miniotest

import (
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func TestSharedServer(t *testing.T) {
	srv := Shared(t)
	if !strings.HasPrefix(srv.Endpoint, "http://127.0.0.1:") {
		t.Fatalf("endpoint %s not on loopback", srv.Endpoint)
	}
	if Shared(t) != srv {
		t.Fatal("Shared started a second server")
	}
	plain := srv.Bucket(t, Plain)
	locked := srv.Bucket(t, Locked)
	if plain == locked {
		t.Fatal("bucket names repeat")
	}
	out, err := srv.Client.GetObjectLockConfiguration(t.Context(), &s3.GetObjectLockConfigurationInput{Bucket: &locked})
	if err != nil {
		t.Fatalf("object lock configuration of the locked bucket: %v", err)
	}
	if out.ObjectLockConfiguration.ObjectLockEnabled != types.ObjectLockEnabledEnabled {
		t.Fatalf("object lock not enabled: %+v", out.ObjectLockConfiguration)
	}
	if _, err := srv.Client.GetObjectLockConfiguration(t.Context(), &s3.GetObjectLockConfigurationInput{Bucket: &plain}); err == nil {
		t.Fatal("plain bucket has an object lock configuration")
	}
}

func TestStartStop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a second server")
	}
	srv := Start(t)
	srv.Stop()
	srv.Stop() // idempotent
	if _, err := os.Stat(srv.dir); !os.IsNotExist(err) {
		t.Fatalf("data directory left behind: %v", err)
	}
}
