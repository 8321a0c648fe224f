package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/seal"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/filestore"
	"github.com/complyhq/comply/subjectkey"
)

// envSubjectKey names the metadata key whose value is the data subject
// (crypto-shredding): with it set, content is sealed per subject.
const envSubjectKey = "COMPLY_SUBJECT_KEY"

// subjectOptions sets opts.Subjects to a vault over s for the subject key
// (serve's subject_key, else COMPLY_SUBJECT_KEY), when it is set and opts
// has a keyring.
func (c *cli) subjectOptions(s store.Store, opts *comply.Options) error {
	subject := c.subject
	if subject == "" {
		subject = strings.TrimSpace(os.Getenv(envSubjectKey))
	}
	if subject == "" || opts == nil {
		return nil
	}
	kr := opts.Keyring
	if kr == nil && opts.Keys != nil {
		kr = opts.Keys.Keyring()
	}
	if kr == nil {
		if opts.StoreContent {
			// Fail closed: content would be stored under no subject key.
			return withHint(fmt.Errorf("per-subject keys (subject key %s) are on but no encryption keyring was given to wrap the subjects' data keys", subject),
				"set "+seal.EnvKey+" or pass --key-file FILE or --key-source SPEC; a sealing public key alone cannot wrap them")
		}
		return nil
	}
	ds, ok := s.(subjectkey.Store)
	if !ok {
		return errors.New("this store cannot keep per-subject keys")
	}
	v, err := subjectkey.New(ds, subjectkey.Options{Subject: subject, Keyring: kr})
	if err != nil {
		return withHint(err, "set "+envSubjectKey+" to a metadata key such as user_id")
	}
	opts.Subjects = v
	return nil
}

// openLoggerSubjects is openLogger with the subject vault of
// COMPLY_SUBJECT_KEY, so that content sealed per subject decrypts (or says
// it was erased).
func (c *cli) openLoggerSubjects(ctx context.Context, readOnly bool, durability filestore.Durability, opts *comply.Options) (*comply.Logger, error) {
	s, err := openStore(ctx, c.store, readOnly, durability)
	if err != nil {
		return nil, err
	}
	if err := c.subjectOptions(s, opts); err != nil {
		s.Close()
		return nil, err
	}
	l, err := comply.New(s, opts)
	if err != nil {
		s.Close()
		return nil, err
	}
	return l, nil
}

func cmdErase(ctx context.Context, c *cli, args []string) (err error) {
	fs := c.flagSet("erase", "--subject KEY=VALUE --reason TEXT [--legal-hold]", `
Erase a data subject's content by crypto-shredding (GDPR Art. 17): destroy
the subject's data key, so that the content of every entry logged for it
can never be decrypted again, even on an S3 bucket with Object Lock where
no entry can be deleted. The entries, their hashes and the ledger stay:
'comply verify' still passes, and 'comply get --decrypt' prints "content
erased on DATE (reason)". With a signing key the erasure is a signed
ledger record; --legal-hold (implied by an S3 store with Object Lock)
notes that the entries themselves are retained (Art. 17(3)).

Content is sealed per subject when the writer ran with COMPLY_SUBJECT_KEY
set to the metadata key (such as user_id) and --store-content. The
subject logged again later gets a new data key.

  comply erase --subject user_id=u-123 --reason "GDPR request #42"`)
	c.storeFlag(fs)
	signingKey := c.signingKeyFlag(fs)
	keyFile := c.keyFileFlag(fs)
	subject := fs.String("subject", "", "the data subject, as `KEY=VALUE` of the entries' metadata")
	reason := fs.String("reason", "", "why, in the tombstone and the signed record (required)")
	hold := fs.Bool("legal-hold", false, "the entries are under a legal hold or retention lock (noted, Art. 17(3))")
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	key, value, ok := strings.Cut(*subject, "=")
	switch {
	case len(rest) > 0:
		return usagef("erase takes no arguments")
	case !ok || key == "" || value == "":
		return usagef("erase needs --subject KEY=VALUE, such as user_id=u-123")
	case strings.TrimSpace(*reason) == "":
		return usagef("erase needs --reason TEXT")
	}
	kr, err := keyring(*keyFile)
	if err != nil {
		return err
	}
	l, s, err := c.openWriterStore(ctx, 0, &comply.Options{Keyring: kr}, *signingKey)
	if err != nil {
		return err
	}
	defer c.closeLogger(l, &err)
	ds, ok := s.(subjectkey.Store)
	if !ok {
		return errors.New("this store keeps no per-subject keys")
	}
	v, err := subjectkey.New(ds, subjectkey.Options{Subject: key, Keyring: kr})
	if err != nil {
		return err
	}
	legalHold := *hold || isS3(c.store) && strings.Contains(c.store, "object_lock=")
	var record func(*subjectkey.Erasure) error
	if lg := l.Ledger(); lg != nil {
		record = func(e *subjectkey.Erasure) error {
			return lg.RecordErasure(ctx, &ledger.Erasure{Subject: e.Subject, HMAC: e.HMAC, KeyID: e.KeyID, Time: e.Time,
				LegalHold: e.LegalHold, Reason: e.Reason})
		}
	}
	e, err := v.Erase(ctx, value, *reason, legalHold, record)
	if errors.Is(err, subjectkey.ErrNothingToErase) {
		return withHint(fmt.Errorf("no data key for this %s: nothing logged for it under %s, or already erased", key, envSubjectKey),
			"content is sealed per subject only when the writer runs with "+envSubjectKey+"="+key)
	}
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("erased the data key %s of one %s on %s: its content can no longer be decrypted", e.KeyID, key, e.Time.Format("2006-01-02"))
	if l.Ledger() != nil {
		msg += "; signed erasure record written"
	}
	if legalHold {
		msg += "; the entries are kept under a legal hold or retention lock (GDPR Art. 17(3))"
	}
	_, err = fmt.Fprintln(c.stdout, msg)
	return err
}
