package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/complyhq/comply/server/auth"
)

// lockedBuffer is a bytes.Buffer safe for a server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var serveAddrRE = regexp.MustCompile(`listening on (https?)://(\S+),`)

// runningServe is 'comply serve' running in-process.
type runningServe struct {
	base   string // http://HOST:PORT
	stderr *lockedBuffer
	stop   context.CancelFunc
	code   chan int
}

// startServe runs comply with args until the test ends or stop is called,
// and waits for its address.
func startServe(t *testing.T, args ...string) *runningServe {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	rs := &runningServe{stderr: &lockedBuffer{}, stop: cancel, code: make(chan int, 1)}
	go func() { rs.code <- run(ctx, args, strings.NewReader(""), io.Discard, rs.stderr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-rs.code:
		case <-time.After(30 * time.Second):
			t.Error("comply serve did not stop")
		}
	})
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := serveAddrRE.FindStringSubmatch(rs.stderr.String()); m != nil {
			rs.base = m[1] + "://" + m[2]
			return rs
		}
		select {
		case code := <-rs.code:
			rs.code <- code
			t.Fatalf("comply serve exited with %d: %s", code, rs.stderr.String())
		default:
		}
	}
	t.Fatalf("comply serve printed no address: %s", rs.stderr.String())
	return nil
}

// exit stops the server and returns its exit code.
func (rs *runningServe) exit(t *testing.T) int {
	t.Helper()
	rs.stop()
	select {
	case code := <-rs.code:
		rs.code <- code
		return code
	case <-time.After(30 * time.Second):
		t.Fatal("comply serve did not stop")
	}
	return -1
}

func request(t *testing.T, c *http.Client, method, url, token, ctype, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeInsecureLoopback(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	rs := startServe(t, "serve", "--store", dir, "--create", "--listen", "127.0.0.1:0", "--insecure-no-auth")
	c := http.DefaultClient
	status, body := request(t, c, "POST", rs.base+"/v1/entries", "", "application/json", `[{"input": "hi", "output": "there", "model": "gpt-4"}]`)
	if status != 200 {
		t.Fatalf("POST /v1/entries: %d %s", status, body)
	}
	var r struct{ IDs []string }
	json.Unmarshal([]byte(body), &r)
	status, body = request(t, c, "GET", rs.base+"/v1/entries/"+r.IDs[0], "", "", "")
	if status != 200 || !strings.Contains(body, `"model": "gpt-4"`) {
		t.Errorf("GET: %d %s", status, body)
	}
	status, body = request(t, c, "GET", rs.base+"/v1/access", "", "", "")
	if status != 200 || !strings.Contains(body, `"token":"insecure-no-auth"`) {
		t.Errorf("GET /v1/access: %d %s", status, body)
	}
	status, body = request(t, c, "GET", rs.base+"/metrics", "", "", "")
	for _, m := range []string{`comply_entries_written_total{source="api"} 1`, "comply_fsync_duration_seconds_count", "go_goroutines", "process_resident_memory_bytes"} {
		if status != 200 || !strings.Contains(body, m) {
			t.Errorf("metrics: %d, no %s", status, m)
		}
	}
	if strings.Contains(body, "comply_fsync_duration_seconds_count 0") {
		t.Error("no fsync observed")
	}
	if code := rs.exit(t); code != 0 {
		t.Errorf("exit %d: %s", code, rs.stderr.String())
	}
	// The store holds the entry, the access store the reads.
	var out bytes.Buffer
	if code := run(t.Context(), []string{"--store", dir, "count"}, nil, &out, io.Discard); code != 0 || strings.TrimSpace(out.String()) != "1" {
		t.Errorf("count: %d %q", code, out.String())
	}
}

func TestServeRefusesToStart(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no tokens", []string{"serve", "--store", dir, "--listen", "127.0.0.1:0"}, exitUsage, "no tokens"},
		{"insecure off loopback", []string{"serve", "--store", dir, "--listen", "0.0.0.0:0", "--insecure-no-auth"}, exitUsage, "loopback"},
		{"unknown config key", []string{"serve", "--store", dir, "--config", writeFile(t, "c.yaml", "listen: x\ncolour: red\n")}, exitError, "line 2: unknown key colour"},
		{"tls half", []string{"serve", "--store", dir, "--tls-cert", "x.pem"}, exitUsage, "tls_cert and tls_key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			code := run(t.Context(), tt.args, nil, io.Discard, &stderr)
			if code != tt.code || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("exit %d %q, want %d and %q", code, stderr.String(), tt.code, tt.want)
			}
		})
	}
}

