package ledger

import (
	"context"
	"errors"
	"time"

	"github.com/complyhq/comply/store"
)

// journalInterval is how often the journal is sealed, and synced in the
// Interval mode, when the store's durability is not Always.
const journalInterval = 100 * time.Millisecond

// Append stores recs through the journal: the intent of the batch (its
// leaves) is appended to the journal before the store writes the lines,
// and once the store has acknowledged them, so is the fact. The store makes
// what was appended to its blobs before an Append durable with that
// Append's records (store.Appender): in the Always mode the journal's
// intent is durable before Append returns, with no sync of its own (the
// file store fsyncs it in the same round as the lines; the S3 store puts
// it with the segment). So an acknowledged entry is never without
// integrity data that a restarted writer can check: after a crash, it
// recovers exactly the lines its journal vouches for. The acknowledgement
// is written (in the Always mode) before Append returns, and made durable
// with the next write.
//
// A store that keeps no append-only blobs (store.Appender) is appended to
// directly; its entries rely on the checkpoints alone.
func (l *Ledger) Append(ctx context.Context, recs ...store.Record) error {
	j := l.j
	if j == nil {
		return l.st.Append(ctx, recs...)
	}
	seq, err := j.intend(ctx, recs)
	if err != nil {
		return err
	}
	err = l.st.Append(ctx, recs...)
	return errors.Join(err, j.acknowledge(ctx, seq, err == nil, j.durable == store.Always))
}

// journalLoop seals the journal every journalInterval: a signed note over
// its chain, which lets a verifier with the public key alone tell the
// lines the journal vouches for.
func (l *Ledger) journalLoop() {
	t := time.NewTicker(journalInterval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		l.j.mu.Lock()
		err := l.j.sealLocked(context.Background())
		l.j.mu.Unlock()
		if err != nil {
			l.opts.ErrorLog.Error("ledger: journal seal failed", "origin", l.origin, "err", err)
		}
	}
}
