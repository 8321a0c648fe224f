package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/store/s3store"
)

const s3Help = `
Manage what S3 itself does with an S3 store's objects.

  lifecycle   prints the bucket lifecycle rules that match the store's
              retention, as JSON in the shape of
              aws s3api put-bucket-lifecycle-configuration; with --apply,
              sets them on the bucket, kept beside the rules of other
              prefixes (a rerun changes nothing).

The rule expires the objects of the store's entries --retention-days after
they were written: PREFIX/segments/ (the segments layout) or the day
folders PREFIX/2... (the seed layout), never PREFIX/_comply/, which holds
the ledger that proves the entries. On a bucket with versioning or Object
Lock, the rule also removes noncurrent versions a day after they become
noncurrent, and every rule aborts multipart uploads left incomplete for 7
days. S3 Object Lock keeps every object retain_days: a retention shorter
than the URL's retain_days is refused with --apply.

Lifecycle expiry is a backstop: 'comply cleanup' (or --cleanup-daily)
deletes expired entries through the ledger, which signs a record of them,
while S3 deletes silently and 'comply verify' then reports the entries as
missing. Give the lifecycle a few days more than the cleanup's retention.

  comply s3 lifecycle --store 's3://audit/prod/ai-audit?region=eu-west-1' --retention-days 372
  comply s3 lifecycle --store 's3://audit/prod/ai-audit?region=eu-west-1' --retention-days 372 --apply`

// abortMultipartDays is when the lifecycle rule aborts an incomplete
// multipart upload.
const abortMultipartDays = 7

func cmdS3(ctx context.Context, c *cli, args []string) error {
	fs := c.flagSet("s3", "lifecycle --store s3://BUCKET/PREFIX [--retention-days N] [--apply]", s3Help)
	c.storeFlag(fs)
	days := fs.Int("retention-days", comply.DefaultRetentionDays, "expire the entries' objects `N` days after they were written")
	apply := fs.Bool("apply", false, "set the rules on the bucket, merged with the rules of other prefixes")
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) == 0 || rest[0] != "lifecycle" {
		return usagef("s3 needs a subcommand: lifecycle")
	}
	if len(rest) > 1 {
		return usagef("unexpected argument %q", rest[1])
	}
	if *days < 1 || *days > comply.MaxRetentionDays {
		return usagef("--retention-days must be between 1 and %d", comply.MaxRetentionDays)
	}
	if !strings.HasPrefix(c.store, "s3://") {
		return usagef("s3 lifecycle needs an S3 store: --store s3://BUCKET/PREFIX?region=...")
	}
	lc, err := openLifecycle(ctx, c.store)
	if err != nil {
		return err
	}
	rules, err := lc.rules(ctx, *days)
	if err != nil {
		return err
	}
	short := lc.retainDays > 0 && *days < lc.retainDays
	if short {
		fmt.Fprintf(c.stderr, "comply: warning: --retention-days %d is shorter than the store's Object Lock retain_days %d: S3 cannot delete a locked object before then\n", *days, lc.retainDays)
	}
	if !*apply {
		b, err := json.MarshalIndent(lifecycleJSON(rules), "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(c.stdout, "%s\n", b)
		return err
	}
	if short {
		return withHint(fmt.Errorf("refusing --apply: the retention (%d days) is shorter than the Object Lock retention (retain_days %d)", *days, lc.retainDays),
			"give --retention-days "+strconv.Itoa(lc.retainDays)+" or more")
	}
	changed, err := lc.apply(ctx, rules)
	if err != nil {
		return err
	}
	what := "set"
	if !changed {
		what = "already set; nothing changed"
	}
	_, err = fmt.Fprintf(c.stdout, "lifecycle of s3://%s: rule %s for prefix %s %s\n", lc.bucket, aws.ToString(rules[0].ID), lc.rulePrefix(), what)
	return err
}

// A lifecycle is what the lifecycle of an S3 store's bucket depends on.
type lifecycle struct {
	client     *s3.Client
	bucket     string
	prefix     string // "" or ending in "/"
	layout     s3store.Layout
	retainDays int // Object Lock retention from the URL, 0 without
}

