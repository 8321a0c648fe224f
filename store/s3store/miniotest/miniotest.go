// Package miniotest runs a real MinIO server for tests: a local binary,
// started on 127.0.0.1 on a free port with a temporary data directory, and
// stopped at the end. Tests of the S3 store run against it, never against
// a mock.
//
// The binary is found in $COMPLY_MINIO_BIN, else in the user cache
// directory (~/.cache/comply-tools/minio), where `make test` (through
// scripts/minio.sh) installs it with
//
//	GOBIN=~/.cache/comply-tools go install github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c
//
// Building MinIO takes minutes, so tests never build it themselves: when
// the binary is missing or the server cannot start they skip, with a
// message saying how to get it, unless CI=true, where they fail.
//
// One server per test binary is the usual arrangement:
//
//	func TestMain(m *testing.M) { os.Exit(miniotest.Main(m)) }
//
//	func TestX(t *testing.T) {
//		srv := miniotest.Shared(t)
//		srv.SetEnv(t)
//		bucket := srv.Bucket(t, miniotest.Locked)
//		...
//	}
package miniotest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// EnvBin names the environment variable that overrides the binary's path.
const EnvBin = "COMPLY_MINIO_BIN"

// Version is the MinIO module version that scripts/minio.sh installs.
const Version = "v0.0.0-20260212201848-7aac2a2c5b7c"

// Region is the region the server and its clients use.
const Region = "us-east-1"

const where = "the minio binary is taken from " + EnvBin + ", then ~/.cache/comply-tools/minio (where the Makefile installs it)"

// A Server is a running MinIO server.
type Server struct {
	Endpoint  string // "http://127.0.0.1:PORT"
	AccessKey string
	SecretKey string

	// Client is an S3 client with the root credentials, for test setup.
	Client *s3.Client

	cmd     *exec.Cmd
	dir     string
	exited  chan struct{}
	log     *logBuffer
	stopped atomic.Bool
}

// Bin returns the path of the MinIO binary, or an error saying how to
// install it.
func Bin() (string, error) {
	if p := os.Getenv(EnvBin); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", EnvBin, p, err)
		}
		return p, nil
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no MinIO binary: %w", err)
	}
	p := filepath.Join(dir, "comply-tools", "minio")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("no MinIO binary at %s", p)
	}
	return p, nil
}

// unavailable skips tb, or fails it under CI=true, where the S3 tests must
// run.
func unavailable(tb testing.TB, err error) {
	tb.Helper()
	msg := fmt.Sprintf("MinIO unavailable: %v; %s", err, where)
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}

// Start starts a server of tb's own, stopped when tb ends. It skips tb if
// MinIO is unavailable (fails it under CI=true).
func Start(tb testing.TB) *Server {
	tb.Helper()
	s, err := start()
	if err != nil {
		unavailable(tb, err)
	}
	tb.Cleanup(s.Stop)
	return s
}

var shared struct {
	once sync.Once
	srv  *Server
	err  error
}

// Shared returns the test binary's one server, starting it on first use.
// Main stops it when the tests are done. It skips tb if MinIO is
// unavailable (fails it under CI=true).
func Shared(tb testing.TB) *Server {
	tb.Helper()
	shared.once.Do(func() { shared.srv, shared.err = start() })
	if shared.err != nil {
		unavailable(tb, shared.err)
	}
	return shared.srv
}

// Main runs the tests and then stops the shared server, if one was
// started. Call it from TestMain: os.Exit(miniotest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if shared.srv != nil {
		shared.srv.Stop()
	}
	return code
}

func start() (*Server, error) {
	bin, err := Bin()
	if err != nil {
		return nil, err
	}
	var last error
	for range 3 { // a free port may be taken between probe and bind
		s, err := launch(bin)
		if err == nil {
			return s, nil
		}
		last = err
		if !errors.Is(err, errExited) {
			break // not starting in time will not get better
		}
	}
	return nil, last
}

