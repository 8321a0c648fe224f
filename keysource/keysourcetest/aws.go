package keysourcetest

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// AWS is a local Secrets Manager and KMS endpoint.
type AWS struct {
	URL string

	srv     *httptest.Server
	mu      sync.Mutex
	secrets map[string]string // secret id -> SecretString
	wrapped map[string][]byte // ciphertext blob -> plaintext
	deny    bool              // answer AccessDeniedException
	kmsDown bool              // KMS answers KMSInternalException
	calls   map[string]int    // X-Amz-Target -> count
}

// NewAWS starts a server, closed when t ends.
func NewAWS(t testing.TB) *AWS {
	a := &AWS{secrets: map[string]string{}, wrapped: map[string][]byte{}, calls: map[string]int{}}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	a.URL = a.srv.URL
	t.Cleanup(a.srv.Close)
	return a
}

// Env points the AWS SDK at the server for the rest of t: endpoint
// overrides, static test credentials, one attempt per call, no shared
// config files and no instance metadata.
func (a *AWS) Env(t testing.TB) {
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": a.URL,
		"AWS_ENDPOINT_URL_KMS":             a.URL,
		"AWS_ACCESS_KEY_ID":                "AKIDTEST",
		"AWS_SECRET_ACCESS_KEY":            "test-secret",
		"AWS_SESSION_TOKEN":                "",
		"AWS_REGION":                       "us-east-1",
		"AWS_MAX_ATTEMPTS":                 "1",
		"AWS_EC2_METADATA_DISABLED":        "true",
		"AWS_CONFIG_FILE":                  "/nonexistent/aws-config",
		"AWS_SHARED_CREDENTIALS_FILE":      "/nonexistent/aws-credentials",
		"AWS_PROFILE":                      "",
	} {
		t.Setenv(k, v)
	}
}

// SetSecret sets the SecretString of the secret id (a rotation, if it
// existed).
func (a *AWS) SetSecret(id, value string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.secrets[id] = value
}

// Wrap returns a ciphertext blob, standard base64, that the server's KMS
// Decrypt turns back into plaintext.
func (a *AWS) Wrap(plaintext []byte) string {
	var b [48]byte
	rand.Read(b[:])
	blob := string(b[:])
	a.mu.Lock()
	defer a.mu.Unlock()
	a.wrapped[blob] = append([]byte(nil), plaintext...)
	return encodeStd(b[:])
}

// Deny makes every call fail with AccessDeniedException, or stops that.
func (a *AWS) Deny(on bool) { a.mu.Lock(); a.deny = on; a.mu.Unlock() }

// KMSDown makes KMS calls fail with KMSInternalException (HTTP 500), or
// stops that.
func (a *AWS) KMSDown(on bool) { a.mu.Lock(); a.kmsDown = on; a.mu.Unlock() }

// Calls returns how many calls of the X-Amz-Target target the server got.
func (a *AWS) Calls(target string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.calls[target]
}

func (a *AWS) serve(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-amz-json-1.1") {
		awsFail(w, 400, "SerializationException", "want a JSON 1.1 POST")
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKIDTEST/") {
		awsFail(w, 400, "UnrecognizedClientException", "the request is not signed with SigV4 by the test credentials")
		return
	}
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		awsFail(w, 400, "SerializationException", "bad JSON body")
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls[target]++
	if a.deny {
		awsFail(w, 400, "AccessDeniedException", "User: arn:aws:iam::123456789012:user/test is not authorized to perform: "+target)
		return
	}
	switch target {
	case "secretsmanager.GetSecretValue":
		a.getSecretValue(w, body)
	case "TrentService.Decrypt":
		a.decrypt(w, body)
	default:
		awsFail(w, 400, "UnknownOperationException", "not implemented by keysourcetest")
	}
}

func (a *AWS) getSecretValue(w http.ResponseWriter, body map[string]any) {
	id, _ := body["SecretId"].(string)
	v, ok := a.secrets[id]
	if stage, _ := body["VersionStage"].(string); ok && stage != "" && stage != "AWSCURRENT" {
		ok = false
	}
	if !ok {
		awsFail(w, 400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		return
	}
	awsReply(w, map[string]any{
		"ARN":           "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + id,
		"Name":          id,
		"SecretString":  v,
		"VersionId":     "00000000-0000-0000-0000-000000000001",
		"VersionStages": []string{"AWSCURRENT"},
		"CreatedDate":   1.7e9,
	})
}

func (a *AWS) decrypt(w http.ResponseWriter, body map[string]any) {
	if a.kmsDown {
		awsFail(w, 500, "KMSInternalException", "internal error")
		return
	}
	b64, _ := body["CiphertextBlob"].(string)
	blob, err := decodeStd(b64)
	pt, ok := a.wrapped[string(blob)]
	if err != nil || !ok {
		awsFail(w, 400, "InvalidCiphertextException", "")
		return
	}
	awsReply(w, map[string]any{
		"KeyId":               "arn:aws:kms:us-east-1:123456789012:key/test",
		"Plaintext":           encodeStd(pt),
		"EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
	})
}

func awsReply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(v)
}

func awsFail(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"__type":%q,"message":%q}`, code, msg)
}