// openLifecycle parses the store URL and opens the store read-only, which
// checks the whole URL and that the bucket exists.
func openLifecycle(ctx context.Context, spec string) (*lifecycle, error) {
	u, err := url.Parse(spec)
	if err != nil || u.Host == "" {
		return nil, usagef("the store URL does not parse: want s3://BUCKET/PREFIX?region=...")
	}
	q := u.Query()
	lc := &lifecycle{bucket: u.Host, prefix: strings.Trim(u.Path, "/")}
	if lc.prefix != "" {
		lc.prefix += "/"
	}
	if v := q.Get("retain_days"); v != "" {
		lc.retainDays, _ = strconv.Atoi(v) // s3store.Open checks it
	}
	var lo []func(*awsconfig.LoadOptions) error
	region := q.Get("region")
	if region == "" && q.Get("endpoint") != "" {
		region = s3store.DefaultRegion
	}
	if region != "" {
		lo = append(lo, awsconfig.WithRegion(region))
	}
	ac, err := awsconfig.LoadDefaultConfig(ctx, lo...)
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	lc.client = s3.NewFromConfig(ac, func(o *s3.Options) {
		if ep := q.Get("endpoint"); ep != "" {
			o.BaseEndpoint = aws.String(ep)
			o.UsePathStyle = true
		}
	})
	st, err := s3store.Open(ctx, spec, &s3store.Options{ReadOnly: true, Client: lc.client})
	if err != nil {
		return nil, &s3OpenError{err: err}
	}
	lc.layout = st.Layout()
	st.Close()
	return lc, nil
}

// rulePrefix is the key prefix of the store's entries: never the
// integrity data under PREFIX/_comply/.
func (lc *lifecycle) rulePrefix() string {
	if lc.layout == s3store.Seed {
		return lc.prefix + "2" // PREFIX/YYYY-MM-DD/<id>.json, years 2000 to 2999
	}
	return lc.prefix + "segments/"
}

// rules returns the store's lifecycle rule, with the noncurrent-version
// expiry when the bucket keeps versions.
func (lc *lifecycle) rules(ctx context.Context, days int) ([]types.LifecycleRule, error) {
	v, err := lc.client.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: &lc.bucket})
	if err != nil {
		return nil, fmt.Errorf("reading the versioning of bucket %s: %w", lc.bucket, err)
	}
	p := lc.rulePrefix()
	r := types.LifecycleRule{
		ID:                             aws.String("comply-retention:" + p),
		Status:                         types.ExpirationStatusEnabled,
		Filter:                         &types.LifecycleRuleFilter{Prefix: aws.String(p)},
		Expiration:                     &types.LifecycleExpiration{Days: aws.Int32(int32(days))},
		AbortIncompleteMultipartUpload: &types.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.Int32(abortMultipartDays)},
	}
	if v.Status != "" || lc.retainDays > 0 { // Enabled or Suspended: versions exist
		r.NoncurrentVersionExpiration = &types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(1)}
	}
	return []types.LifecycleRule{r}, nil
}

// apply merges rules into the bucket's lifecycle configuration: a rule of
// the same ID or prefix is replaced, the others are kept. It reports
// whether the configuration changed.
func (lc *lifecycle) apply(ctx context.Context, rules []types.LifecycleRule) (bool, error) {
	var have []types.LifecycleRule
	out, err := lc.client.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: &lc.bucket})
	switch {
	case err == nil:
		have = out.Rules
	case !isNoLifecycle(err):
		return false, fmt.Errorf("reading the lifecycle of bucket %s: %w", lc.bucket, err)
	}
	merged := slices.DeleteFunc(slices.Clone(have), func(h types.LifecycleRule) bool {
		return slices.ContainsFunc(rules, func(r types.LifecycleRule) bool {
			return aws.ToString(h.ID) == aws.ToString(r.ID) || rulePrefixOf(h) == rulePrefixOf(r)
		})
	})
	merged = append(merged, rules...)
	if sameRules(have, merged) {
		return false, nil
	}
	_, err = lc.client.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{
		Bucket:                 &lc.bucket,
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: merged},
	})
	if err != nil {
		return false, fmt.Errorf("setting the lifecycle of bucket %s: %w", lc.bucket, err)
	}
	return true, nil
}