var errExited = errors.New("minio exited at startup")

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func launch(bin string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cport, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "comply-minio-")
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 16)
	rand.Read(secret)
	s := &Server{
		Endpoint:  fmt.Sprintf("http://127.0.0.1:%d", port),
		AccessKey: "comply-test",
		SecretKey: hex.EncodeToString(secret),
		dir:       dir,
		exited:    make(chan struct{}),
		log:       &logBuffer{},
	}
	s.cmd = exec.Command(bin, "server", "--quiet",
		"--address", fmt.Sprintf("127.0.0.1:%d", port),
		"--console-address", fmt.Sprintf("127.0.0.1:%d", cport),
		"--certs-dir", filepath.Join(dir, "certs"),
		filepath.Join(dir, "data"))
	s.cmd.Env = append(os.Environ(),
		"MINIO_ROOT_USER="+s.AccessKey,
		"MINIO_ROOT_PASSWORD="+s.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"MINIO_CI_CD=1",
		"HOME="+dir, // MinIO keeps client config under $HOME/.minio
	)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	s.cmd.SysProcAttr = procAttr()
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start minio: %w", err)
	}
	go func() { s.cmd.Wait(); close(s.exited) }()
	s.Client = s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
	})
	if err := s.waitReady(60 * time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	hc := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("%w: %s", errExited, s.log.tail())
		default:
		}
		// The liveness check passes a moment before S3 calls do (they
		// answer XMinioServerNotInitialized): ready is when both work.
		resp, err := hc.Get(s.Endpoint + "/minio/health/live")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && s.answersS3() {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("minio not ready after %v: %s", limit, s.log.tail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// answersS3 reports whether an S3 call (ListBuckets) succeeds.
func (s *Server) answersS3() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := s.Client.ListBuckets(ctx, &s3.ListBucketsInput{})
	return err == nil
}

// Stop stops the server and removes its data. It is safe to call twice.
func (s *Server) Stop() {
	if s.stopped.Swap(true) {
		return
	}
	if s.cmd.Process != nil {
		terminate(s.cmd.Process)
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
			kill(s.cmd.Process)
			<-s.exited
		}
	}
	os.RemoveAll(s.dir)
}

// Env returns the environment that points the standard AWS credential
// chain at the server, for child processes: append it to os.Environ()
// after SetEnv has cleared the variables that would compete with it.
func (s *Server) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + s.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + s.SecretKey,
		"AWS_REGION=" + Region,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// competing are the variables that would take precedence over Env's
// credentials or break them.
var competing = []string{"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"}

// SetEnv sets Env in tb's environment for the rest of the test, and
// unsets the variables that would compete with it (with tb.Setenv, so not
// in parallel tests).
func (s *Server) SetEnv(tb testing.TB) {
	tb.Helper()
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		tb.Setenv(k, v)
	}
	for _, k := range competing {
		tb.Setenv(k, "") // restored at the end of the test
		os.Unsetenv(k)
	}
}

// Bucket options.
const (
	Plain  = false // a plain bucket
	Locked = true  // a bucket with object lock enabled (and so versioning)
)

var bucketSeq atomic.Int64

// Bucket creates a new, empty bucket with a unique name and returns the
// name. With Locked, the bucket has object lock enabled.
func (s *Server) Bucket(tb testing.TB, locked bool) string {
	tb.Helper()
	r := make([]byte, 3)
	rand.Read(r)
	name := fmt.Sprintf("comply-test-%d-%s", bucketSeq.Add(1), hex.EncodeToString(r))
	in := &s3.CreateBucketInput{Bucket: aws.String(name)}
	if locked {
		in.ObjectLockEnabledForBucket = aws.Bool(true)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.Client.CreateBucket(ctx, in); err != nil {
		tb.Fatalf("create bucket %s: %v", name, err)
	}
	return name
}

// URL returns the store URL of bucket and prefix on this server, with the
// extra query parameters given as "key=value" pairs.
func (s *Server) URL(bucket, prefix string, params ...string) string {
	q := append([]string{"endpoint=" + s.Endpoint, "region=" + Region}, params...)
	return "s3://" + bucket + "/" + strings.TrimPrefix(prefix, "/") + "?" + strings.Join(q, "&")
}

// logBuffer keeps the server's output, bounded, for error messages.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 64<<10 {
		b.buf.Next(b.buf.Len() - 32<<10)
	}
	return b.buf.Write(p)
}

func (b *logBuffer) tail() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := strings.TrimSpace(b.buf.String())
	if len(s) > 2000 {
		s = s[len(s)-2000:]
	}
	if s == "" {
		return "(no output)"
	}
	return s
}