func writeFile(t *testing.T, name, content string) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestServePrintConfig(t *testing.T) {
	cfg := writeFile(t, "comply.yaml", "listen: 127.0.0.1:9000\nmax_body: 1000\ndurability: interval\nlog_format: json\n")
	t.Setenv("COMPLY_MAX_BODY", "2000")
	t.Setenv("COMPLY_SIGNING_KEY", "PRIVATE+KEY+secret+00000000+AAAA")
	var out, stderr bytes.Buffer
	code := run(t.Context(), []string{"--store", "/srv/logs", "serve", "--config", cfg, "--durability", "none", "--print-config"}, nil, &out, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{
		"listen: 127.0.0.1:9000\n", // the file
		"max_body: 2000\n",         // the variable over the file
		"durability: none\n",       // the flag over the file
		"store: /srv/logs\n",       // the global flag
		"log_format: json\n",
		"signing_key: (set)\n", // never the key
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--print-config lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "secret") {
		t.Errorf("--print-config shows the key:\n%s", out.String())
	}
}

func TestServeTokensAndTLS(t *testing.T) {
	dir := t.TempDir()
	f, err := auth.OpenFile(filepath.Join(dir, ".comply", "tokens.json"))
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, ".comply"), 0o700)
	ingest, err := f.Create("ci", auth.Ingest)
	if err != nil {
		t.Fatal(err)
	}
	reader, err := f.Create("auditor", auth.Read)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, pool := selfSigned(t)
	rs := startServe(t, "serve", "--store", dir, "--listen", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile)
	if !strings.HasPrefix(rs.base, "https://") {
		t.Fatalf("address %s, want https", rs.base)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	item := `[{"input": "q"}]`
	start := time.Now().Add(-time.Second)
	span := fmt.Sprintf(`{"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "app"}}]},
		"scopeSpans": [{"spans": [{"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "chat gpt-4",
		"startTimeUnixNano": "%d", "endTimeUnixNano": "%d", "attributes": [
		{"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
		{"key": "gen_ai.provider.name", "value": {"stringValue": "openai"}},
		{"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4"}}]}]}]}]}`, start.UnixNano(), start.Add(300*time.Millisecond).UnixNano())
	for _, tt := range []struct {
		method, path, token, body string
		status                    int
	}{
		{"POST", "/v1/entries", "", item, 401},
		{"POST", "/v1/entries", reader, item, 403},
		{"POST", "/v1/entries", ingest, item, 200},
		{"POST", "/v1/traces", "", span, 401},
		{"POST", "/v1/traces", reader, span, 403},
		{"POST", "/v1/traces", ingest, span, 200},
		{"GET", "/v1/count", reader, "", 200},
		{"GET", "/v1/count", ingest, "", 403},
	} {
		if status, body := request(t, c, tt.method, rs.base+tt.path, tt.token, "application/json", tt.body); status != tt.status {
			t.Errorf("%s %s: %d %s, want %d", tt.method, tt.path, status, body, tt.status)
		}
	}
	// One entry from the API, one from the GenAI span.
	if status, body := request(t, c, "GET", rs.base+"/v1/entries?model=gpt-4", reader, "", ""); status != 200 || !strings.Contains(body, `"latency_ms": 300.0`) || !strings.Contains(body, `"provider": "openai"`) {
		t.Errorf("the span's entry: %d %s", status, body)
	}
	if status, body := request(t, c, "GET", rs.base+"/v1/count", reader, "", ""); status != 200 || !strings.Contains(body, "2") {
		t.Errorf("count: %d %s", status, body)
	}
	// Revoked while running: refused within about a second.
	if err := f.Revoke("auditor"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	if status, _ := request(t, c, "GET", rs.base+"/v1/count", reader, "", ""); status != 401 {
		t.Errorf("revoked token: %d, want 401", status)
	}
	if code := rs.exit(t); code != 0 {
		t.Errorf("exit %d: %s", code, rs.stderr.String())
	}
}

func TestServeDrainsOnShutdown(t *testing.T) {
	rs := startServe(t, "serve", "--store", filepath.Join(t.TempDir(), "s"), "--create", "--listen", "127.0.0.1:0", "--insecure-no-auth")
	// A request in flight: its body arrives after the signal.
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", rs.base+"/v1/entries", pr)
	req.Header.Set("Content-Type", "application/x-ndjson")
	type answer struct {
		status int
		err    error
	}
	done := make(chan answer, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- answer{err: err}
			return
		}
		resp.Body.Close()
		done <- answer{status: resp.StatusCode}
	}()
	io.WriteString(pw, `{"input": "first half"}`+"\n")
	time.Sleep(100 * time.Millisecond)
	rs.stop()
	time.Sleep(100 * time.Millisecond)
	io.WriteString(pw, `{"input": "second half"}`+"\n")
	pw.Close()
	a := <-done
	if a.err != nil || a.status != 200 {
		t.Errorf("request in flight at shutdown: %d %v, want 200", a.status, a.err)
	}
	if code := rs.exit(t); code != 0 {
		t.Errorf("exit %d", code)
	}
}

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key,
// and returns their files and a pool that trusts it.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "comply test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile = writeFile(t, "cert.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	keyFile = writeFile(t, "key.pem", string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})))
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestServeProofVerifies(t *testing.T) {
	tmp := t.TempDir()
	key := filepath.Join(tmp, "prod")
	if code := run(t.Context(), []string{"keygen", "--signing", "--out", key}, nil, io.Discard, io.Discard); code != 0 {
		t.Fatal("keygen failed")
	}
	rs := startServe(t, "serve", "--store", filepath.Join(tmp, "logs"), "--create", "--listen", "127.0.0.1:0", "--insecure-no-auth", "--signing-key", key+".signer")
	status, body := request(t, http.DefaultClient, "POST", rs.base+"/v1/entries", "", "application/json", `[{"input": "prove me"}]`)
	if status != 200 {
		t.Fatalf("POST: %d %s", status, body)
	}
	var r struct{ IDs []string }
	json.Unmarshal([]byte(body), &r)
	// The next checkpoint (within a second) signs it.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		status, body = request(t, http.DefaultClient, "GET", rs.base+"/v1/entries/"+r.IDs[0]+"/proof", "", "", "")
		if status != http.StatusConflict || time.Now().After(deadline) {
			break
		}
	}
	if status != 200 {
		t.Fatalf("proof: %d %s", status, body)
	}
	proof := writeFile(t, "entry.proof.json", body)
	var out, stderr bytes.Buffer
	if code := run(t.Context(), []string{"verify-proof", "--verifier-key", key + ".verifier", proof}, nil, &out, &stderr); code != 0 {
		t.Errorf("verify-proof: exit %d %s", code, stderr.String())
	}
	if !strings.Contains(out.String(), "valid: entry "+r.IDs[0]) {
		t.Errorf("verify-proof: %s", out.String())
	}
	if status, body := request(t, http.DefaultClient, "POST", rs.base+"/v1/verify", "", "", ""); status != 200 || !strings.Contains(body, `"ok":true`) {
		t.Errorf("verify: %d %s", status, body)
	}
	if code := rs.exit(t); code != 0 {
		t.Errorf("exit %d: %s", code, rs.stderr.String())
	}
}

// cmdHTTP is the script command "http METHOD URL [TYPE [BODY]]": it sends
// a request as curl would (TYPE is the Content-Type of a POST, the Accept
// of a GET), waiting for a server starting in the background, and writes
// the answer's body to stdout; a status other than 200 fails.
func cmdHTTP(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) < 2 || len(args) > 4 {
		ts.Fatalf("usage: http METHOD URL [TYPE [BODY]]")
	}
	var body string
	if len(args) == 4 {
		body = args[3]
	}
	var resp *http.Response
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		req, err := http.NewRequest(args[0], args[1], strings.NewReader(body))
		ts.Check(err)
		if len(args) >= 3 {
			if args[0] == "GET" {
				req.Header.Set("Accept", args[2])
			} else {
				req.Header.Set("Content-Type", args[2])
			}
		}
		resp, err = http.DefaultClient.Do(req)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.ECONNREFUSED) || time.Now().After(deadline) {
			ts.Fatalf("http: %v", err)
		}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	ts.Check(err)
	ts.Stdout().Write(b)
	if (resp.StatusCode == http.StatusOK) == neg {
		ts.Fatalf("http: status %d: %s", resp.StatusCode, b)
	}
}