// isNoLifecycle reports whether err says the bucket has no lifecycle
// configuration.
func isNoLifecycle(err error) bool {
	var ae interface{ ErrorCode() string }
	return errors.As(err, &ae) && ae.ErrorCode() == "NoSuchLifecycleConfiguration"
}

// rulePrefixOf returns a rule's prefix filter ("" for another filter).
func rulePrefixOf(r types.LifecycleRule) string {
	switch {
	case r.Filter != nil && r.Filter.Prefix != nil:
		return *r.Filter.Prefix
	case r.Prefix != nil: //nolint:staticcheck // the deprecated top-level prefix of older rules
		return *r.Prefix
	}
	return "\x00other"
}

// sameRules reports whether two rule lists say the same, by their JSON,
// but for AbortIncompleteMultipartUpload, which some S3-compatible servers
// (MinIO) accept and drop.
func sameRules(a, b []types.LifecycleRule) bool {
	if len(a) != len(b) {
		return false
	}
	key := func(r types.LifecycleRule) string {
		r.AbortIncompleteMultipartUpload = nil
		j, _ := json.Marshal(lifecycleRuleJSON(r))
		return string(j)
	}
	as, bs := make([]string, len(a)), make([]string, len(b))
	for i := range a {
		as[i], bs[i] = key(a[i]), key(b[i])
	}
	slices.Sort(as)
	slices.Sort(bs)
	return slices.Equal(as, bs)
}

// lifecycleJSON is the configuration in the shape, and key order, that
// aws s3api put-bucket-lifecycle-configuration reads.
func lifecycleJSON(rules []types.LifecycleRule) lcConfig {
	out := lcConfig{Rules: make([]lcRule, len(rules))}
	for i, r := range rules {
		out.Rules[i] = lifecycleRuleJSON(r)
	}
	return out
}

type (
	lcConfig struct {
		Rules []lcRule `json:"Rules"`
	}
	lcRule struct {
		ID                             string    `json:"ID"`
		Status                         string    `json:"Status"`
		Filter                         lcFilter  `json:"Filter"`
		Expiration                     *lcDays   `json:"Expiration,omitempty"`
		NoncurrentVersionExpiration    *lcNonCur `json:"NoncurrentVersionExpiration,omitempty"`
		AbortIncompleteMultipartUpload *lcAbort  `json:"AbortIncompleteMultipartUpload,omitempty"`
	}
	lcFilter struct {
		Prefix string `json:"Prefix"`
	}
	lcDays struct {
		Days int32 `json:"Days"`
	}
	lcNonCur struct {
		NoncurrentDays int32 `json:"NoncurrentDays"`
	}
	lcAbort struct {
		DaysAfterInitiation int32 `json:"DaysAfterInitiation"`
	}
)

func lifecycleRuleJSON(r types.LifecycleRule) lcRule {
	out := lcRule{ID: aws.ToString(r.ID), Status: string(r.Status), Filter: lcFilter{Prefix: rulePrefixOf(r)}}
	if e := r.Expiration; e != nil && e.Days != nil {
		out.Expiration = &lcDays{Days: *e.Days}
	}
	if n := r.NoncurrentVersionExpiration; n != nil && n.NoncurrentDays != nil {
		out.NoncurrentVersionExpiration = &lcNonCur{NoncurrentDays: *n.NoncurrentDays}
	}
	if a := r.AbortIncompleteMultipartUpload; a != nil && a.DaysAfterInitiation != nil {
		out.AbortIncompleteMultipartUpload = &lcAbort{DaysAfterInitiation: *a.DaysAfterInitiation}
	}
	return out
}
