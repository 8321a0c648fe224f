package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/complyhq/comply/store/s3store/miniotest"
)

// TestS3Lifecycle: the printed rule matches the store's retention and
// layout; --apply sets it beside another prefix's rule, a rerun changes
// nothing, and a retention shorter than the Object Lock's is refused.
func TestS3Lifecycle(t *testing.T) {
	if testing.Short() {
		t.Skip("starts MinIO")
	}
	srv := miniotest.Start(t)
	srv.SetEnv(t)
	t.Setenv("COMPLY_STORE", "")
	t.Setenv("COMPLY_SIGNING_KEY", "")
	plain := srv.Bucket(t, miniotest.Plain)
	locked := srv.Bucket(t, miniotest.Locked)
	other := types.LifecycleRule{ID: aws.String("keep-tmp"), Status: types.ExpirationStatusEnabled,
		Filter: &types.LifecycleRuleFilter{Prefix: aws.String("tmp/")}, Expiration: &types.LifecycleExpiration{Days: aws.Int32(3)}}
	if _, err := srv.Client.PutBucketLifecycleConfiguration(t.Context(), &s3.PutBucketLifecycleConfigurationInput{
		Bucket: &plain, LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{other}}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		url     string
		args    []string
		code    int
		stdout  string // the printed JSON, or a part of the output
		stderr  string
		bucket  string
		nrules  int // after the command, with bucket
		applied bool
	}{
		{"print, plain", srv.URL(plain, "prod/ai-audit"), []string{"--retention-days", "365"}, 0,
			`{"Rules":[{"ID":"comply-retention:prod/ai-audit/segments/","Status":"Enabled","Filter":{"Prefix":"prod/ai-audit/segments/"},"Expiration":{"Days":365},"AbortIncompleteMultipartUpload":{"DaysAfterInitiation":7}}]}`, "", plain, 1, false},
		{"print, seed layout", srv.URL(plain, "py", "layout=seed"), []string{"--retention-days", "30"}, 0,
			`{"Rules":[{"ID":"comply-retention:py/2","Status":"Enabled","Filter":{"Prefix":"py/2"},"Expiration":{"Days":30},"AbortIncompleteMultipartUpload":{"DaysAfterInitiation":7}}]}`, "", plain, 1, false},
		{"print, locked", srv.URL(locked, "p", "object_lock=compliance", "retain_days=30"), []string{"--retention-days", "30"}, 0,
			`{"Rules":[{"ID":"comply-retention:p/segments/","Status":"Enabled","Filter":{"Prefix":"p/segments/"},"Expiration":{"Days":30},"NoncurrentVersionExpiration":{"NoncurrentDays":1},"AbortIncompleteMultipartUpload":{"DaysAfterInitiation":7}}]}`, "", locked, 0, false},
		{"apply", srv.URL(plain, "prod/ai-audit"), []string{"--retention-days", "365", "--apply"}, 0, "prod/ai-audit/segments/ set\n", "", plain, 2, true},
		{"apply again", srv.URL(plain, "prod/ai-audit"), []string{"--retention-days", "365", "--apply"}, 0, "already set; nothing changed", "", plain, 2, true},
		{"apply a new retention", srv.URL(plain, "prod/ai-audit"), []string{"--retention-days", "400", "--apply"}, 0, " set\n", "", plain, 2, true},
		{"shorter than the lock: printed with a warning", srv.URL(locked, "p", "object_lock=compliance", "retain_days=30"), []string{"--retention-days", "7"}, 0,
			`"Days": 7`, "shorter than the store's Object Lock retain_days 30", locked, 0, false},
		{"shorter than the lock: refused", srv.URL(locked, "p", "object_lock=compliance", "retain_days=30"), []string{"--retention-days", "7", "--apply"}, 1,
			"", "refusing --apply", locked, 0, false},
		{"apply, locked", srv.URL(locked, "p", "object_lock=compliance", "retain_days=30"), []string{"--retention-days", "31", "--apply"}, 0, " set\n", "", locked, 1, true},
		{"not s3", "./dir", nil, 2, "", "needs an S3 store", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runComply(t, append([]string{"s3", "lifecycle", "--store", tt.url}, tt.args...)...)
			if code != tt.code || !strings.Contains(stderr, tt.stderr) {
				t.Fatalf("exit %d, want %d; stderr %q, want %q", code, tt.code, stderr, tt.stderr)
			}
			if strings.HasPrefix(tt.stdout, "{") {
				var v lcConfig
				if err := json.Unmarshal([]byte(stdout), &v); err != nil {
					t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
				}
				compact, _ := json.Marshal(v)
				if string(compact) != tt.stdout {
					t.Fatalf("printed\n%s\nwant\n%s", compact, tt.stdout)
				}
			} else if !strings.Contains(stdout, tt.stdout) {
				t.Fatalf("stdout %q, want %q", stdout, tt.stdout)
			}
			if tt.bucket == "" {
				return
			}
			rules := bucketRules(t.Context(), t, srv.Client, tt.bucket)
			if len(rules) != tt.nrules {
				t.Fatalf("bucket %s has %d rules, want %d: %+v", tt.bucket, len(rules), tt.nrules, rules)
			}
			if tt.bucket == plain && !hasRule(rules, "keep-tmp") {
				t.Errorf("the other prefix's rule was not kept")
			}
			if tt.applied && !hasRule(rules, "comply-retention:"+strings.TrimPrefix(strings.SplitN(tt.url, "?", 2)[0][len("s3://"+tt.bucket+"/"):], "/")+"/segments/") {
				t.Errorf("the store's rule is missing: %+v", rules)
			}
		})
	}
}

func bucketRules(ctx context.Context, t *testing.T, c *s3.Client, bucket string) []types.LifecycleRule {
	t.Helper()
	out, err := c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: &bucket})
	if err != nil {
		if isNoLifecycle(err) {
			return nil
		}
		t.Fatal(err)
	}
	return out.Rules
}

func hasRule(rules []types.LifecycleRule, id string) bool {
	for _, r := range rules {
		if aws.ToString(r.ID) == id {
			return true
		}
	}
	return false
}
